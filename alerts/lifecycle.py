"""The alert lifecycle: a pure state machine whose legal moves are a table, and whose every move is a record.

::

    raised ──► acknowledged ──► dispatched ──► en_route ──► on_site ──► resolved (with an outcome)
      │             │  ▲  │          │  ▲          │                        ▲
      │             │  └──┼──────────┘  └──────────┘ recall (nobody can go)  │
      │             └─────┼──────────────────────────────────────────────────┘ settled by a phone call
      └─────────────┴─────┴──► cancelled (with a reason)

Decisions, all visible in ``TRANSITIONS``:

* Only operators and supervisors acknowledge, and only a raised alert; dispatching needs an acknowledged
  alert, so "nobody looked at it" is never hidden behind a dispatch.
* An operator may resolve straight from acknowledged (a phone call settles it) or from any dispatched stage
  (the resident turned up at a neighbour's); field staff resolve only once on site.
* A dispatch may be re-assigned (dispatched → dispatched, a decline moves to the next staff member) or
  recalled to acknowledged when nobody can go; both need a note.
* The resident's "I'm OK" and the system (a condition that cleared by itself) cancel only before anyone is
  sent; once staff are on the way, only the desk cancels. Once staff are on site the case ends in an outcome.
* Every cancel needs a reason; every resolution needs an outcome, and nothing else takes one.

Nothing here reads a clock or the database: the caller passes the time and stores the `Transition`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from types import MappingProxyType
from typing import Final

from alerts.errors import IllegalTransitionError


class AlertState(StrEnum):
    """Where an alert is in its life."""

    RAISED = "raised"
    ACKNOWLEDGED = "acknowledged"
    DISPATCHED = "dispatched"
    EN_ROUTE = "en_route"
    ON_SITE = "on_site"
    RESOLVED = "resolved"
    CANCELLED = "cancelled"


class Outcome(StrEnum):
    """How a resolved alert ended."""

    FALSE_ALARM = "false_alarm"
    NO_INJURY = "no_injury"
    MINOR_INJURY = "minor_injury"
    HOSPITAL = "hospital"
    OTHER = "other"


class Role(StrEnum):
    """Who may act on an alert; an actor string is ``role`` or ``role:id`` (``operator:u12``)."""

    OPERATOR = "operator"
    SUPERVISOR = "supervisor"
    STAFF = "staff"
    FAMILY = "family"
    RESIDENT = "resident"
    SYSTEM = "system"


CLOSED_STATES: Final = frozenset({AlertState.RESOLVED, AlertState.CANCELLED})
OPEN_STATES: Final = frozenset(AlertState) - CLOSED_STATES


@dataclass(frozen=True, slots=True)
class Rule:
    """Who may make one move, and what the move must carry."""

    roles: frozenset[Role]
    needs_outcome: bool = False
    needs_note: bool = False


_DESK: Final = frozenset({Role.OPERATOR, Role.SUPERVISOR})
_FIELD: Final = _DESK | {Role.STAFF}
_ENGINE: Final = _DESK | {Role.SYSTEM}  # the dispatch engine re-assigns and recalls on declines
_EARLY_CANCEL: Final = _DESK | {Role.RESIDENT, Role.SYSTEM}

_S = AlertState
TRANSITIONS: Final[Mapping[tuple[AlertState, AlertState], Rule]] = MappingProxyType(
    {
        (_S.RAISED, _S.ACKNOWLEDGED): Rule(_DESK),
        (_S.RAISED, _S.CANCELLED): Rule(_EARLY_CANCEL, needs_note=True),
        (_S.ACKNOWLEDGED, _S.DISPATCHED): Rule(_ENGINE),
        (_S.ACKNOWLEDGED, _S.RESOLVED): Rule(_DESK, needs_outcome=True),
        (_S.ACKNOWLEDGED, _S.CANCELLED): Rule(_EARLY_CANCEL, needs_note=True),
        (_S.DISPATCHED, _S.DISPATCHED): Rule(_ENGINE, needs_note=True),
        (_S.DISPATCHED, _S.EN_ROUTE): Rule(_FIELD),
        (_S.DISPATCHED, _S.ON_SITE): Rule(_FIELD),
        (_S.DISPATCHED, _S.ACKNOWLEDGED): Rule(_ENGINE, needs_note=True),
        (_S.DISPATCHED, _S.RESOLVED): Rule(_DESK, needs_outcome=True),
        (_S.DISPATCHED, _S.CANCELLED): Rule(_DESK, needs_note=True),
        (_S.EN_ROUTE, _S.ON_SITE): Rule(_FIELD),
        (_S.EN_ROUTE, _S.ACKNOWLEDGED): Rule(_ENGINE, needs_note=True),
        (_S.EN_ROUTE, _S.RESOLVED): Rule(_DESK, needs_outcome=True),
        (_S.EN_ROUTE, _S.CANCELLED): Rule(_DESK, needs_note=True),
        (_S.ON_SITE, _S.RESOLVED): Rule(_FIELD, needs_outcome=True),
    }
)


@dataclass(frozen=True, slots=True)
class Transition:
    """One stored change of state: from where to where, who did it, when, and why."""

    from_state: AlertState | None  # None for the raise itself
    to_state: AlertState
    actor: str
    at: datetime
    note: str | None = None
    outcome: Outcome | None = None


def role_of(actor: str) -> Role:
    """Return the role of an actor string such as ``operator:u12`` or ``resident``."""
    name, sep, ident = actor.partition(":")
    try:
        role = Role(name)
    except ValueError:
        raise IllegalTransitionError("actor", f"unknown actor {actor!r}") from None
    if sep and not ident:
        raise IllegalTransitionError("actor", f"empty id in actor {actor!r}")
    return role


def raise_alert(at: datetime, actor: str = "system", note: str | None = None) -> Transition:
    """Return the record of an alert coming into being."""
    role_of(actor)
    return Transition(None, AlertState.RAISED, actor, at, note)


def advance(
    state: AlertState,
    to: AlertState,
    actor: str,
    at: datetime,
    *,
    note: str | None = None,
    outcome: Outcome | None = None,
) -> Transition:
    """Return the record of moving from ``state`` to ``to``, or raise `IllegalTransitionError`."""
    rule = TRANSITIONS.get((state, to))
    if rule is None:
        raise IllegalTransitionError("not_allowed", f"{state} → {to}")
    if role_of(actor) not in rule.roles:
        raise IllegalTransitionError("actor", f"{actor} may not move an alert {state} → {to}")
    if rule.needs_outcome != (outcome is not None):
        wanted = "needs an outcome" if rule.needs_outcome else "takes no outcome"
        raise IllegalTransitionError("outcome", f"{state} → {to} {wanted}")
    if rule.needs_note and not (note and note.strip()):
        raise IllegalTransitionError("note", f"{state} → {to} needs a reason")
    return Transition(state, to, actor, at, note, outcome)


def moves(state: AlertState, actor: str) -> list[AlertState]:
    """List the states ``actor`` may move an alert in ``state`` to (the buttons a console shows)."""
    role = role_of(actor)
    return [to for (frm, to), rule in TRANSITIONS.items() if frm == state and role in rule.roles]


def is_open(state: AlertState) -> bool:
    """Tell whether an alert in ``state`` still needs someone."""
    return state in OPEN_STATES
