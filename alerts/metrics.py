"""What the alert path is doing, for Prometheus: read from the database when scraped (thin I/O).

The figures are the platform's, whichever process serves them: open alerts, escalation steps fired
but not yet handed to people, deliveries to families and to the desk that failed, offers nobody
answered, and the detection feed not yet acted on. The partitions this process holds come from its
follower, when it runs detection.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager
from typing import Any, Final

import psycopg
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from alerts.follower import FeedFollower

LOG = logging.getLogger(__name__)
Connect = Callable[[], AbstractContextManager[psycopg.Connection[Any]]]

# (name, help, query): each query returns rows of (label value or NULL, value).
_GAUGES: Final = (
    (
        "anxin_alerts_open",
        "Open alerts by severity",
        "SELECT CASE severity WHEN 4 THEN 'critical' WHEN 3 THEN 'high' WHEN 2 THEN 'medium' ELSE 'low' END,"
        " count(*) FROM alerts WHERE state NOT IN ('resolved', 'cancelled') GROUP BY 1",
        "severity",
    ),
    (
        "anxin_escalation_backlog",
        "Escalation steps fired but not yet handed to the broker and the desk's channels",
        "SELECT NULL, count(*) FROM escalations WHERE published_at IS NULL",
        None,
    ),
    (
        "anxin_notice_deliveries_failed_24h",
        "Family notices that could not be delivered, created in the last 24 hours",
        "SELECT NULL, count(*) FROM notice_deliveries d JOIN notices n ON n.id = d.notice_id"
        " WHERE d.state = 'failed' AND n.created_at > now() - interval '24 hours'",
        None,
    ),
    (
        "anxin_desk_deliveries_failed_24h",
        "Escalations, staff offers and all clears to the desk's people that failed, last 24 hours",
        "SELECT purpose, count(*) FILTER (WHERE NOT ok) FROM desk_deliveries"
        " WHERE at > now() - interval '24 hours' GROUP BY 1",
        "purpose",
    ),
    (
        "anxin_offers_timed_out_24h",
        "Staff offers nobody answered within the offer window, last 24 hours",
        "SELECT NULL, count(*) FROM dispatch_assignments WHERE state = 'timed_out'"
        " AND ended_at > now() - interval '24 hours'",
        None,
    ),
    (
        "anxin_detection_feed_backlog",
        "Committed records of residents not yet acted on by their partition's holder",
        "SELECT NULL, count(*) FROM detection_feed f JOIN alert_partitions p ON p.part = f.part"
        " WHERE f.xid >= p.checkpoint",
        None,
    ),
    (
        "anxin_partitions_unheld",
        "Partitions of residents whose lease no process holds now (their detection waits)",
        "SELECT NULL, count(*) FROM alert_partitions WHERE owner IS NULL OR lease_until < now()",
        None,
    ),
)


class AlertPathCollector(Collector):
    """Report the alert path's backlog and failures when scraped."""

    def __init__(self, connect: Connect, follower: FeedFollower | None = None) -> None:
        self._connect, self._follower = connect, follower

    def describe(self) -> Iterable[GaugeMetricFamily]:
        """Describe nothing up front, so that registering does not query the database."""
        return ()

    def collect(self) -> Iterable[GaugeMetricFamily]:
        """Read the figures (none when the database does not answer: /readyz says so)."""
        out = []
        if self._follower is not None:
            held = GaugeMetricFamily("anxin_partitions_held", "Partitions this process holds", labels=["process"])
            held.add_metric([self._follower.name], len(self._follower.leases.owned))
            out.append(held)
        try:
            with self._connect() as conn:
                for name, help_text, query, label in _GAUGES:
                    family = GaugeMetricFamily(name, help_text, labels=[label] if label else None)
                    for key, value in conn.execute(query).fetchall():
                        family.add_metric([str(key)] if label else [], float(value))
                    out.append(family)
        except psycopg.Error as exc:
            LOG.warning("cannot read the alert path's figures for the metrics: %s", exc)
        return out
