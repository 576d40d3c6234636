"""Learn from every outcome: keep the impact windows of closed fall alerts, and adjust a resident's new ones.

The thin I/O shell around `alerts.adjustment`; the alert service calls it inside its own transactions, so
an example is kept exactly when the outcome is committed, and an adjustment is stored with the alert:

* `FallOutcomes.closed` — a fall alert resolved as a false alarm, or confirmed as a real fall by the desk,
  keeps the impact window that raised it (the ``events`` row the raising finding points to) in
  ``fall_examples`` — only when the resident's ``learning_consent`` is set; without it nothing is kept;
* `FallOutcomes.adjust` — a fall read from an impact window is compared with the resident's recent examples
  and lowered, with the reason, when `alerts.adjustment.decide` says so;
* `purge` — the upkeep deletes examples older than the retention, and those of residents without consent.

Both hooks run in a savepoint and never fail the alert's own transaction: a broken example costs the
adjustment (the alert goes out at full severity) or the example, never the alert or the operator's close.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, Final

from psycopg.types.json import Jsonb

from alerts.adjustment import AdjustmentPolicy, Example, Label, Movement, adjusted, decide, movement
from alerts.findings import Finding
from alerts.lifecycle import Outcome
from alerts.store import AlertRow, Conn

LOG = logging.getLogger(__name__)

IMPACT_SOURCE: Final = "impact"  # ``details["source"]`` of a fall read from an impact window
_CACHE_MAX: Final = 10_000  # examples' movements kept in memory (an example never changes)


def label_of(kind: str, outcome: Outcome | None, real_fall: bool) -> Label | None:
    """Return how a closed alert labels its impact window: a false alarm, a real fall, or nothing."""
    if kind != "fall" or outcome is None:
        return None
    if outcome is Outcome.FALSE_ALARM:
        return "false_alarm"
    return "fall" if real_fall else None  # "no injury" alone does not say whether they fell


def is_impact_fall(finding: Finding) -> bool:
    """Tell whether a finding is a fall the platform read from an impact window (the only kind adjusted)."""
    return finding.kind == "fall" and not finding.cancels and finding.details.get("source") == IMPACT_SOURCE


class FallOutcomes:
    """Keep labelled impact windows of closed fall alerts, and lower a resident's new look-alike false falls."""

    def __init__(self, policy: AdjustmentPolicy | None = None, *, adjust: bool = True) -> None:
        self.policy = policy or AdjustmentPolicy()
        self.adjusting = adjust
        self._movements: dict[int, Movement] = {}

    def closed(self, conn: Conn, alert: AlertRow, real_fall: bool, at: datetime) -> int | None:
        """Keep the alert's impact window as a labelled example when it has one and consent; return its id."""
        label = label_of(alert.kind, alert.outcome, real_fall)
        if label is None:
            return None
        try:
            with conn.transaction():
                return _keep(conn, alert, label, at)
        except Exception:  # the operator's close must go through whatever is wrong with the example
            LOG.exception("could not keep the impact window of alert %s as an example", alert.id)
            return None

    def adjust(self, conn: Conn, finding: Finding) -> Finding:
        """Return the finding lowered by the resident's history of similar false alarms, or as it came."""
        if not (self.adjusting and is_impact_fall(finding) and finding.device_id):
            return finding
        try:
            with conn.transaction():  # a resident without examples (or consent) costs one indexed query
                history = self._history(conn, finding.resident_id)
                window = impact_window(conn, finding.device_id, finding.at) if history else None
            if window is None:
                return finding
            adjustment = decide(movement(*window), history, self.policy)
        except Exception:  # safety first: when in doubt, the alert goes out as the detector raised it
            LOG.exception("could not compare the fall of resident %s with their history", finding.resident_id)
            return finding
        return finding if adjustment is None else adjusted(finding, adjustment, self.policy)

    def _history(self, conn: Conn, resident_id: str) -> list[Example]:
        """Return the resident's most recent consented examples, newest first, as movements."""
        rows = conn.execute(
            "SELECT e.id, e.label, e.rate_hz, e.samples FROM fall_examples e JOIN residents r ON r.id = e.resident_id"
            " WHERE e.resident_id = %s AND r.learning_consent ORDER BY e.impact_at DESC, e.id DESC LIMIT %s",
            (resident_id, self.policy.lookback),
        ).fetchall()
        if len(self._movements) > _CACHE_MAX:
            self._movements.clear()
        return [Example(i, label, self._movement(i, samples, rate)) for i, label, rate, samples in rows]

    def _movement(self, example_id: int, samples: Sequence[Sequence[float]], rate_hz: float) -> Movement:
        found = self._movements.get(example_id)
        if found is None:
            found = self._movements[example_id] = movement(samples, rate_hz)
        return found


def impact_window(conn: Conn, device_id: str, at: datetime) -> tuple[list[list[float]], float] | None:
    """Return the samples and rate of the impact window a device sent at ``at`` (the event's time), if stored."""
    row = conn.execute(
        "SELECT data FROM events WHERE device_id = %s AND ts = %s AND kind = 'impact' ORDER BY seq LIMIT 1",
        (device_id, at),
    ).fetchone()
    if row is None or not row[0]:
        return None
    data: dict[str, Any] = row[0]
    return data["samples"], float(data["rate_hz"])


def _keep(conn: Conn, alert: AlertRow, label: Label, at: datetime) -> int | None:
    """Store the window of the alert's raising impact finding, when the resident consents."""
    consent = conn.execute("SELECT learning_consent FROM residents WHERE id = %s", (alert.resident_id,)).fetchone()
    if not (consent and consent[0]):
        return None
    raising = conn.execute(
        "SELECT device_id, at FROM alert_findings WHERE alert_id = %s AND kind = 'fall' AND NOT cancels"
        " AND details->>'source' = %s AND device_id IS NOT NULL ORDER BY recorded_at, id LIMIT 1",
        (alert.id, IMPACT_SOURCE),
    ).fetchone()
    if raising is None:
        return None  # the bracelet's own fall report: no window to keep
    window = impact_window(conn, raising[0], raising[1])
    if window is None:
        LOG.warning("alert %s: the impact window of %s at %s is no longer stored", alert.id, *raising)
        return None
    samples, rate_hz = window
    row = conn.execute(
        "INSERT INTO fall_examples (alert_id, resident_id, device_id, label, outcome, impact_at, rate_hz, samples,"
        " kept_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT (alert_id) DO NOTHING RETURNING id",
        (alert.id, alert.resident_id, raising[0], label, alert.outcome, raising[1], rate_hz, Jsonb(samples), at),
    ).fetchone()
    return int(row[0]) if row else None


def purge(conn: Conn, now: datetime, retention_days: int) -> int:
    """Delete examples older than the retention and every example of a resident without consent; return how many."""
    cur = conn.execute(
        "DELETE FROM fall_examples e WHERE e.impact_at < %s OR NOT EXISTS"
        " (SELECT 1 FROM residents r WHERE r.id = e.resident_id AND r.learning_consent)",
        (now - timedelta(days=retention_days),),
    )
    return cur.rowcount
