"""The alert lifecycle accepts exactly the moves in its table, and records each one."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from alerts.errors import AlertsError, IllegalTransitionError
from alerts.lifecycle import (
    CLOSED_STATES,
    TRANSITIONS,
    AlertState,
    Outcome,
    Role,
    advance,
    is_open,
    moves,
    raise_alert,
    role_of,
)

T0 = datetime(2025, 3, 1, 3, 0, tzinfo=UTC)
ACTORS = ["operator:u12", "supervisor:u1", "staff:s3", "family:c7", "resident", "system"]

attempts = st.tuples(
    st.sampled_from(list(AlertState)),
    st.sampled_from(ACTORS),
    st.one_of(st.none(), st.just(""), st.just("called her, she is fine")),
    st.one_of(st.none(), st.sampled_from(list(Outcome))),
)
Attempt = tuple[AlertState, str, str | None, Outcome | None]


def legal(state: AlertState, to: AlertState, actor: str, note: str | None, outcome: Outcome | None) -> bool:
    """Say, straight from the table, whether a move should be accepted."""
    rule = TRANSITIONS.get((state, to))
    return (
        rule is not None
        and role_of(actor) in rule.roles
        and rule.needs_outcome == (outcome is not None)
        and (not rule.needs_note or bool(note and note.strip()))
    )


@given(st.lists(attempts, max_size=30))
def test_only_moves_in_the_table_are_accepted(sequence: list[Attempt]) -> None:
    state = raise_alert(T0).to_state
    for i, (to, actor, note, outcome) in enumerate(sequence):
        at = T0 + timedelta(seconds=i)
        if legal(state, to, actor, note, outcome):
            record = advance(state, to, actor, at, note=note, outcome=outcome)
            assert (record.from_state, record.to_state, record.actor, record.at) == (state, to, actor, at)
            assert (record.note, record.outcome) == (note, outcome)
            state = to
        else:
            with pytest.raises(IllegalTransitionError):
                advance(state, to, actor, at, note=note, outcome=outcome)


@given(st.data())
def test_walks_that_mostly_follow_the_table(data: st.DataObject) -> None:
    """Bias the walk towards legal moves so that long paths to every state are explored."""
    state, seen = AlertState.RAISED, []
    for i in range(25):
        to, actor, note, outcome = data.draw(attempts)
        legal_moves = [(frm, dst) for frm, dst in TRANSITIONS if frm == state]
        if legal_moves and data.draw(st.booleans()):
            _, to = data.draw(st.sampled_from(legal_moves))
            rule = TRANSITIONS[(state, to)]
            actor = data.draw(st.sampled_from(sorted(rule.roles)))
            note = "reason" if rule.needs_note else note
            outcome = data.draw(st.sampled_from(list(Outcome))) if rule.needs_outcome else None
        at = T0 + timedelta(seconds=i)
        if legal(state, to, actor, note, outcome):
            state = advance(state, to, actor, at, note=note, outcome=outcome).to_state
            seen.append(state)
        else:
            with pytest.raises(IllegalTransitionError):
                advance(state, to, actor, at, note=note, outcome=outcome)
    assert all(is_open(s) for s in seen[:-1])  # nothing moves on after it closed


@given(st.lists(attempts, max_size=30))
def test_a_closed_alert_never_moves_again(sequence: list[Attempt]) -> None:
    for closed in CLOSED_STATES:
        for to, actor, note, outcome in sequence:
            with pytest.raises(IllegalTransitionError):
                advance(closed, to, actor, T0, note=note, outcome=outcome)


def test_the_full_path_to_an_outcome() -> None:
    path = [
        (AlertState.ACKNOWLEDGED, "operator:u12", None, None),
        (AlertState.DISPATCHED, "operator:u12", None, None),
        (AlertState.EN_ROUTE, "staff:s3", None, None),
        (AlertState.ON_SITE, "staff:s3", None, None),
        (AlertState.RESOLVED, "staff:s3", "bruised wrist", Outcome.MINOR_INJURY),
    ]
    state = AlertState.RAISED
    for to, actor, note, outcome in path:
        state = advance(state, to, actor, T0, note=note, outcome=outcome).to_state
    assert state is AlertState.RESOLVED
    assert not is_open(state)


def test_an_operator_may_settle_an_alert_by_phone() -> None:
    record = advance(AlertState.ACKNOWLEDGED, AlertState.RESOLVED, "operator:u12", T0, outcome=Outcome.FALSE_ALARM)
    assert record.outcome is Outcome.FALSE_ALARM


@pytest.mark.parametrize(
    ("state", "to", "actor", "reason"),
    [
        (AlertState.RAISED, AlertState.DISPATCHED, "operator:u12", "not_allowed"),  # acknowledge first
        (AlertState.RAISED, AlertState.ACKNOWLEDGED, "staff:s3", "actor"),
        (AlertState.EN_ROUTE, AlertState.CANCELLED, "resident", "actor"),  # staff already on the way
        (AlertState.ON_SITE, AlertState.CANCELLED, "operator:u12", "not_allowed"),
        (AlertState.ACKNOWLEDGED, AlertState.RESOLVED, "operator:u12", "outcome"),
        (AlertState.RAISED, AlertState.CANCELLED, "operator:u12", "note"),
        (AlertState.RAISED, AlertState.ACKNOWLEDGED, "janitor:x", "actor"),
        (AlertState.RAISED, AlertState.ACKNOWLEDGED, "operator:", "actor"),
    ],
)
def test_refusals_say_why(state: AlertState, to: AlertState, actor: str, reason: str) -> None:
    with pytest.raises(IllegalTransitionError) as caught:
        advance(state, to, actor, T0)
    assert caught.value.reason == reason
    assert isinstance(caught.value, AlertsError)


def test_moves_lists_the_buttons_of_a_role() -> None:
    assert moves(AlertState.RAISED, "resident") == [AlertState.CANCELLED]
    assert set(moves(AlertState.DISPATCHED, "staff:s3")) == {AlertState.EN_ROUTE, AlertState.ON_SITE}
    assert moves(AlertState.RAISED, "family:c7") == []
    assert role_of("operator:u12") is Role.OPERATOR
