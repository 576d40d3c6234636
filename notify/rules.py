"""The pure decisions of notification: quiet hours, retry back-off, and who in the chain is told next.

No I/O and no clock: ``now`` is always an argument, so the escalation of a night can be tested in a second.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta, tzinfo
from typing import Final

ACCEPTING_ANSWERS: Final = frozenset({"going", "call_me"})  # someone has taken it on; stop telling others
DONE_WITHOUT_ANSWER: Final = frozenset({"failed", "skipped"})


def quiet_until(now: datetime, start: time | None, end: time | None, tz: tzinfo) -> datetime | None:
    """Return when a contact's quiet hours end if ``now`` falls inside them, else None; they may wrap midnight."""
    if start is None or end is None or start == end:
        return None
    local = now.astimezone(tz)
    clock = local.time().replace(tzinfo=None)
    inside = start <= clock < end if start < end else clock >= start or clock < end
    if not inside:
        return None
    ends = datetime.combine(local.date(), end, tzinfo=tz)
    return ends if ends > local else ends + timedelta(days=1)


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Exponential back-off for failed deliveries, for a limited time."""

    first_delay: timedelta = timedelta(seconds=15)
    factor: float = 2.0
    max_delay: timedelta = timedelta(minutes=10)
    give_up_after: timedelta = timedelta(hours=2)
    lease: timedelta = timedelta(minutes=2)  # how long a sender may hold a delivery before another takes it

    def next_attempt(self, attempts: int, first_attempt_at: datetime, now: datetime) -> datetime | None:
        """Return when to try again after ``attempts`` failed attempts, or None when it is time to give up."""
        delay = min(self.first_delay * self.factor ** max(0, attempts - 1), self.max_delay)
        at = now + delay
        return None if at - first_attempt_at > self.give_up_after else at


@dataclass(frozen=True, slots=True)
class Link:
    """One contact's place in a notice's chain: how their delivery stands and what they answered."""

    state: str  # waiting, pending, sent, failed, skipped
    sent_at: datetime | None = None
    answer: str | None = None  # going, cant, call_me
    due_at: datetime | None = None  # when their turn came (a pending delivery may be retrying since)


def next_in_chain(chain: Sequence[Link], now: datetime, answer_window: timedelta) -> int | None:
    """Return the index of the waiting contact to tell now, or None while nobody new needs telling.

    The chain moves on past a contact who could not be reached (or still cannot be, ``answer_window`` after their
    turn came, while their retries go on), who was skipped (quiet hours), who
    said they cannot go, or who has not answered within ``answer_window``; it stops for good once
    anyone has said they are going or asked to be called.
    """
    if any(link.answer in ACCEPTING_ANSWERS for link in chain):
        return None
    for i, link in enumerate(chain):
        if link.state == "waiting":
            return i
        if not _passed(link, now, answer_window):
            return None
    return None


def _passed(link: Link, now: datetime, answer_window: timedelta) -> bool:
    """Tell whether the chain may move past this contact."""
    if link.state in DONE_WITHOUT_ANSWER or link.answer == "cant":
        return True
    if link.state == "pending":  # still retrying an unreachable channel: keep trying, and tell the next one too
        return link.due_at is not None and now - link.due_at >= answer_window
    return link.state == "sent" and link.sent_at is not None and now - link.sent_at >= answer_window
