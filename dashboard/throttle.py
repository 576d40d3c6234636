"""Sign-in throttling without I/O: growing waits after failures, per account and per address, never a lockout.

A few failures are free; after that each further attempt must wait ``base * 2**(extra failures)`` seconds
from the latest failure, up to a cap (a minute per account, longer per address). An attempt made while a
wait runs is refused unseen (its password is not even checked, so waiting cannot be skipped by guessing)
and does not count as a failure, so hammering the form never lengthens the wait. Once the wait is over,
the right password always signs in: the worst an attacker can do to the night operator is one cap's delay.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class Backoff:
    """How one kind of key (an account, an address) is slowed: free failures, first wait, longest wait."""

    free_failures: int
    base_s: float
    cap_s: float

    def delay_s(self, failures: int) -> float:
        """Return how long after the latest failure the next attempt must wait."""
        extra = failures - self.free_failures
        if extra < 0:
            return 0.0
        return min(self.cap_s, self.base_s * 2.0 ** min(extra, 62))


@dataclass(frozen=True, slots=True)
class Failures:
    """Failed sign-ins that still count for one key: how many, and when the latest was."""

    count: int
    latest: datetime | None


def wait_s(backoff: Backoff, failures: Failures, now: datetime) -> int:
    """Return the whole seconds still to wait before this key may try again (0: it may try now)."""
    if failures.latest is None:
        return 0
    left = backoff.delay_s(failures.count) - (now - failures.latest).total_seconds()
    return max(0, math.ceil(left))
