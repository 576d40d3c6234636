"""Run a benchmark as a child process and take the JSON object from its last line of output.

Every benchmark (and every `anxin detect` evaluation) prints its figures as one JSON object on its
last stdout line. The child's output is passed on to stderr line by line as it comes, so a long run
shows its progress while the caller's own stdout keeps only the caller's last line.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Captured:
    """One finished command: its exit status, the record from its last line, how long it took."""

    command: tuple[str, ...]
    returncode: int
    record: dict[str, Any] | None
    seconds: float

    @property
    def ok(self) -> bool:
        """Tell whether the command succeeded and left a record."""
        return self.returncode == 0 and self.record is not None

    def outcome(self) -> dict[str, Any]:
        """Return the record, or a note saying why there is none."""
        if self.ok and self.record is not None:
            return self.record
        why = f"exit status {self.returncode}" if self.returncode else "no JSON object on the last line"
        return {"error": why, "command": " ".join(self.command), **({"partial": self.record} if self.record else {})}


def last_json(output: str) -> dict[str, Any] | None:
    """Return the last non-blank line of ``output`` as a JSON object, or None when it is not one."""
    lines = [line for line in output.splitlines() if line.strip()]
    if not lines:
        return None
    try:
        value = json.loads(lines[-1])
    except json.JSONDecodeError:
        return None
    return value if isinstance(value, dict) else None


def run_captured(
    command: Sequence[str], *, env: Mapping[str, str] | None = None, timeout_s: float | None = None
) -> Captured:
    """Run ``command``, echo its output to stderr, and parse its last line."""
    started = time.monotonic()
    with subprocess.Popen(command, stdout=subprocess.PIPE, text=True, env=env, bufsize=1) as child:
        assert child.stdout is not None
        last = ""
        for line in child.stdout:
            sys.stderr.write(line)
            if line.strip():
                last = line
            if timeout_s is not None and time.monotonic() - started > timeout_s:
                child.kill()
                break
        code = child.wait()
    return Captured(tuple(command), code, last_json(last), round(time.monotonic() - started, 1))
