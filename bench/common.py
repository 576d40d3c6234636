"""What every benchmark shares: the machine it ran on, and the JSON last line."""

from __future__ import annotations

import json
import os
import platform
import shutil
import tempfile
from collections.abc import Iterator
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
    """Give a folder the unprivileged service accounts can use; remove it afterwards."""
    root = Path(tempfile.mkdtemp(prefix=prefix))
    root.chmod(0o755)
    try:
        yield root
    finally:
        shutil.rmtree(root, ignore_errors=True)
