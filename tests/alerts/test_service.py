"""The alert service over a real PostgreSQL: de-duplication, incidents, cancels, transitions, publishing."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import psycopg
import pytest

from alerts import store
from alerts.errors import IllegalTransitionError, UnknownKindError
from alerts.findings import Finding
from alerts.kinds import Severity
from alerts.lifecycle import AlertState, Outcome
from alerts.messages import AlertChange, ChangeAction
from alerts.service import AlertService

Query = Callable[..., list[tuple[Any, ...]]]
MakeFinding = Callable[..., Finding]


def test_a_second_sos_updates_the_open_alert(service: AlertService, finding: MakeFinding, query: Query) -> None:
    first = service.handle([finding("sos")])
    second = service.handle([finding("sos")])
    assert [c.action for c in first + second] == [ChangeAction.RAISED, ChangeAction.UPDATED]
    assert first[0].alert_id == second[0].alert_id
    assert query("SELECT count(*), max(finding_count) FROM alerts") == [(1, 2)]
    assert query("SELECT count(*) FROM alert_findings WHERE alert_id = %s", first[0].alert_id) == [(2,)]
    assert query("SELECT from_state, to_state, actor FROM alert_transitions") == [(None, "raised", "system")]


def test_the_open_alert_index_refuses_a_duplicate(
    alerts_db_url: str, service: AlertService, finding: MakeFinding
) -> None:
    service.handle([finding("sos")])
    with psycopg.connect(alerts_db_url) as conn:
        incident = store.open_incident(conn, "r1", "emergency", finding().at)
        with pytest.raises(psycopg.errors.UniqueViolation):
            store.insert_alert(
                conn, incident, finding("sos"), severity=Severity.CRITICAL, promise_minutes=15, at=finding().at
            )


def test_fall_sos_and_long_lie_join_one_incident(service: AlertService, finding: MakeFinding) -> None:
    fall, sos, lie, smoke, other = service.handle(
        [finding("fall"), finding("sos"), finding("long_lie"), finding("smoke"), finding("sos", "r2")]
    )
    assert len({fall.alert_id, sos.alert_id, lie.alert_id}) == 3
    assert fall.incident_id == sos.incident_id == lie.incident_id
    assert smoke.incident_id != fall.incident_id  # another group
    assert other.incident_id != fall.incident_id  # another resident


def test_a_new_alert_after_the_incident_closed_opens_a_new_incident(
    service: AlertService, finding: MakeFinding, query: Query
) -> None:
    (first,) = service.handle([finding("sos")])
    service.transition(first.alert_id, AlertState.CANCELLED, "operator:u12", note="pressed by mistake")
    (again,) = service.handle([finding("sos")])
    assert (again.action, again.alert_id != first.alert_id) == (ChangeAction.RAISED, True)
    assert again.incident_id != first.incident_id
    assert query("SELECT count(*) FROM incidents WHERE closed_at IS NOT NULL") == [(1,)]


def test_im_ok_cancels_and_is_recorded_with_the_resident(
    service: AlertService, finding: MakeFinding, query: Query
) -> None:
    (raised,) = service.handle([finding("fall")])
    (cancel,) = service.handle([finding("fall", cancels=True)])
    assert (cancel.action, cancel.state, cancel.actor) == (ChangeAction.TRANSITION, AlertState.CANCELLED, "resident")
    rows = query("SELECT from_state, to_state, actor, note FROM alert_transitions ORDER BY id")
    assert rows[-1] == ("raised", "cancelled", "resident", "fall for r1")
    assert query("SELECT cancels FROM alert_findings WHERE alert_id = %s ORDER BY id", raised.alert_id) == [
        (False,),
        (True,),
    ]
    assert query("SELECT closed_at IS NOT NULL, next_deadline FROM alerts") == [(True, None)]
    assert query("SELECT closed_at IS NOT NULL FROM incidents") == [(True,)]


def test_a_cancel_after_dispatch_is_noted_and_the_alert_stays_open(
    service: AlertService, finding: MakeFinding, query: Query
) -> None:
    (raised,) = service.handle([finding("sos")])
    service.transition(raised.alert_id, AlertState.ACKNOWLEDGED, "operator:u12")
    service.transition(raised.alert_id, AlertState.DISPATCHED, "operator:u12")
    (noted,) = service.handle([finding("sos", cancels=True)])
    assert (noted.action, noted.state) == (ChangeAction.NOTED, AlertState.DISPATCHED)
    assert query("SELECT count(*) FROM alert_findings WHERE cancels") == [(1,)]


def test_a_cancel_without_an_open_alert_is_kept(service: AlertService, finding: MakeFinding, query: Query) -> None:
    (raised,) = service.handle([finding("sos")])
    service.handle([finding("sos", cancels=True)])
    (late,) = service.handle([finding("sos", cancels=True)])  # a second press of "I'm OK"
    assert (late.action, late.alert_id) == (ChangeAction.NOTED, raised.alert_id)
    assert service.handle([finding("fall", "r9", cancels=True)]) == []
    assert query("SELECT count(*), count(alert_id) FROM alert_findings WHERE cancels") == [(3, 2)]


def test_conditions_that_clear_themselves(service: AlertService, finding: MakeFinding) -> None:
    service.handle([finding("smoke"), finding("device_offline")])
    smoke, offline = service.handle([finding("smoke", cancels=True), finding("device_offline", cancels=True)])
    assert (smoke.action, smoke.state) == (ChangeAction.NOTED, AlertState.RAISED)  # a person closes a smoke alarm
    assert (offline.state, offline.actor) == (AlertState.CANCELLED, "system")


def test_a_worse_finding_raises_the_severity(service: AlertService, finding: MakeFinding) -> None:
    (raised,) = service.handle([finding("inactivity")])
    (worse,) = service.handle([finding("inactivity", severity=Severity.CRITICAL)])
    (again,) = service.handle([finding("inactivity", severity=Severity.LOW)])
    assert (raised.severity, worse.severity, again.severity) == ("high", "critical", "critical")
    assert worse.action is ChangeAction.SEVERITY_RAISED
    assert raised.next_deadline is not None
    assert worse.next_deadline is not None
    assert worse.next_deadline < raised.next_deadline  # a critical alert escalates sooner


def test_operators_move_an_alert_to_its_outcome(service: AlertService, finding: MakeFinding, query: Query) -> None:
    (raised,) = service.handle([finding("fall")])
    steps = [
        (AlertState.ACKNOWLEDGED, "operator:u12", None, None),
        (AlertState.DISPATCHED, "operator:u12", "staff s3 from station 7", None),
        (AlertState.EN_ROUTE, "staff:s3", None, None),
        (AlertState.ON_SITE, "staff:s3", None, None),
        (AlertState.RESOLVED, "staff:s3", "bruised wrist, stays home", Outcome.MINOR_INJURY),
    ]
    for to, actor, note, outcome in steps:
        change = service.transition(raised.alert_id, to, actor, note=note, outcome=outcome)
        assert (change.state, change.actor) == (to, actor)
    assert query("SELECT state, outcome, on_site_at IS NOT NULL, closed_at IS NOT NULL FROM alerts") == [
        ("resolved", "minor_injury", True, True)
    ]
    assert len(query("SELECT * FROM alert_transitions")) == 6


def test_an_illegal_transition_changes_and_tells_nothing(
    service: AlertService, finding: MakeFinding, query: Query, broker: Any
) -> None:
    (raised,) = service.handle([finding("sos")])
    sent = len(broker.sent)
    with pytest.raises(IllegalTransitionError):
        service.transition(raised.alert_id, AlertState.ON_SITE, "staff:s3")
    assert len(broker.sent) == sent
    assert query("SELECT state FROM alerts") == [("raised",)]
    assert len(query("SELECT * FROM alert_transitions")) == 1


def test_an_unknown_kind_is_refused_before_any_io(finding: MakeFinding, clock: Any) -> None:
    def no_database() -> Any:
        raise AssertionError("the database was reached")

    service = AlertService(no_database, lambda topic, payload: None, clock)
    with pytest.raises(UnknownKindError):
        service.handle([finding("sos"), finding("alien_abduction")])


def test_every_change_is_committed_before_it_is_published(
    alerts_db_url: str, make_service: Callable[..., AlertService], finding: MakeFinding, broker: Any, clock: Any
) -> None:
    def check(topic: str, payload: bytes) -> None:
        if "/alerts/" not in topic:
            return
        change = AlertChange.model_validate_json(payload)
        with psycopg.connect(alerts_db_url) as other:  # a separate connection sees only committed rows
            row = other.execute("SELECT state, finding_count FROM alerts WHERE id = %s", (change.alert_id,))
            assert row.fetchone() == (change.state, change.finding_count)

    broker.check = check
    service = make_service()
    (raised,) = service.handle([finding("sos")])
    service.handle([finding("sos")])
    service.transition(raised.alert_id, AlertState.ACKNOWLEDGED, "operator:u12")
    service.handle([finding("fall", "r2")])
    clock.advance(minutes=5)
    assert service.run_due()
    assert [c.action for c in broker.changes()] == [
        ChangeAction.RAISED,
        ChangeAction.UPDATED,
        ChangeAction.TRANSITION,
        ChangeAction.RAISED,
        ChangeAction.ESCALATED,
    ]
    assert {t for t, _ in broker.sent} >= {"anxin/v1/alerts/r1", "anxin/v1/alerts/r2", "anxin/v1/escalations"}


def test_a_publish_failure_does_not_lose_the_alert(
    make_service: Callable[..., AlertService], finding: MakeFinding, query: Query, broker: Any
) -> None:
    def down(topic: str, payload: bytes) -> None:
        raise ConnectionError("broker down")

    broker.check = down
    assert make_service().handle([finding("sos")])
    assert query("SELECT state FROM alerts") == [("raised",)]


def test_the_promise_follows_the_residents_area(service: AlertService, finding: MakeFinding, query: Query) -> None:
    query("INSERT INTO residents (id, name, area_type) VALUES ('farm', 'Li', 'countryside') RETURNING id")
    service.handle([finding("fall", "farm"), finding("fall", "nobody-knows")])
    assert query("SELECT resident_id, promise_minutes FROM alerts ORDER BY id") == [("farm", 30), ("nobody-knows", 15)]
