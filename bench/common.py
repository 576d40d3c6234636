"""What every benchmark shares: the machine it ran on, and the JSON last line."""

from __future__ import annotations

import json
import multiprocessing as mp
import os
import platform
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any


def machine() -> dict[str, Any]:
    """Describe the machine so that runs can be compared."""
    return {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(terse=True),
        "load_avg_1m": round(os.getloadavg()[0], 2),
    }


def report(figures: dict[str, Any]) -> None:
    """Print the benchmark's figures as the last line of output (JSON)."""
    print(json.dumps({**figures, "machine": machine()}, ensure_ascii=False), flush=True)


@contextmanager
def scratch(prefix: str) -> Iterator[Path]:
    """Give a folder the unprivileged service accounts can use; remove it afterwards (kept, with the processes'
    logs, when ``ANXIN_BENCH_KEEP`` is set: the run's path is printed)."""
    root = Path(tempfile.mkdtemp(prefix=prefix))
    root.chmod(0o755)
    try:
        yield root
    finally:
        if os.environ.get("ANXIN_BENCH_KEEP"):
            print(f"kept {root}", flush=True)
        else:
            shutil.rmtree(root, ignore_errors=True)


def percentile(values: list[float], q: float) -> float | None:
    """Return the ``q`` quantile of ``values`` (nearest rank), rounded to 0.1; None when there are none."""
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, max(0, round(q * len(ordered)) - 1))], 1)


@contextmanager
def loaders(
    target: Callable[..., None], shares: list[tuple[Any, ...]], *, stop_at_exit: bool = True, join_s: float = 300.0
) -> Iterator[Callable[[], int]]:
    """Run ``target(*share, stop, counter)`` in a spawned process per share (devices stand apart from the
    platform's interpreter); yield a function giving the sum of what the processes counted. On exit the
    stop event is set (unless ``stop_at_exit`` is False: they end on their own) and the processes joined."""
    ctx = mp.get_context("spawn")
    stop = ctx.Event()
    counters = [ctx.Value("q", 0) for _ in shares]
    workers = [
        ctx.Process(target=target, daemon=True, args=(*share, stop, counter))
        for share, counter in zip(shares, counters, strict=True)
    ]
    for worker in workers:
        worker.start()
    try:
        yield lambda: sum(c.value for c in counters)
    finally:
        if stop_at_exit:
            stop.set()
        for worker in workers:
            worker.join(join_s)
