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
    ) -> None:
        self.leases, self.reader, self._rebuild, self._clock = leases, reader, rebuild, clock
        self.lease_every_s, self.warm_up = lease_every_s, warm_up
        self._since: dict[int, int] = {}
        self._next_lease = 0.0
        self._gone: set[str] = set()  # processes the broker said died (their last will), not yet expired
        self._gone_lock = threading.Lock()

    @property
    def name(self) -> str:
        """Return this process's name in the leases."""
        return self.leases.name

    def owns(self, resident_id: str) -> bool:
        """Tell whether this process holds the resident's partition now."""
        return partition_of(resident_id) in self.leases.owned

    def gone(self, name: str) -> None:
        """Note that another process died (from any thread): its leases end at the next renewal, due now."""
        with self._gone_lock:
            self._gone.add(name)
        self._next_lease = 0.0

    def renew(self) -> tuple[DetectorSet, list[Observation]] | None:
        """Renew the leases when due; on a new share return fresh detectors and their warm-up observations."""
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

    def _take(self, change: LeaseChange) -> tuple[DetectorSet, list[Observation]]:
        LOG.info(
            "%s holds %d partitions (gained %s, gave up %s); rebuilding its residents' detectors",
            self.name,
            len(change.owned),
            sorted(change.gained),
            sorted(change.lost),
        )
        self._since = self.leases.checkpoints(change.owned)
        detectors = self._rebuild(change.owned)
        warm = self.reader.before(self._since, self._clock() - self.warm_up)
        return detectors, warm

    def urgent(self) -> list[Observation]:
        """Read the urgent records committed in the held partitions since their checkpoints (ahead of the rest)."""
        return self.reader.urgent(self._since)

    def read(self) -> FeedRead:
        """Read what was committed in the held partitions since their checkpoints."""
        return self.reader.read(self._since)

    def done(self, horizon: int) -> None:
        """Move the checkpoints to ``horizon`` now that what was read below it is acted on."""
        moved = self.leases.advance(frozenset(self._since), horizon)
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


def listen(url: str, wake: Callable[[], None], stop: threading.Event) -> None:
    """Wake detection whenever ingest commits to the feed (PostgreSQL's NOTIFY, sent at commit) until stopped."""
    down = False
    while not stop.is_set():
        try:
            with psycopg.connect(url, autocommit=True, connect_timeout=5) as conn:
                conn.execute("LISTEN detection_feed")
                down = False
                wake()  # anything committed while nobody listened is read now
                while not stop.is_set():
                    for _ in conn.notifies(timeout=0.5):
                        wake()
        except psycopg.Error as exc:
            if not down:  # once an outage
                LOG.warning("cannot listen for the detection feed (%s); reading it every 0.2 s meanwhile", exc)
            down = True
            stop.wait(1.0)


FOLLOW_ERRORS: tuple[type[Exception], ...] = (psycopg.Error,)  # while the database is away: retried, never fatal
