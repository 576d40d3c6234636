"""Which partitions an alert process should hold: the fair share of the living, decided without I/O.

Residents are spread over a fixed number of partitions (``ingest.feed.partition_of``); each partition
is leased to one alert process at a time. Every few seconds each process looks at the leases and at
who is alive, and this module says what it should claim and what it should give back: the partitions
divided evenly over the living processes in name order, free or expired ones claimed lowest first,
extras released highest first, so processes converge without talking to each other. A partition is
taken over only when free or when its lease ran out: a holder that is slow but alive keeps it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Lease:
    """One partition's lease as the database holds it."""

    part: int
    owner: str | None
    live: bool  # the lease has not run out


@dataclass(frozen=True, slots=True)
class LeasePlan:
    """What one process should do with the leases now."""

    keep: tuple[int, ...]  # held and renewed
    claim: tuple[int, ...]  # free or expired: taken over
    release: tuple[int, ...]  # held beyond the fair share: given back


def fair_share(me: str, alive: Sequence[str], partitions: int) -> int:
    """Return how many partitions ``me`` should hold when ``alive`` are running (``me`` counted)."""
    living = sorted(set(alive) | {me})
    base, extra = divmod(partitions, len(living))
    return base + (1 if living.index(me) < extra else 0)


def plan_leases(me: str, leases: Sequence[Lease], alive: Sequence[str]) -> LeasePlan:
    """Decide which partitions to keep, claim and release to reach the fair share."""
    share = fair_share(me, alive, len(leases))
    mine = sorted(lease.part for lease in leases if lease.owner == me and lease.live)
    free = sorted(lease.part for lease in leases if lease.owner is None or not lease.live)
    if len(mine) >= share:
        return LeasePlan(tuple(mine[:share]), (), tuple(mine[share:]))
    return LeasePlan(tuple(mine), tuple(free[: share - len(mine)]), ())
