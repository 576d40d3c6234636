"""Learning from outcomes, on real PostgreSQL: a stream of one resident's false falls closed by the desk.

Each impact window is stored by ingest's own writer, read by the real impact detector (with a classifier that
calls every window a fall: the false falls issue 16 measured) and raised by the alert service, which the desk
then closes. The service keeps the windows as labelled examples and lowers the next look-alike.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import psycopg
import pytest
from psycopg_pool import ConnectionPool

from alerts.detectors import ImpactFallDetector, SosDetector
from alerts.errors import IllegalTransitionError
from alerts.findings import Observation
from alerts.kinds import Severity
from alerts.lifecycle import AlertState, Outcome
from alerts.messages import AlertChange, ChangeAction
from alerts.outcomes import FallOutcomes, purge
from alerts.service import AlertService
from anxin.platform import _upkeep
from gateway.contract import Channel, ImpactEvent, Record, SosEvent
from gateway.registry import Attribution
from ingest.devices import upsert_residents
from ingest.rows import Batch
from ingest.writer import BatchWriter
from tests.alerts.conftest import Broker, Clock
from tests.alerts.movements import RATE_HZ, Window, fall_then_still, habit, other_movement

T0 = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)
PHRASE = "this resident's last {n} similar alerts were false alarms"
PHRASE_ZH = "该老人最近{n}次类似报警均为误报"


class AlwaysFall:
    """The classifier of issue 16 on everyday movements: every window it is sent looks like a fall."""

    def score(self, samples: object, rate_hz: float) -> float:
        return 0.9

    def is_fall(self, samples: object, rate_hz: float) -> bool:
        return True


class Desk:
    """One resident's bracelet, the platform's pieces it goes through, and the operator who closes each alert."""

    def __init__(self, db_url: str, resident_id: str = "r1", *, consent: bool = True) -> None:
        self.db_url = db_url
        self.rid = resident_id
        self.device = f"{resident_id}-bracelet"
        self.clock = Clock(T0)
        self.broker = Broker()
        self.writer = BatchWriter(db_url)
        self.detectors = [ImpactFallDetector(AlwaysFall()), SosDetector()]
        self.service = AlertService(
            lambda: psycopg.connect(db_url), self.broker.publish, self.clock, outcomes=FallOutcomes()
        )
        self.seq = 0
        with psycopg.connect(db_url) as conn:
            upsert_residents(conn, [(resident_id, "Wang Fang")])
            conn.execute("UPDATE residents SET learning_consent = %s WHERE id = %s", (consent, resident_id))

    def deliver(self, body: ImpactEvent | SosEvent) -> list[AlertChange]:
        """Store a device message as ingest does, detect on it, and return what the alert service changed."""
        record = Record(self.device, Channel.EVENT, body)
        batch = Batch()
        batch.add(record, Attribution(self.rid, None), self.clock.now)
        self.writer.write(batch)
        obs = Observation(self.rid, record, self.clock.now)
        return self.service.handle([f for d in self.detectors for f in d.observe(obs)])

    def send(self, body: ImpactEvent | SosEvent) -> AlertChange:
        """Deliver a device message and return the alert it raised."""
        changes = self.deliver(body)
        assert [c.action for c in changes] == [ChangeAction.RAISED]
        return changes[0]

    def impact_event(self, window: Window, minutes: float = 10) -> ImpactEvent:
        """Let time pass, and return the impact window the bracelet sends then."""
        self.seq += 1
        at = self.clock.advance(minutes=minutes)
        return ImpactEvent(kind="impact", seq=self.seq, ts=at, rate_hz=RATE_HZ, samples=window)

    def impact(self, window: Window) -> AlertChange:
        """Let ten minutes pass, and the bracelet send an impact window that raises an alert."""
        return self.send(self.impact_event(window))

    def close(self, change: AlertChange, outcome: Outcome = Outcome.FALSE_ALARM, *, real_fall: bool = False) -> None:
        """Acknowledge the alert and resolve it, as an operator on the console does."""
        self.clock.advance(minutes=2)
        self.service.transition(change.alert_id, AlertState.ACKNOWLEDGED, "operator:u1")
        self.service.transition(
            change.alert_id, AlertState.RESOLVED, "operator:u1", outcome=outcome, real_fall=real_fall
        )

    def examples(self) -> list[tuple[Any, ...]]:
        with psycopg.connect(self.db_url) as conn:
            return conn.execute("SELECT alert_id, label, outcome FROM fall_examples ORDER BY id").fetchall()

    def details(self, alert_id: int) -> dict[str, Any]:
        with psycopg.connect(self.db_url) as conn:
            row = conn.execute("SELECT details FROM alerts WHERE id = %s", (alert_id,)).fetchone()
        assert row is not None
        return dict(row[0])

    def close_writer(self) -> None:
        self.writer.close()


@pytest.fixture
def desk(db_url: str) -> Iterator[Desk]:
    made = Desk(db_url)
    yield made
    made.close_writer()


def _lowered(change: AlertChange, n: int) -> bool:
    return (
        change.severity == "high"
        and PHRASE.format(n=n) in change.explanation
        and PHRASE_ZH.format(n=n) in change.explanation_zh
    )


def _full(change: AlertChange) -> bool:
    return change.severity == "critical" and "similar alerts" not in change.explanation


def test_repeated_false_falls_of_one_movement_lower_the_next_look_alike_with_the_reason(desk: Desk) -> None:
    rng = np.random.default_rng(7)
    for _ in range(3):  # too few to say anything yet
        change = desk.impact(habit(rng))
        assert _full(change)
        desk.close(change)
    for n in (3, 4, 5):  # from the third false alarm on, the same movement is lowered, never dropped
        change = desk.impact(habit(rng))
        assert _lowered(change, n), change
        desk.close(change)
    assert [label for _, label, _ in desk.examples()] == ["false_alarm"] * 6
    adjustment = desk.details(change.alert_id)["personal_adjustment"]
    assert adjustment["code"] == "similar_false_alarms"
    assert adjustment["similar"] == 5
    assert (adjustment["from_severity"], adjustment["to_severity"]) == ("critical", "high")
    assert adjustment["nearest_g"] <= adjustment["radius_g"]

    # a different movement, a fall after which the wrist lies still, and an SOS go out at full severity
    for unlike in (other_movement(rng), fall_then_still(rng)):
        change = desk.impact(unlike)
        assert _full(change)
        desk.close(change, Outcome.OTHER)
    sos = desk.send(SosEvent(kind="sos", seq=999, ts=desk.clock.advance(minutes=10)))
    assert sos.severity == "critical"
    with psycopg.connect(desk.db_url) as conn:
        stored = conn.execute("SELECT severity FROM alerts WHERE id = %s", (sos.alert_id,)).fetchone()
    assert stored == (int(Severity.CRITICAL),)


def test_a_confirmed_fall_of_the_same_movement_keeps_it_critical(desk: Desk) -> None:
    rng = np.random.default_rng(8)
    for _ in range(4):
        desk.close(desk.impact(habit(rng)))
    desk.close(desk.impact(habit(rng)), Outcome.MINOR_INJURY, real_fall=True)  # once, she really fell
    assert [label for _, label, _ in desk.examples()][-1] == "fall"
    assert _full(desk.impact(habit(rng)))


def test_an_outcome_that_does_not_say_whether_they_fell_keeps_nothing(desk: Desk) -> None:
    rng = np.random.default_rng(9)
    desk.close(desk.impact(habit(rng)), Outcome.NO_INJURY)
    assert desk.examples() == []


def test_a_false_alarm_cannot_also_be_a_confirmed_fall(desk: Desk) -> None:
    change = desk.impact(habit(np.random.default_rng(10)))
    with pytest.raises(IllegalTransitionError) as refused:
        desk.close(change, Outcome.FALSE_ALARM, real_fall=True)
    assert refused.value.reason == "verdict"


def test_without_consent_nothing_is_kept_and_nothing_is_lowered(db_url: str) -> None:
    desk = Desk(db_url, consent=False)
    rng = np.random.default_rng(11)
    try:
        for _ in range(6):
            change = desk.impact(habit(rng))
            assert _full(change)
            desk.close(change)
        assert desk.examples() == []
    finally:
        desk.close_writer()


def test_the_upkeep_deletes_examples_past_their_retention_and_after_consent_is_withdrawn(desk: Desk) -> None:
    rng = np.random.default_rng(12)
    for _ in range(3):
        desk.close(desk.impact(habit(rng)))
    with psycopg.connect(desk.db_url) as conn:  # the first one was recorded 400 days ago
        conn.execute(
            "UPDATE fall_examples SET impact_at = impact_at - interval '400 days' WHERE id = (SELECT min(id)"
            " FROM fall_examples)"
        )
    with ConnectionPool(desk.db_url, min_size=1, max_size=2) as pool:
        _upkeep(pool, retention_days=180, example_days=365)
        assert len(desk.examples()) == 2
        with psycopg.connect(desk.db_url) as conn:
            conn.execute("UPDATE residents SET learning_consent = false WHERE id = %s", (desk.rid,))
        _upkeep(pool, retention_days=180, example_days=365)
    assert desk.examples() == []


def test_a_kept_example_is_the_window_the_bracelet_sent(desk: Desk) -> None:
    window = habit(np.random.default_rng(13))
    desk.close(desk.impact(window))
    with psycopg.connect(desk.db_url) as conn:
        row = conn.execute("SELECT rate_hz, samples, device_id, resident_id FROM fall_examples").fetchone()
        assert purge(conn, T0, 365) == 0  # nothing is older than the retention
    assert row is not None
    assert row[0] == RATE_HZ and row[2:] == (desk.device, desk.rid)
    assert json.loads(json.dumps(row[1])) == [list(s) for s in window]


def test_the_window_of_an_alert_closed_long_after_is_found_by_its_time(desk: Desk) -> None:
    change = desk.impact(habit(np.random.default_rng(14)))
    desk.clock.advance(hours=6)
    desk.close(change)
    assert len(desk.examples()) == 1
    assert change.at <= desk.clock.now - timedelta(hours=6)


def test_only_the_alert_service_and_the_trainer_read_the_examples() -> None:
    # The examples are health data: no page, notice or dispatch reads them (a family sees none, not even their own).
    root = Path(__file__).resolve().parents[2]
    readers = {
        str(p.relative_to(root))
        for folder in ("alerts", "anxin", "dashboard", "dispatch", "notify", "evaluation", "gateway", "ingest")
        for p in (root / folder).rglob("*.py")
        if "fall_examples" in p.read_text()
    }
    assert readers == {"alerts/outcomes.py", "evaluation/outcomes.py"}


def test_a_look_alike_joining_an_open_alert_leaves_it_as_it_was_raised(desk: Desk) -> None:
    rng = np.random.default_rng(15)
    for _ in range(3):
        desk.close(desk.impact(habit(rng)))
    other = desk.impact(other_movement(rng))  # open, critical
    joined = desk.deliver(desk.impact_event(habit(rng), minutes=5))
    assert [(c.action, c.alert_id, c.severity) for c in joined] == [(ChangeAction.UPDATED, other.alert_id, "critical")]
    assert "similar alerts" not in joined[0].explanation
