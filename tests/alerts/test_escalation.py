"""The escalation rules fire the right actions at the right moments, each once."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from alerts.escalation import AlertClock, EscalationKind, EscalationPolicy, escalate, next_deadline
from alerts.kinds import Severity
from alerts.lifecycle import AlertState

T0 = datetime(2025, 3, 1, 3, 0, tzinfo=UTC)
POLICY = EscalationPolicy()
S = timedelta(seconds=1)


def clock(severity: Severity = Severity.CRITICAL, **overrides: object) -> AlertClock:
    """Build the clock of an alert raised at T0 and not acknowledged."""
    base = AlertClock(1, "r1", "sos", severity, AlertState.RAISED, T0, None, None, promise_minutes=15)
    return replace(base, **overrides)  # type: ignore[arg-type]


def fired_at(alert: AlertClock, now: datetime) -> list[EscalationKind]:
    return [a.action for a in escalate(alert, now, POLICY).actions]


def test_a_critical_alert_climbs_the_ladder_every_minute() -> None:
    alert = clock()
    assert next_deadline(alert, POLICY) == T0 + 60 * S
    assert fired_at(alert, T0 + 59 * S) == []
    first = escalate(alert, T0 + 60 * S, POLICY)
    assert [a.action for a in first.actions] == [EscalationKind.NOTIFY_OPERATORS]
    assert (first.step, first.next_deadline) == (1, T0 + 120 * S)
    alert = replace(alert, step=1)
    assert fired_at(alert, T0 + 120 * S) == [EscalationKind.NOTIFY_SUPERVISOR]
    alert = replace(alert, step=2)
    assert fired_at(alert, T0 + 180 * S) == [EscalationKind.NOTIFY_FAMILY]
    last = escalate(replace(alert, step=3), T0 + timedelta(hours=5), POLICY)
    assert (last.actions, last.next_deadline) == ((), None)


@pytest.mark.parametrize(
    ("severity", "timeout"),
    [(Severity.CRITICAL, 60 * S), (Severity.HIGH, 120 * S), (Severity.MEDIUM, 600 * S), (Severity.LOW, 3600 * S)],
)
def test_the_ack_timeout_depends_on_severity(severity: Severity, timeout: timedelta) -> None:
    assert next_deadline(clock(severity), POLICY) == T0 + timeout


def test_the_family_is_not_woken_for_a_low_alert() -> None:
    result = escalate(clock(Severity.LOW), T0 + timedelta(hours=10), POLICY)
    assert [a.action for a in result.actions] == [EscalationKind.NOTIFY_OPERATORS, EscalationKind.NOTIFY_SUPERVISOR]
    assert result.next_deadline is None


def test_missed_rungs_fire_together_after_a_pause() -> None:
    result = escalate(clock(), T0 + timedelta(minutes=10), POLICY)
    assert [a.key for a in result.actions] == ["ack.0", "ack.1", "ack.2"]
    assert [a.due_at for a in result.actions] == [T0 + 60 * S, T0 + 120 * S, T0 + 180 * S]


def test_acknowledging_stops_the_ladder() -> None:
    alert = clock(state=AlertState.ACKNOWLEDGED, acknowledged_at=T0 + 30 * S)
    assert next_deadline(alert, POLICY) is None
    assert fired_at(alert, T0 + timedelta(hours=1)) == []


@pytest.mark.parametrize("promise", [15, 30])
def test_the_promise_is_counted_from_the_raise(promise: int) -> None:
    alert = clock(
        state=AlertState.EN_ROUTE,
        acknowledged_at=T0 + 20 * S,
        dispatched_at=T0 + 90 * S,
        promise_minutes=promise,
        step=0,
    )
    due = T0 + timedelta(minutes=promise)
    assert next_deadline(alert, POLICY) == due
    assert fired_at(alert, due - S) == []
    result = escalate(alert, due, POLICY)
    assert [(a.action, a.key) for a in result.actions] == [(EscalationKind.PROMISE_BREACHED, "promise")]
    assert result.promise_breached
    assert result.next_deadline is None
    assert fired_at(replace(alert, promise_breached=True), due + timedelta(hours=1)) == []


def test_no_promise_clock_before_dispatch_or_after_arrival() -> None:
    acknowledged = clock(state=AlertState.ACKNOWLEDGED, acknowledged_at=T0)
    on_site = clock(state=AlertState.ON_SITE, acknowledged_at=T0, dispatched_at=T0)
    for alert in (acknowledged, on_site):
        assert fired_at(alert, T0 + timedelta(hours=1)) == []


def test_a_city_and_countryside_promise_from_the_policy() -> None:
    assert (POLICY.promise_for("city"), POLICY.promise_for("countryside"), POLICY.promise_for(None)) == (15, 30, 15)


def test_a_policy_must_be_complete() -> None:
    with pytest.raises(ValueError, match="one timeout per severity"):
        EscalationPolicy(ack_timeouts={Severity.CRITICAL: S})


@given(st.lists(st.integers(min_value=0, max_value=4000), max_size=12), st.sampled_from(list(Severity)))
def test_each_step_fires_once_however_often_the_clock_runs(offsets: list[int], severity: Severity) -> None:
    alert, keys = clock(severity), []
    for now in sorted(T0 + s * S for s in offsets):
        result = escalate(alert, now, POLICY)
        keys += [a.key for a in result.actions]
        assert all(a.due_at <= now for a in result.actions)
        assert result.next_deadline is None or result.next_deadline > now
        alert = replace(alert, step=result.step, promise_breached=result.promise_breached)
    assert len(keys) == len(set(keys))
