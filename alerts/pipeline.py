"""The detection pipeline: stored records in, detectors run, findings handed to the alert service.

Ingest calls `submit` (telemetry batches) and `submit_urgent` (SOS, fall, …) from its own thread;
both only enqueue, so detection never slows the ingest loop. One detection thread owns the
detectors' state and always empties the urgent queue first, so an SOS is never behind a batch of
telemetry. `tick` lets time pass for the silence-based detectors (inactivity, offline).
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from datetime import date, datetime

from alerts.detectors.base import DetectorSet, ResidentProfile
from alerts.findings import Finding, Observation
from ingest.worker import Stored

LOG = logging.getLogger(__name__)

HandleFindings = Callable[[Sequence[Finding]], object]

RELEARN_HOUR = 3  # local time: the night's quiet, after the day's routine is complete


def relearn_due(local_now: datetime, learned_on: date, hour: int = RELEARN_HOUR) -> bool:
    """Say whether baselines learned on ``learned_on`` are due to be learned again (once a night)."""
    return local_now.date() > learned_on and local_now.hour >= hour


class DetectionPipeline:
    """Run detectors on a thread of their own and pass their findings on."""

    def __init__(
        self,
        detectors: DetectorSet,
        handle: HandleFindings,
        clock: Callable[[], datetime],
        tick_s: float = 5.0,
        max_backlog: int = 200_000,
    ) -> None:
        self.detectors = detectors
        self._handle = handle
        self._clock = clock
        self._tick_s = tick_s
        self._urgent: queue.SimpleQueue[Stored] = queue.SimpleQueue()
        self._normal: queue.Queue[Sequence[Stored]] = queue.Queue(maxsize=max(1, max_backlog // 1000))
        self._wake = threading.Event()
        self._lock = threading.Lock()
        self._retry: deque[Finding] = deque(maxlen=100_000)  # findings the alert service could not take yet
        self._retry_at = 0.0
        self.retry_s = 1.0
        self.urgent_check_every = 64  # records of an ordinary batch between looks at the urgent queue
        self.findings = 0

    def register_residents(self, profiles: Sequence[ResidentProfile]) -> None:
        """Make residents known to every detector (from any thread: detector state is only touched under the lock)."""
        with self._lock:
            for profile in profiles:
                self.detectors.register_resident(profile)

    def relearn(self, history: Iterable[Observation]) -> None:
        """Fit baselines anew apart from the live state, then swap them in (detection waits only for the swap)."""
        adopt = self.detectors.fit(history)
        with self._lock:
            adopt()

    def submit_urgent(self, items: Sequence[Stored]) -> None:
        """Queue urgent records ahead of everything else."""
        for item in items:
            self._urgent.put(item)
        self._wake.set()

    def submit(self, items: Sequence[Stored]) -> None:
        """Queue a batch of ordinary records (blocks when detection is far behind: back-pressure)."""
        self._normal.put(items)
        self._wake.set()

    def run(self, stop: threading.Event) -> None:
        """Detect until ``stop`` is set."""
        next_tick = 0.0
        while not stop.is_set():
            self._wake.wait(0.2)
            self._wake.clear()
            self._drain()
            if self._retry and time.monotonic() >= self._retry_at:
                pending = list(self._retry)
                self._retry.clear()
                self._emit(pending)
            now = self._clock()
            if now.timestamp() >= next_tick:
                with self._lock:
                    found = self.detectors.tick(now)
                self._emit(found)
                next_tick = now.timestamp() + self._tick_s

    def _drain(self) -> None:
        """Process every urgent record, then ordinary batches, checking for urgent ones within batches too."""
        while True:
            self._drain_urgent()
            try:
                batch = self._normal.get_nowait()
            except queue.Empty:
                return
            findings: list[Finding] = []
            for i, item in enumerate(batch):
                findings += self._observe(item)
                if i % self.urgent_check_every == self.urgent_check_every - 1 and not self._urgent.empty():
                    self._drain_urgent()  # an SOS waits for a few records, not a whole batch (~0.1 s at 1 000)
            self._emit(findings)

    def _drain_urgent(self) -> None:
        while True:
            try:
                item = self._urgent.get_nowait()
            except queue.Empty:
                return
            self._emit(self._observe(item))

    def _observe(self, item: Stored) -> list[Finding]:
        if item.resident_id is None:
            return []
        with self._lock:
            return self.detectors.observe(Observation(item.resident_id, item.record, item.received_at))

    def _emit(self, findings: list[Finding]) -> None:
        """Hand findings to the alert service; keep them for a retry when it fails (database down)."""
        if not findings:
            return
        try:
            self._handle(findings)
        except Exception:  # the alert service failing must not stop detection; nothing is dropped either
            LOG.exception("the alert service failed on %d findings; retrying in %.0f s", len(findings), self.retry_s)
            self._retry.extend(findings)
            self._retry_at = time.monotonic() + self.retry_s
            return
        self.findings += len(findings)
