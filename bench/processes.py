"""Platform commands in child processes, as an operator runs them: start, wait until up, SIGKILL, stop."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path


@dataclass
class Process:
    """One `anxin` command in a child process, its log, and the log line that says it is up."""

    name: str
    argv: list[str]
    env: dict[str, str]
    log: Path
    ready: str
    proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 90.0) -> Process:
        """Start it and wait until its log says it is up (raise with the log's tail when it does not come up)."""
        mark = self.log.stat().st_size if self.log.exists() else 0
        with self.log.open("ab") as out:
            proc = subprocess.Popen(
                [sys.executable, "-m", "anxin.cli", *self.argv], env=self.env, stdout=out, stderr=subprocess.STDOUT
            )
        self.proc = proc
        deadline = time.monotonic() + timeout
        while self.ready not in self.log.read_text()[mark:]:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{self.name} did not come up:\n{self.log.read_text()[-3000:]}")
            time.sleep(0.1)
        return self

    def kill(self) -> None:
        """SIGKILL it: no goodbye to the broker, the database or the leases."""
        if self.proc is not None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(30)

    def stop(self) -> None:
        """Stop it as an operator would (SIGTERM), if it runs."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(40)
            except subprocess.TimeoutExpired:
                self.proc.kill()
