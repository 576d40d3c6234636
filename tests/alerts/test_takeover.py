"""A share of the residents taken over: its urgent records are acted on while its detectors are still rebuilt.

A real PostgreSQL feed and leases; the rebuild is held back until the test lets it go, as a big share's
history takes seconds to load. An SOS committed meanwhile is raised at once by detectors that need no
resident, once; after the share goes live its own detectors know of it, so the "I'm OK" pressed then
still cancels it.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

from alerts.detectors import DetectorSet, SosDetector
from alerts.feed import FeedReader
from alerts.findings import Finding
from alerts.follower import FeedFollower
from alerts.leases import PartitionLeases
from alerts.pipeline import DetectionPipeline
from gateway.contract import Channel, OkEvent, SosEvent, decode, encode, topic
from gateway.registry import Attribution
from ingest.rows import Batch
from ingest.writer import BatchWriter
from tests.ingest.harness import register_fleet

AT = datetime.now(UTC).replace(microsecond=0)


def _commit(db_url: str, body: SosEvent | OkEvent) -> None:
    """Store a bracelet's urgent event as ingest does (its feed row, and the 'urgent' notice at commit)."""
    batch = Batch()
    batch.add(decode(topic("r0-bracelet", Channel.EVENT), encode(body), datetime.now(UTC)), Attribution("r0", None), AT)
    writer = BatchWriter(db_url)
    writer.write(batch)
    writer.close()


def _wait(what: str, predicate: object, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():  # type: ignore[operator]
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


class _Rebuilding:
    """An alert process whose share's rebuild is held until ``release`` (a big share's history takes seconds
    to load); detectors that need no resident stand in meanwhile, and its findings are kept in ``found``."""

    def __init__(self, db_url: str, name: str) -> None:
        self.rebuilding, self.release = threading.Event(), threading.Event()
        self.found: list[Finding] = []
        self.follower = FeedFollower(
            PartitionLeases(db_url, name),
            FeedReader(db_url),
            self._rebuild,
            lambda: datetime.now(UTC),
            blank=lambda: DetectorSet([SosDetector()]),
        )
        self.pipeline = DetectionPipeline(
            DetectorSet([]), self.found.extend, lambda: datetime.now(UTC), follower=self.follower
        )
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self.pipeline.run, args=(self._stop,), daemon=True)

    def _rebuild(self, owned: frozenset[int]) -> DetectorSet:
        if owned:
            self.rebuilding.set()
            self.release.wait(30)
        return DetectorSet([SosDetector()])

    def __enter__(self) -> _Rebuilding:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.release.set()
        self._stop.set()
        self._thread.join(10)
        self.follower.leave()


def test_an_sos_in_a_share_being_rebuilt_is_raised_before_the_rebuild_ends(db_url: str) -> None:
    register_fleet(db_url, n_residents=1)
    with _Rebuilding(db_url, "alerts-t") as process:
        assert process.rebuilding.wait(10), "the share was never taken"
        _commit(db_url, SosEvent(kind="sos", seq=1, ts=AT))
        _wait("the SOS, while the rebuild is held", lambda: any(f.kind == "sos" for f in process.found))
        assert not process.release.is_set()
        process.release.set()
        _wait("the share to go live", lambda: process.follower.early is None)
        _commit(db_url, OkEvent(kind="ok", seq=2, ts=AT + timedelta(seconds=20)))
        _wait("the resident's cancel", lambda: any(f.cancels for f in process.found))
        time.sleep(0.5)  # the feed's own read of the SOS comes after the switch: it must not raise it again
    assert [f.kind for f in process.found if not f.cancels] == ["sos"]
    assert [f.kind for f in process.found if f.cancels] == ["sos"]


def test_partitions_given_back_are_claimed_at_once_not_at_the_next_renewal(db_url: str) -> None:
    def follower(name: str) -> FeedFollower:
        return FeedFollower(
            PartitionLeases(db_url, name),
            FeedReader(db_url),
            lambda _owned: DetectorSet([SosDetector()]),
            lambda: datetime.now(UTC),
            lease_every_s=60.0,  # no renewal by the clock during this test
        )

    holder, joiner = follower("alerts-a"), follower("alerts-b")
    holder.renew()
    assert len(holder.leases.owned) == 64
    pipeline = DetectionPipeline(DetectorSet([]), lambda _f: None, lambda: datetime.now(UTC), follower=joiner)
    stop = threading.Event()
    thread = threading.Thread(target=pipeline.run, args=(stop,), daemon=True)
    thread.start()
    try:
        _wait("the joiner to be alive and find every partition held", lambda: joiner.leases.owned == frozenset())
        time.sleep(0.5)  # its listener is up
        holder.renew_soon()
        holder.renew()  # two alive now: the holder gives half back, and says so
        assert len(holder.leases.owned) == 32
        _wait("the joiner to claim them", lambda: len(joiner.leases.owned) == 32, timeout=5.0)
    finally:
        stop.set()
        thread.join(10)
        joiner.leave()
        holder.leave()


def test_an_sos_committed_before_its_owner_died_is_raised_while_the_survivor_rebuilds(db_url: str) -> None:
    register_fleet(db_url, n_residents=1)
    dead = FeedFollower(
        PartitionLeases(db_url, "alerts-dead"), FeedReader(db_url), lambda _o: DetectorSet([]), lambda: AT
    )
    dead.renew()  # it holds every partition, then dies without acting on what comes
    with _Rebuilding(db_url, "alerts-live") as survivor:
        time.sleep(0.5)  # running, holding nothing
        _commit(db_url, SosEvent(kind="sos", seq=1, ts=AT))  # its notice comes and goes: not the survivor's share
        time.sleep(0.5)
        assert survivor.found == []
        survivor.pipeline.process_gone("alerts-dead")  # the broker's last will
        assert survivor.rebuilding.wait(10), "the dead process's share was never taken"
        _wait("the SOS, while the rebuild is held", lambda: any(f.kind == "sos" for f in survivor.found))
