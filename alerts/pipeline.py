"""The detection pipeline: stored records in, detectors run, findings handed to the alert service.

Records arrive two ways. With a `FeedFollower` (the platform), the pipeline reads what was committed
in its partitions from the detection feed and moves their checkpoints once the findings are stored;
ingest's `submit` only wakes it, and an urgent record ingest hands over in-process (`submit_urgent`)
is acted on at once — the feed's copy of it is then skipped. Without a follower (tests, evaluations)
`submit` queues the records themselves. Urgent records have a thread of their own, so an SOS is never
behind telemetry, nor behind a read of the feed: the ones handed over in-process, and the ones another
process's ingest committed (its commit says ``NOTIFY detection_feed, 'urgent'``; the thread reads the
feed's urgent rows on a connection of its own). The two threads share the detectors under one lock, a
record at a time, and an urgent record is claimed once (`_claim`) by whichever of them meets it first.
`tick` lets time pass for the silence-based detectors (inactivity, offline).
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
from alerts.feed import FeedReader
from alerts.findings import Finding, Observation
from alerts.follower import FOLLOW_ERRORS, FeedFollower, listen
from gateway.contract import Record
from gateway.priority import Priority
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
        follower: FeedFollower | None = None,
        priority: Priority | None = None,
    ) -> None:
        self.detectors = detectors
        self.priority = priority or Priority()  # urgent work in flight: the detection thread steps aside
        self.follower = follower
        self._acted: dict[tuple[str, str, int], float] = {}  # urgent records acted on ahead of the feed's read
        self._feed_down = False
        self._handle = handle
        self._clock = clock
        self._tick_s = tick_s
        self._urgent: queue.SimpleQueue[Stored | None] = queue.SimpleQueue()  # None: read the feed's urgent rows
        self._feed_urgent = threading.Event()  # a None is queued and not yet taken
        self._normal: queue.Queue[Sequence[Stored]] = queue.Queue(maxsize=max(1, max_backlog // 1000))
        self._wake = threading.Event()
        self._lock = threading.Lock()  # the detectors' state, a record at a time
        self._marks = threading.Lock()  # the acted-on marks and the retry list, shared by the two threads
        self._early_seen: list[Observation] = []  # urgent records of a share taken over, acted on before it was live
        self._retry: deque[Finding] = deque(maxlen=100_000)  # findings the alert service could not take yet
        self._retry_at = 0.0
        self.retry_s = 1.0
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
                self._adopt(self.follower, *fresh)

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
            self.priority.begin()  # ended by the urgent thread once acted on
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
        """Detect until ``stop`` is set (urgent records on a thread of their own meanwhile)."""
        if self.follower is not None:
            self.follower.on_gain = self._wake_urgent
            url = self.follower.reader.url
            args = (url, self._wake.set, stop, self._wake_urgent, self.follower.renew_soon)
            threading.Thread(target=listen, args=args, name="feed-listener", daemon=True).start()
        urgent = threading.Thread(target=self._run_urgent, args=(stop,), name="detection-urgent", daemon=True)
        urgent.start()
        try:
            self._run_ordinary(stop)
        finally:
            urgent.join()

    def _wake_urgent(self) -> None:
        """Have the urgent thread read the feed's urgent rows now (once, however many commits said so)."""
        if not self._feed_urgent.is_set():
            self._feed_urgent.set()
            self.priority.begin()
            self._urgent.put(None)

    def _run_urgent(self, stop: threading.Event) -> None:
        """Act on each urgent record the moment it is handed over, or committed by another process."""
        reader = FeedReader(self.follower.reader.url) if self.follower is not None else None
        try:
            while not stop.is_set():
                try:
                    item = self._urgent.get(timeout=0.2)
                except queue.Empty:
                    continue
                try:
                    if item is not None:
                        self._emit(self._observe(item))
                    elif reader is not None and self.follower is not None:
                        self._feed_urgent.clear()
                        self._act_on_feed_urgent(self.follower, reader)
                finally:
                    self.priority.end()
        finally:
            if reader is not None:
                reader.close()

    def _act_on_feed_urgent(self, follower: FeedFollower, reader: FeedReader) -> None:
        """Act on the feed's urgent rows not acted on yet, with the detectors of the share they were read for."""
        findings: list[Finding] = []
        with follower.share_lock:
            try:
                observations, taken_over = follower.urgent(reader)
            except FOLLOW_ERRORS:
                return  # the detection thread's round reads them too
            for obs in observations:
                if self._claim(_key(obs.record)):
                    with self._lock:
                        findings += self.detectors.observe(obs)
            for obs in taken_over:  # a share being rebuilt: its urgent records wait for no rebuild
                if self._claim(_key(obs.record)):
                    findings += self._observe_early(follower, obs)
        self._emit(findings)

    def _observe_early(self, follower: FeedFollower, obs: Observation) -> list[Finding]:
        """Act on an urgent record of a share being taken over, with the detectors that need no resident; the
        share's own detectors see it too once they are live (`_adopt`), so an "I'm OK" later still finds it."""
        with self._lock:
            early = follower.early
            if early is None:  # the share went live meanwhile
                return self.detectors.observe(obs)
            self._early_seen.append(obs)
            return early.observe(obs)

    def _run_ordinary(self, stop: threading.Event) -> None:
        next_tick = 0.0
        while not stop.is_set():
            woken = self._wake.wait(0.2)
            self._wake.clear()
            if not woken and self.follower is not None:
                self._wake_urgent()  # no commit said anything (the listener may be down): look for urgent rows anyway
            self._drain()
            if self.follower is not None:
                self._follow(self.follower)
            if self._retry and time.monotonic() >= self._retry_at:
                with self._marks:
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
        """Process the queued ordinary batches (without a follower)."""
        while True:
            try:
                batch = self._normal.get_nowait()
            except queue.Empty:
                return
            findings: list[Finding] = []
            for item in batch:
                findings += self._observe(item)
            self._emit(findings)

    def _observe(self, item: Stored) -> list[Finding]:
        if item.resident_id is None:
            return []
        if self.follower is not None:
            if not self.follower.owns(item.resident_id):
                return []  # another process holds this resident; the feed brings it there
            if item.record.urgent and not self._claim(_key(item.record)):
                return []  # the feed's copy was acted on first
        obs = Observation(item.resident_id, item.record, item.received_at)
        if item.record.urgent and self.follower is not None and self.follower.gaining(item.resident_id):
            return self._observe_early(self.follower, obs)
        with self._lock:
            return self.detectors.observe(obs)

    def _follow(self, follower: FeedFollower) -> None:
        """Renew the share, read what was committed since the checkpoints, act on it, then move them."""
        try:
            fresh = follower.renew()  # a new share's detectors are rebuilt while the urgent thread serves the rest
            if fresh is not None:
                self._adopt(follower, *fresh)
            self.priority.step_aside()
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
        for obs in read.observations:
            self.priority.step_aside()
            if not obs.record.urgent or self._claim(_key(obs.record)):  # the urgent thread may have been first
                with self._lock:
                    findings += self.detectors.observe(obs)
        self._emit(findings)
        if not self._retry:  # every finding is stored: what was read is acted on
            try:
                follower.done(read.horizon)
            except FOLLOW_ERRORS as exc:
                LOG.warning("could not move the feed checkpoints (%s); the next read repeats this one", exc)
        self._forget_acted()

    def _adopt(
        self, follower: FeedFollower, detectors: DetectorSet, warm_up: Sequence[Observation], since: dict[int, int]
    ) -> None:
        """Make a new share live: detectors warmed up on what was already acted on (nothing raised), then, in
        one step for the urgent thread, those detectors and the share's checkpoints."""
        for obs in warm_up:
            detectors.observe(obs)
        with follower.share_lock, self._lock:
            for obs in self._early_seen:  # acted on already, by the detectors that stood in
                detectors.observe(obs)
            self._early_seen = []
            self.detectors = detectors
            follower.switch(since)

    def _claim(self, key: tuple[str, str, int]) -> bool:
        """Mark an urgent record acted on; False when it already was (by the other thread, or its other copy)."""
        with self._marks:
            if key in self._acted:
                return False
            self._acted[key] = time.monotonic()  # newest last, so the oldest marks are forgotten from the front
            return True

    def _forget_acted(self, keep_s: float = 3600.0) -> None:
        """Drop the marks of urgent records acted on over an hour ago (a spool replay may take that long)."""
        horizon = time.monotonic() - keep_s
        with self._marks:
            while self._acted and next(iter(self._acted.values())) < horizon:  # in time order: oldest first
                del self._acted[next(iter(self._acted))]

    def _emit(self, findings: list[Finding]) -> None:
        """Hand findings to the alert service; keep them for a retry when it fails (database down)."""
        if not findings:
            return
        try:
            self._handle(findings)
        except Exception:  # the alert service failing must not stop detection; nothing is dropped either
            LOG.exception("the alert service failed on %d findings; retrying in %.0f s", len(findings), self.retry_s)
            with self._marks:
                self._retry.extend(findings)
                self._retry_at = time.monotonic() + self.retry_s
            return
        with self._marks:
            self.findings += len(findings)


def _key(record: Record) -> tuple[str, str, int]:
    """Name a device message the way both the urgent hand-over and the feed can (its sequence number)."""
    return record.device_id, record.channel.value, record.body.seq
