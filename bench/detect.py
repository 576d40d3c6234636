"""`make bench-detect`: the detectors' evaluations, each through its `anxin detect` command, as one record.

* ``falls`` — the shipped fall classifier on ``$DATA_DIR/falls`` (real wrist accelerometer trials);
* ``inactivity`` — the inactivity detector on ``$DATA_DIR/homes`` (real smart-home logs, injected long lies);
* ``fleet`` — every detector on the simulated fleet against its ground truth (needs no data).

The parts that need ``DATA_DIR`` are skipped, with a note, where it is unset or lacks their folder.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from bench.capture import run_captured
from bench.common import report


@dataclass(frozen=True, slots=True)
class Part:
    """One evaluation: its `anxin detect` arguments and the data folder it reads, if any."""

    name: str
    args: tuple[str, ...]
    data: str | None = None  # a folder under DATA_DIR, passed as --data


PARTS: Final = (
    Part("falls", ("detect", "falls"), data="falls"),
    Part("inactivity", ("detect", "inactivity"), data="homes"),
    Part("fleet", ("detect", "fleet")),
)


def command(part: Part, data_dir: Path | None, fleet_args: Sequence[str]) -> list[str] | str:
    """Return the part's command line, or the reason it is skipped."""
    args = [sys.executable, "-m", "anxin.cli", *part.args]
    if part.data is None:
        return [*args, *fleet_args]
    if data_dir is None:
        return "DATA_DIR is not set"
    folder = data_dir / part.data
    if not folder.is_dir():
        return f"{folder} is absent"
    return [*args, "--data", str(folder)]


def run_part(part: Part, data_dir: Path | None, fleet_args: Sequence[str]) -> dict[str, Any]:
    """Run one part and return its record, or a note that it was skipped or failed."""
    line = command(part, data_dir, fleet_args)
    if isinstance(line, str):
        print(f"bench-detect: skipping {part.name}: {line}", flush=True)
        return {"skipped": line}
    print(f"bench-detect: {part.name}: {' '.join(line[1:])}", flush=True)
    captured = run_captured(line)
    return {**captured.outcome(), "wall_s": captured.seconds}


def main() -> None:
    """Run every part and print the combined JSON line."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--residents", type=int, default=50)
    parser.add_argument("--days", type=int, default=7, help="evaluation days of the fleet")
    parser.add_argument("--learn-days", type=int, default=14)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    raw = os.environ.get("DATA_DIR")
    data_dir = Path(raw) if raw else None
    fleet_args = [
        "--residents",
        str(args.residents),
        "--days",
        str(args.days),
        "--learn-days",
        str(args.learn_days),
        "--seed",
        str(args.seed),
    ]
    parts = {part.name: run_part(part, data_dir, fleet_args) for part in PARTS}
    report({"bench": "detect", **parts, "data_dir": str(data_dir) if data_dir else None})


if __name__ == "__main__":
    main()
