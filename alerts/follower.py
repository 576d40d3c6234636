"""Follow the detection feed of this process's share of the partitions (the alert path of a scaled-out platform).

Every few seconds the follower renews its leases. When its share changes it rebuilds the detectors for
the residents it now owns (their profiles and learned routines, from the database, through a function
the composition root gives it) and warms them up on what the previous owners already acted on, without
raising anything again; then it reads what was committed after each partition's checkpoint and moves
the checkpoint once the findings are stored. Nothing committed is skipped; what is read twice after a
crash is the last read at most (well under a second), whose findings land on alerts still open.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta

import psycopg

from alerts.detectors.base import DetectorSet
from alerts.feed import FeedRead, FeedReader
from alerts.findings import Observation
from alerts.leases import LeaseChange, PartitionLeases
from ingest.feed import partition_of

LOG = logging.getLogger(__name__)

Rebuild = Callable[[frozenset[int]], DetectorSet]  # detectors for the residents of these partitions
ALIVE, GONE = b"alive", b"gone"  # an alert process's liveness message, and its last will


class FeedFollower:
    """Hold a share of the partitions and bring what was committed in them to detection."""

    def __init__(
        self,
        leases: PartitionLeases,
        reader: FeedReader,
        rebuild: Rebuild,
        clock: Callable[[], datetime],
        *,
        lease_every_s: float = 2.0,
        warm_up: timedelta = timedelta(hours=6),
        blank: Callable[[], DetectorSet] | None = None,
    ) -> None:
        self.leases, self.reader, self._rebuild, self._clock = leases, reader, rebuild, clock
        self.lease_every_s, self.warm_up = lease_every_s, warm_up
        self._blank = blank  # detectors that know no resident yet: the urgent ones need none
        self._since: dict[int, int] = {}
        # Partitions taken over whose detectors are still being rebuilt (their checkpoints), and the detectors
        # that act meanwhile on their urgent records: an SOS there waits for no rebuild (`urgent`).
        self._gaining: dict[int, int] = {}
        self.early: DetectorSet | None = None
        self.on_gain: Callable[[], None] | None = None  # told once a taken-over share's urgent rows can be read
        self._next_lease = 0.0
        self._gone: set[str] = set()  # processes the broker said died (their last will), not yet expired
        self._gone_lock = threading.Lock()
        # Held while the checkpoints and the live detectors are swapped for a new share, and while the urgent
        # thread acts on the feed, so that it never acts on a partition with detectors that do not hold it yet.
        # Not held while a new share's detectors are rebuilt: the partitions kept are served meanwhile.
        self.share_lock = threading.RLock()

    @property
    def name(self) -> str:
        """Return this process's name in the leases."""
        return self.leases.name

    def owns(self, resident_id: str) -> bool:
        """Tell whether this process holds the resident's partition now."""
        return partition_of(resident_id) in self.leases.owned

    def renew_soon(self) -> None:
        """Renew the leases at the next look at the feed (another process gave partitions back)."""
        self._next_lease = 0.0

    def gone(self, name: str) -> None:
        """Note that another process died (from any thread): its leases end at the next renewal, due now."""
        with self._gone_lock:
            self._gone.add(name)
        self._next_lease = 0.0

    def renew(self) -> tuple[DetectorSet, list[Observation], dict[int, int]] | None:
        """Renew the leases when due; on a new share return its fresh detectors, their warm-up and checkpoints.

        The caller makes them live with `switch` (the checkpoints) once the detectors are warm.
        """
        if time.monotonic() < self._next_lease:
            return None
        self._next_lease = time.monotonic() + self.lease_every_s
        with self._gone_lock:
            gone, self._gone = self._gone, set()
        for name in gone:
            if (ended := self.leases.expire(name)) > 0:
                LOG.warning("%s died (its last will): taking over its %d partitions now", name, ended)
        change = self.leases.step()
        if not (change.gained or change.lost):
            return None
        return self._take(change)

    def _take(self, change: LeaseChange) -> tuple[DetectorSet, list[Observation], dict[int, int]]:
        LOG.info(
            "%s holds %d partitions (gained %s, gave up %s); rebuilding its residents' detectors",
            self.name,
            len(change.owned),
            sorted(change.gained),
            sorted(change.lost),
        )
        since = self.leases.checkpoints(change.owned)
        gaining = {part: since[part] for part in change.gained if part in since}
        with self.share_lock:
            self._gaining = gaining
            self.early = self._blank() if gaining and self._blank is not None else None
        if self.early is not None and self.on_gain is not None:
            self.on_gain()  # an SOS committed there before the takeover has no notice of its own to come
        detectors = self._rebuild(change.owned)
        warm = self.reader.before(since, self._clock() - self.warm_up)
        return detectors, warm, since

    def switch(self, since: dict[int, int]) -> None:
        """Read the new share from its checkpoints from now on (with its detectors live: under `share_lock`)."""
        with self.share_lock:
            self._since = since
            self._gaining, self.early = {}, None

    def gaining(self, resident_id: str) -> bool:
        """Tell whether the resident's partition is being taken over (its detectors not live yet)."""
        return self.early is not None and partition_of(resident_id) in self._gaining

    def urgent(self, reader: FeedReader | None = None) -> tuple[list[Observation], list[Observation]]:
        """Read the urgent records committed since their checkpoints, ahead of the rest, in one query: those of
        the live share, and those of partitions being taken over (for `early`, while their detectors are
        rebuilt). ``reader`` is another thread's own connection to the feed (the urgent thread's)."""
        owned = self.leases.owned  # a partition given up is not read again, even before the switch
        with self.share_lock:
            live = {part: mark for part, mark in self._since.items() if part in owned}
            gaining = {part: mark for part, mark in self._gaining.items() if part in owned and self.early is not None}
        found = (reader or self.reader).urgent(live | gaining)
        return (
            [obs for obs in found if partition_of(obs.resident_id) in live],
            [obs for obs in found if partition_of(obs.resident_id) not in live],
        )

    def read(self) -> FeedRead:
        """Read what was committed in the held partitions since their checkpoints."""
        return self.reader.read(self._since)

    def done(self, horizon: int) -> None:
        """Move the checkpoints to ``horizon`` now that what was read below it is acted on."""
        moved = self.leases.advance(frozenset(self._since), horizon)
        with self.share_lock:
            for part in moved:
                self._since[part] = horizon
            for part in frozenset(self._since) - moved - self.leases.owned:
                del self._since[part]  # taken over meanwhile: its new owner goes on from the checkpoint

    def leave(self) -> None:
        """Give the partitions back (a clean stop)."""
        self.leases.leave()
        self.reader.close()


def liveness_topic(name: str, root: str) -> str:
    """Name the topic where an alert process's last will says it died."""
    return f"{root}/alert-processes/{name}"


def listen(
    url: str,
    wake: Callable[[], None],
    stop: threading.Event,
    wake_urgent: Callable[[], None] | None = None,
    leases_freed: Callable[[], None] | None = None,
) -> None:
    """Wake detection whenever ingest commits to the feed (PostgreSQL's NOTIFY, sent at commit) until stopped.

    A commit with an urgent row says so (``NOTIFY detection_feed, 'urgent'``): ``wake_urgent`` too. An alert
    process that gave partitions back says ``'leases'``: ``leases_freed``.
    """
    down = False
    while not stop.is_set():
        try:
            with psycopg.connect(url, autocommit=True, connect_timeout=5) as conn:
                conn.execute("LISTEN detection_feed")
                down = False
                wake()  # anything committed while nobody listened is read now
                if wake_urgent is not None:
                    wake_urgent()
                while not stop.is_set():
                    for note in conn.notifies(timeout=0.5):
                        if note.payload == "urgent" and wake_urgent is not None:
                            wake_urgent()
                        elif note.payload == "leases" and leases_freed is not None:
                            leases_freed()
                        wake()
        except psycopg.Error as exc:
            if not down:  # once an outage
                LOG.warning("cannot listen for the detection feed (%s); reading it every 0.2 s meanwhile", exc)
            down = True
            stop.wait(1.0)


FOLLOW_ERRORS: tuple[type[Exception], ...] = (psycopg.Error,)  # while the database is away: retried, never fatal
