"""The detection pipeline: stored records in, detectors run, findings handed to the alert service.

Records arrive two ways. With a `FeedFollower` (the platform), the pipeline reads what was committed
in its partitions from the detection feed and moves their checkpoints once the findings are stored;
ingest's `submit` only wakes it, and an urgent record ingest hands over in-process (`submit_urgent`)
is acted on at once — the feed's copy of it is then skipped. Without a follower (tests, evaluations)
`submit` queues the records themselves. Either way one detection thread owns the detectors' state and
always empties the urgent queue first, so an SOS is never behind telemetry; `tick` lets time pass for
the silence-based detectors (inactivity, offline).
"""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from datetime import date, datetime

from alerts.detectors.base import DetectorSet, ResidentProfile
from alerts.findings import Finding, Observation
from alerts.follower import FOLLOW_ERRORS, FeedFollower, listen
from gateway.contract import Record
from ingest.worker import Stored

LOG = logging.getLogger(__name__)

HandleFindings = Callable[[Sequence[Finding]], object]

FEED_URGENT_EVERY = 2000  # feed records of an ordinary read between looks at the feed's urgent records
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
        follower: FeedFollower | None = None,
    ) -> None:
        self.detectors = detectors
        self.follower = follower
        self._acted: dict[tuple[str, str, int], float] = {}  # urgent records acted on ahead of the feed's read
        self._feed_down = False
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
                if self.follower is None or self.follower.owns(profile.resident_id):
                    self.detectors.register_resident(profile)

    def follow_now(self) -> None:
        """Take this process's share of the partitions and rebuild its detectors now (at start)."""
        if self.follower is not None:
            fresh = self.follower.renew()
            if fresh is not None:
                self._adopt(*fresh)

    def process_gone(self, name: str) -> None:
        """Take over a dead process's residents now, not when its leases run out (the broker's last will)."""
        if self.follower is not None and name != self.follower.name:
            self.follower.gone(name)
            self._wake.set()

    def wake(self, _items: object = None) -> None:
        """Look at the feed now: ingest committed something (a sink for ingest's ordinary batches)."""
        self._wake.set()

    def relearn(self, history: Iterable[Observation]) -> None:
        """Fit baselines anew apart from the live state, then swap them in (detection waits only for the swap)."""
        if self.follower is not None:
            history = [o for o in history if self.follower.owns(o.resident_id)]
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
        if self.follower is not None:  # the feed brings them once they are committed
            self._wake.set()
            return
        self._normal.put(items)
        self._wake.set()

    def run(self, stop: threading.Event) -> None:
        """Detect until ``stop`` is set."""
        if self.follower is not None:
            url = self.follower.reader.url
            threading.Thread(target=listen, args=(url, self._wake.set, stop), name="feed-listener", daemon=True).start()
        next_tick = 0.0
        while not stop.is_set():
            self._wake.wait(0.2)
            self._wake.clear()
            self._drain()
            if self.follower is not None:
                self._follow(self.follower)
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
        if self.follower is not None:
            if not self.follower.owns(item.resident_id):
                return []  # another process holds this resident; the feed brings it there
            self._mark_acted(_key(item.record))
        with self._lock:
            return self.detectors.observe(Observation(item.resident_id, item.record, item.received_at))

    def _follow(self, follower: FeedFollower) -> None:
        """Renew the share, read what was committed since the checkpoints, act on it, then move them."""
        try:
            fresh = follower.renew()
            if fresh is not None:
                self._adopt(*fresh)
            self._act_on_urgent(follower)
            read = follower.read()
        except FOLLOW_ERRORS as exc:
            if not self._feed_down:  # once an outage, not five times a second
                LOG.warning("the detection feed is out of reach (%s); trying again until it answers", exc)
            self._feed_down = True
            return
        if self._feed_down:
            LOG.info("the detection feed answers again")
            self._feed_down = False
        findings: list[Finding] = []
        for i, obs in enumerate(read.observations):
            if _key(obs.record) not in self._acted:
                with self._lock:
                    findings += self.detectors.observe(obs)
            if i % self.urgent_check_every == self.urgent_check_every - 1:
                self._drain_urgent()
            if i % FEED_URGENT_EVERY == FEED_URGENT_EVERY - 1:
                with contextlib.suppress(*FOLLOW_ERRORS):  # the next round reads them again
                    self._act_on_urgent(follower)  # committed by another process while this batch is read
        self._emit(findings)
        if not self._retry:  # every finding is stored: what was read is acted on
            try:
                follower.done(read.horizon)
            except FOLLOW_ERRORS as exc:
                LOG.warning("could not move the feed checkpoints (%s); the next read repeats this one", exc)
        self._forget_acted()

    def _act_on_urgent(self, follower: FeedFollower) -> None:
        """Act on urgent records in the feed not acted on yet, before the telemetry committed ahead of them."""
        findings: list[Finding] = []
        for obs in follower.urgent():
            key = _key(obs.record)
            if key in self._acted:
                continue
            self._mark_acted(key)  # the ordinary read skips it when it gets there
            with self._lock:
                findings += self.detectors.observe(obs)
        self._emit(findings)

    def _adopt(self, detectors: DetectorSet, warm_up: Sequence[Observation]) -> None:
        """Take detectors rebuilt for a new share, warmed up on what was already acted on (nothing raised)."""
        for obs in warm_up:
            detectors.observe(obs)
        with self._lock:
            self.detectors = detectors

    def _mark_acted(self, key: tuple[str, str, int]) -> None:
        """Mark a record acted on, newest last (so the oldest marks are forgotten from the front)."""
        self._acted.pop(key, None)
        self._acted[key] = time.monotonic()

    def _forget_acted(self, keep_s: float = 3600.0) -> None:
        """Drop the marks of urgent records acted on over an hour ago (a spool replay may take that long)."""
        horizon = time.monotonic() - keep_s
        while self._acted and next(iter(self._acted.values())) < horizon:  # marked in time order: oldest first
            del self._acted[next(iter(self._acted))]

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


def _key(record: Record) -> tuple[str, str, int]:
    """Name a device message the way both the urgent hand-over and the feed can (its sequence number)."""
    return record.device_id, record.channel.value, record.body.seq
