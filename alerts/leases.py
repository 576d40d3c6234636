"""The partition leases in PostgreSQL: say this process is alive, renew, claim and release (thin I/O).

All times are the database's (``now()``), so the processes' own clocks never decide who owns what. A
lease step locks the partition rows for a moment, so two processes never claim the same partition.
A checkpoint is written only while the lease is held: a process that lost its lease cannot move it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Final

import psycopg

from alerts.partitions import Lease, plan_leases

_ALIVE = "SELECT name FROM alert_workers WHERE seen_at > now() - %s"


@dataclass(frozen=True, slots=True)
class LeaseChange:
    """What one lease step changed for this process."""

    owned: frozenset[int]
    gained: frozenset[int]
    lost: frozenset[int]  # released, or found taken over (a lease that ran out while this process stalled)


# Said on the feed's channel when a process gives partitions back, so that the alert processes listening
# there renew their leases at once: a partition given up has no owner until someone claims it.
LEASES_FREED: Final = "NOTIFY detection_feed, 'leases'"


class PartitionLeases:
    """Hold this process's share of the partitions through a connection of its own."""

    def __init__(self, url: str, name: str, lease: timedelta = timedelta(seconds=10)) -> None:
        self.name, self._url, self._lease = name, url, lease
        self._conn: psycopg.Connection | None = None
        self.owned: frozenset[int] = frozenset()

    def _connection(self) -> psycopg.Connection:
        if self._conn is None or self._conn.closed or self._conn.broken:
            self._conn = psycopg.connect(self._url, autocommit=True, connect_timeout=5)
        return self._conn

    def step(self) -> LeaseChange:
        """Say this process is alive, then renew, claim and release leases toward the fair share."""
        conn, before = self._connection(), self.owned
        with conn.transaction():
            conn.execute(
                "INSERT INTO alert_workers (name, seen_at) VALUES (%s, now())"
                " ON CONFLICT (name) DO UPDATE SET seen_at = now()",
                (self.name,),
            )
            alive = [
                r[0] for r in conn.execute("SELECT name FROM alert_workers WHERE seen_at > now() - %s", (self._lease,))
            ]
            leases = [
                Lease(part, owner, live)
                for part, owner, live in conn.execute(
                    "SELECT part, owner, coalesce(lease_until > now(), false) FROM alert_partitions"
                    " ORDER BY part FOR UPDATE"
                )
            ]
            plan = plan_leases(self.name, leases, alive)
            conn.execute(
                "UPDATE alert_partitions SET lease_until = now() + %s WHERE part = ANY(%s)",
                (self._lease, list(plan.keep)),
            )
            if plan.claim:
                conn.execute(
                    "UPDATE alert_partitions SET owner = %s, lease_until = now() + %s, moved_at = now()"
                    " WHERE part = ANY(%s)",
                    (self.name, self._lease, list(plan.claim)),
                )
            if plan.release:
                conn.execute(
                    "UPDATE alert_partitions SET owner = NULL, lease_until = NULL, moved_at = now()"
                    " WHERE part = ANY(%s)",
                    (list(plan.release),),
                )
                conn.execute(LEASES_FREED)  # the others claim them now, not at their next renewal
        self.owned = frozenset((*plan.keep, *plan.claim))
        return LeaseChange(self.owned, self.owned - before, before - self.owned)

    def checkpoints(self, parts: frozenset[int]) -> dict[int, int]:
        """Return the checkpoint of each partition (the feed's transaction-id line)."""
        rows = self._connection().execute(
            "SELECT part, checkpoint::text::bigint FROM alert_partitions WHERE part = ANY(%s)", (sorted(parts),)
        )
        return {part: xid for part, xid in rows}  # noqa: C416 - rows are tuples of two

    def advance(self, parts: frozenset[int], horizon: int) -> frozenset[int]:
        """Move the checkpoints of the partitions still held to ``horizon``; return those moved."""
        rows = self._connection().execute(
            "UPDATE alert_partitions SET checkpoint = %s::text::xid8 WHERE part = ANY(%s) AND owner = %s"
            " AND lease_until > now() AND checkpoint < %s::text::xid8 RETURNING part",
            (str(horizon), sorted(parts), self.name, str(horizon)),
        )
        return frozenset(r[0] for r in rows)

    def expire(self, owner: str) -> int:
        """End another process's leases now (the broker said it died); return how many ran out."""
        if owner == self.name:
            return 0
        conn = self._connection()
        with conn.transaction():  # no longer among the living either: the fair share is counted without it
            conn.execute("DELETE FROM alert_workers WHERE name = %s", (owner,))
            rows = conn.execute(
                "UPDATE alert_partitions SET lease_until = now() WHERE owner = %s AND lease_until > now()"
                " RETURNING part",
                (owner,),
            ).fetchall()
        return len(rows)

    def leave(self) -> None:
        """Give every lease back and say this process is gone (a clean stop: others take over at once)."""
        try:
            conn = self._connection()
            conn.execute(
                "UPDATE alert_partitions SET owner = NULL, lease_until = NULL, moved_at = now() WHERE owner = %s",
                (self.name,),
            )
            conn.execute("DELETE FROM alert_workers WHERE name = %s", (self.name,))
            conn.execute(LEASES_FREED)
        except psycopg.Error:
            pass  # the database is gone too: the leases run out by themselves
        finally:
            self.owned = frozenset()
            self.close()

    def close(self) -> None:
        """Close the connection."""
        if self._conn is not None:
            self._conn.close()
            self._conn = None
