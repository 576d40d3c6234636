"""The desk's labelled outcomes as training windows (``anxin train falls --include-outcomes``).

`alerts.outcomes` keeps the impact window of a fall alert the desk closed as a false alarm, or confirmed as
a real fall, in ``fall_examples`` — for residents who consented, for as long as the retention allows. This
module reads them back as the trainer's `TrialWindows`, cut by the trainer's own windowing
(`evaluation.fall_data.trial_windows`) from the window the bracelet sent, so they go through exactly what a
reference recording goes through:

* a confirmed fall becomes a ``fall`` trial, a false alarm an ``adl`` trial of activity ``desk_false_alarm``;
* the source is ``desk_outcomes``; the subject is a pseudonym of the resident (a keyed hash is not needed:
  nothing but the trainer's grouping sees it, and it never names the person), so subject-wise folds keep a
  resident's examples together; every resident served is an older person (``age`` ``old``);
* only examples whose resident's consent is set now are read: a withdrawn consent takes effect at once,
  before the upkeep deletes them.

The examples are health data; they stay in this process and leave it only as a trained model.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Final

import numpy as np
import psycopg

from evaluation.fall_data import Trial, TrialWindows, trial_windows

SOURCE: Final = "desk_outcomes"
ACTIVITY: Final = {"false_alarm": "desk_false_alarm", "fall": "desk_confirmed_fall"}
LABEL: Final = {"false_alarm": "adl", "fall": "fall"}


@dataclass(frozen=True, slots=True)
class OutcomeExample:
    """One kept example as stored: the alert, the resident, the label and the window the bracelet sent."""

    alert_id: int
    resident_id: str
    label: str  # false_alarm, fall
    rate_hz: float
    samples: Sequence[Sequence[float]]


def pseudonym(resident_id: str) -> str:
    """Name a resident in the trainer's folds without naming them."""
    return "resident-" + hashlib.sha256(resident_id.encode()).hexdigest()[:12]


def read_examples(conn: psycopg.Connection, since: datetime | None = None) -> list[OutcomeExample]:
    """Return the consented residents' kept examples, oldest first (those recorded from ``since`` when given)."""
    rows = conn.execute(
        "SELECT e.alert_id, e.resident_id, e.label, e.rate_hz, e.samples FROM fall_examples e"
        " JOIN residents r ON r.id = e.resident_id WHERE r.learning_consent"
        " AND (%(since)s::timestamptz IS NULL OR e.impact_at >= %(since)s) ORDER BY e.impact_at, e.id",
        {"since": since},
    ).fetchall()
    return [OutcomeExample(int(a), str(r), str(label), float(rate), s) for a, r, label, rate, s in rows]


def as_trial_windows(example: OutcomeExample) -> TrialWindows:
    """Cut one example into the trainer's windows, as a trial of the ``desk_outcomes`` source."""
    trial = Trial(
        source=SOURCE,
        trial_id=f"alert-{example.alert_id}",
        file="",
        subject=pseudonym(example.resident_id),
        age="old",
        label=LABEL[example.label],
        activity=ACTIVITY[example.label],
        fall_start_s=None,
        fall_end_s=None,
    )
    xyz = np.asarray(example.samples, dtype=np.float64).reshape(-1, 3)
    return trial_windows(trial, np.arange(len(xyz)) / example.rate_hz, xyz)


def outcome_windows(db_url: str, since: datetime | None = None) -> list[TrialWindows]:
    """Read the kept examples from the database at ``db_url`` as training windows (those with none left out)."""
    with psycopg.connect(db_url) as conn:
        examples = read_examples(conn, since)
    return [tw for tw in map(as_trial_windows, examples) if tw.windows]
