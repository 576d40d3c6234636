"""Score a fall scorer on a ``falls`` data folder, per trial, the way the platform would meet it.

A fall trial counts as detected when its impact window is called a fall. An everyday-activity trial
counts as a false alarm when any of its candidate windows (its largest peaks, the moments a bracelet
would send) is called a fall. Specificity on older people uses `Trial.elderly`.

Evaluating the shipped model on the data it was trained on is optimistic; the result says whether
the folder overlaps the training trials, and quotes the cross-validated figures stored in the model.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from alerts.fall_data import TrialWindows, features_of, iter_trial_windows
from alerts.fall_model import MODEL_RATE_HZ, FallClassifier, FallScorer, FloatArray, load_fall_classifier

BoolArray = npt.NDArray[np.bool_]


@dataclass(frozen=True, slots=True)
class TrialOutcome:
    """How one trial was judged."""

    key: str
    activity: str
    is_fall: bool
    elderly: bool
    score: float
    called_fall: bool


def _ratio(hits: int, total: int) -> float | None:
    return round(hits / total, 4) if total else None


def rates(is_fall: BoolArray, elderly: BoolArray, called: BoolArray) -> dict[str, Any]:
    """Return sensitivity, specificity and specificity on older people's activities, with counts."""
    adl, old_adl = ~is_fall, ~is_fall & elderly
    return {
        "trials": int(is_fall.size),
        "falls": int(is_fall.sum()),
        "adls": int(adl.sum()),
        "adls_elderly": int(old_adl.sum()),
        "sensitivity": _ratio(int((called & is_fall).sum()), int(is_fall.sum())),
        "specificity": _ratio(int((~called & adl).sum()), int(adl.sum())),
        "specificity_elderly": _ratio(int((~called & old_adl).sum()), int(old_adl.sum())),
    }


def outcome_rates(outcomes: Sequence[TrialOutcome]) -> dict[str, Any]:
    """Return `rates` of a list of judged trials."""
    return rates(
        np.array([o.is_fall for o in outcomes], dtype=bool),
        np.array([o.elderly for o in outcomes], dtype=bool),
        np.array([o.called_fall for o in outcomes], dtype=bool),
    )


def false_alarms_by_activity(outcomes: Sequence[TrialOutcome]) -> dict[str, int]:
    """Count false alarms per everyday activity, most frequent first."""
    counts: dict[str, int] = {}
    for o in outcomes:
        if o.called_fall and not o.is_fall:
            counts[o.activity] = counts.get(o.activity, 0) + 1
    return dict(sorted(counts.items(), key=lambda kv: -kv[1]))


def _judge(scorer: FallScorer, windows: list[FloatArray]) -> tuple[float, bool]:
    """Return the highest window score of a trial and whether any window is called a fall."""
    if isinstance(scorer, FallClassifier):  # one batched call instead of one per window
        score = float(scorer.score_features(features_of(windows)).max())
        return score, score >= scorer.threshold
    scores = [scorer.score(w, MODEL_RATE_HZ) for w in windows]
    return max(scores), any(scorer.is_fall(w, MODEL_RATE_HZ) for w in windows)


def judge_trials(scorer: FallScorer, trials: Sequence[TrialWindows]) -> list[TrialOutcome]:
    """Judge every trial with ``scorer``."""
    outcomes = []
    for tw in trials:
        score, called = _judge(scorer, tw.windows)
        t = tw.trial
        outcomes.append(TrialOutcome(t.key, t.activity, t.is_fall, t.elderly, score, called))
    return outcomes


def evaluate_falls(data_dir: Path, model_path: Path | None = None) -> dict[str, Any]:
    """Evaluate the shipped fall scorer on a ``falls`` folder and return the benchmark record."""
    scorer = load_fall_classifier(model_path)
    trials = list(iter_trial_windows(data_dir))
    outcomes = judge_trials(scorer, trials)
    result: dict[str, Any] = {"bench": "falls", **outcome_rates(outcomes)}
    result["false_alarms_by_activity"] = false_alarms_by_activity(outcomes)
    result.update(_provenance(scorer, [o.key for o in outcomes]))
    return result


def _provenance(scorer: FallScorer, keys: list[str]) -> dict[str, Any]:
    """Say which scorer ran and whether the folder overlaps the data it was trained on."""
    if not isinstance(scorer, FallClassifier):
        return {"scorer": "threshold_rule", "held_out": True, "note": "no model file: fixed threshold rule"}
    trained = set(scorer.metadata.get("trained_trials", ()))
    overlap = sum(key in trained for key in keys)
    info: dict[str, Any] = {
        "scorer": "classifier",
        "threshold": scorer.threshold,
        "held_out": overlap == 0,
        "overlap_trials": overlap,
    }
    if overlap:
        info["note"] = (
            f"{overlap} of {len(keys)} trials were used in training: these figures are optimistic; "
            "see cross_validated (subjects held out) for the honest ones"
        )
        info["cross_validated"] = scorer.metadata.get("cross_validated")
    return info
