"""The urgent path first, inside one process: bulk threads step aside while an urgent record is in flight.

Python runs one thread of a process at a time (the GIL). A thread busy with telemetry keeps it for up to
`sys.getswitchinterval()` (5 ms) each time the urgent thread wants it back, and the urgent thread wants it
back after every socket read and write: a database statement, a broker packet. Under load an SOS then
waits tens of such turns in each process it crosses. So the urgent path says when it starts and ends
(`Priority.urgent`), and the bulk threads (ingest's telemetry, detection's feed reader) call
`Priority.step_aside` between records: while something urgent is in flight they wait, without the GIL,
until it is done — for at most ``max_pause_s`` at a time, and for at most ``budget`` of each second, so
a flood of urgent records (a fleet-wide alarm, a faulty device) slows the bulk threads down but never
stops them.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager


class Priority:
    """Count urgent work in flight; let bulk threads wait for it to end."""

    def __init__(self, max_pause_s: float = 0.05, budget: float = 0.5) -> None:
        self.max_pause_s = max_pause_s
        self.budget = budget  # the share of each second the bulk threads may spend waiting
        self._lock = threading.Lock()
        self._busy = 0
        self._idle = threading.Event()
        self._idle.set()
        self._window = 0.0  # start of the current second
        self._paused = 0.0  # seconds waited in it (by any bulk thread)
        self.pauses = 0  # bulk threads' waits, and their seconds in all (for the metrics)
        self.paused_s = 0.0

    @contextmanager
    def urgent(self) -> Iterator[None]:
        """Mark urgent work in flight for the length of the block."""
        self.begin()
        try:
            yield
        finally:
            self.end()

    def begin(self) -> None:
        """Mark the start of urgent work (for a start and an end on different threads)."""
        with self._lock:
            self._busy += 1
            self._idle.clear()

    def end(self) -> None:
        """Mark the end of urgent work begun with `begin`."""
        with self._lock:
            self._busy = max(0, self._busy - 1)
            if not self._busy:
                self._idle.set()

    def step_aside(self) -> None:
        """Wait while urgent work is in flight (bounded); return at once otherwise. Called by bulk threads."""
        if self._idle.is_set():
            return
        now = time.monotonic()
        with self._lock:
            if now - self._window >= 1.0:
                self._window, self._paused = now, 0.0
            allowed = min(self.max_pause_s, self.budget - self._paused)
        if allowed <= 0:
            return
        self._idle.wait(allowed)
        waited = time.monotonic() - now
        with self._lock:
            self._paused += waited
            self.pauses += 1
            self.paused_s += waited

    @property
    def in_flight(self) -> int:
        """Urgent work begun and not yet ended (stuck above zero, it would cost bulk throughput)."""
        return self._busy
