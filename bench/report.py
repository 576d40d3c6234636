"""`make bench`: run every benchmark and write one report, so that runs can be compared over time.

Each benchmark in `BENCHMARKS` runs as its own process (a module that is not there yet is skipped with
a note); the JSON object on its last line is its record. The report — every record, the machine, the
database mode, a UTC timestamp — goes to ``bench/results/latest.json``, a readable ``latest.md`` with
one table per benchmark, and a dated copy ``YYYY-MM-DDTHHMM.json`` that later runs do not overwrite.

`build_report`, `render_markdown` and `write_report` do no I/O of their own beyond the writing; `main`
is the shell that runs the benchmarks and reads the clock.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib.util import find_spec
from pathlib import Path
from typing import Any, Final

from bench.capture import last_json, run_captured
from bench.common import machine

RESULTS: Final = Path(__file__).resolve().parent / "results"


@dataclass(frozen=True, slots=True)
class Benchmark:
    """One benchmark: its name in the report and the module that runs it."""

    name: str
    module: str


BENCHMARKS: Final = (
    Benchmark("ingest", "bench.ingest"),
    Benchmark("detect", "bench.detect"),
    Benchmark("latency", "bench.latency"),
)


def run_benchmark(bench: Benchmark) -> dict[str, Any]:
    """Run one benchmark module and return its record, or a note that it was skipped or failed."""
    if find_spec(bench.module) is None:
        print(f"bench: skipping {bench.name}: module {bench.module} does not exist yet", flush=True)
        return {"skipped": f"module {bench.module} does not exist yet"}
    print(f"bench: running {bench.name} ({bench.module})", flush=True)
    captured = run_captured([sys.executable, "-m", bench.module], env=dict(os.environ))
    return {**captured.outcome(), "wall_s": captured.seconds}


def records_from_outputs(outputs: Mapping[str, str]) -> dict[str, dict[str, Any]]:
    """Turn each benchmark's captured output into its record (the JSON object on its last line)."""
    return {name: last_json(text) or {"error": "no JSON object on the last line"} for name, text in outputs.items()}


def build_report(records: Mapping[str, Mapping[str, Any]], host: Mapping[str, Any], at: datetime) -> dict[str, Any]:
    """Gather the benchmarks' records, the machine, the database mode and the time into one report."""
    benchmarks = {name: {k: v for k, v in record.items() if k != "machine"} for name, record in records.items()}
    return {
        "timestamp": at.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
        "machine": dict(host),
        "db_mode": db_mode(records),
        "benchmarks": benchmarks,
    }


def db_mode(records: Mapping[str, Mapping[str, Any]]) -> str | None:
    """Return the database mode the benchmarks report (plain PostgreSQL or TimescaleDB), if any does."""
    return next((str(r["db_mode"]) for r in records.values() if r.get("db_mode")), None)


def write_report(report: Mapping[str, Any], folder: Path, at: datetime) -> list[Path]:
    """Write ``latest.json``, ``latest.md`` and the dated copy under ``folder``; return their paths."""
    folder.mkdir(parents=True, exist_ok=True)
    text = json.dumps(report, ensure_ascii=False, indent=2) + "\n"
    paths = [folder / "latest.json", folder / "latest.md", folder / f"{at.astimezone(UTC):%Y-%m-%dT%H%M}.json"]
    paths[0].write_text(text, encoding="utf-8")
    paths[1].write_text(render_markdown(report), encoding="utf-8")
    paths[2].write_text(text, encoding="utf-8")
    return paths


def render_markdown(report: Mapping[str, Any]) -> str:
    """Render the report as Markdown: the run's facts, then one table per benchmark."""
    host = report.get("machine", {})
    lines = [
        f"# Benchmarks — {report.get('timestamp')}",
        "",
        f"Machine: {', '.join(f'{k} {v}' for k, v in host.items())}. Database mode: {report.get('db_mode') or '—'}.",
        "",
    ]
    for name, record in report.get("benchmarks", {}).items():
        lines += _section(name, record, level=2)
    return "\n".join(lines)


def _section(name: str, record: Mapping[str, Any], level: int) -> list[str]:
    """Render one record: a figure/value table of its scalars, then its tables and nested records."""
    lines = [f"{'#' * level} {name}", ""]
    scalars = {k: v for k, v in record.items() if not isinstance(v, Mapping)}
    if scalars:
        lines += _table(["figure", "value"], [[k, _cell(v)] for k, v in scalars.items()])
    for key, value in record.items():
        if not isinstance(value, Mapping) or key == "machine":
            continue
        if _is_table(value):
            lines += [f"**{name} · {key}**", "", *_rows_table(value)]
        else:
            lines += _section(f"{name} · {key}", value, level + 1)
    return lines


def _is_table(value: Mapping[str, Any]) -> bool:
    """Tell whether a mapping is rows of figures (``per_kind``), best shown as one table."""
    rows = list(value.values())
    return bool(rows) and all(isinstance(r, Mapping) and not any(_deep(v) for v in r.values()) for r in rows)


def _deep(value: object) -> bool:
    """Tell whether a value holds mappings inside a mapping (too deep for one table cell)."""
    return isinstance(value, Mapping) and any(isinstance(v, Mapping) for v in value.values())


def _rows_table(rows: Mapping[str, Mapping[str, Any]]) -> list[str]:
    columns = list(dict.fromkeys(k for row in rows.values() for k in row))
    return _table(["", *columns], [[name, *(_cell(row.get(c)) for c in columns)] for name, row in rows.items()])


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    return [_line(header), _line(["---"] * len(header)), *(_line(r) for r in rows), ""]


def _line(cells: list[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def _cell(value: object) -> str:
    """Render one value for a table cell."""
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:,.3f}".rstrip("0").rstrip(".") if abs(value) < 1000 else f"{value:,.0f}"
    if isinstance(value, Mapping | list | tuple):
        text = json.dumps(value, ensure_ascii=False, separators=(", ", ": "))
    else:
        text = str(value)
    return text.replace("|", "\\|").replace("\n", " ")


def _results() -> Iterator[tuple[str, dict[str, Any]]]:
    for bench in BENCHMARKS:
        yield bench.name, run_benchmark(bench)


def main() -> None:
    """Run every benchmark, write the report, and print where it went."""
    records = dict(_results())
    at = datetime.now(UTC)
    paths = write_report(build_report(records, machine(), at), RESULTS, at)
    for path in paths:
        print(f"bench: wrote {path}", flush=True)
    print(json.dumps({"bench": "report", "written": [str(p) for p in paths]}, ensure_ascii=False))


if __name__ == "__main__":
    main()
