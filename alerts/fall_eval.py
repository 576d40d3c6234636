"""Score the two-stage fall system on a ``falls`` data folder, per trial, the way the platform would meet it.

Stage 1 is the bracelet's impact trigger, stage 2 the scorer. A fall trial counts as detected when its
impact fires the trigger *and* the window is called a fall: a fall the trigger never fires on is a miss.
An everyday-activity trial counts as a false alarm when any window it sends (a peak that fires the
trigger) is called a fall; one that never fires the trigger raises nothing. Three sets of figures:
the system's (what the resident gets), the classifier's alone on the trials that fired the trigger,
and the trigger's (the share of falls it fires on, the share of activities it sends).
Specificity on older people uses `Trial.elderly`.

Evaluating the shipped model on the data it was trained on is optimistic; the result says whether
the folder overlaps the training trials, and quotes the cross-validated figures stored in the model.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from alerts.fall_data import TrialWindows, features_of, iter_trial_windows
from alerts.fall_model import (
    IMPACT_TRIGGER_G,
    MODEL_RATE_HZ,
    FallClassifier,
    FallScorer,
    FloatArray,
    load_fall_classifier,
)

BoolArray = npt.NDArray[np.bool_]


@dataclass(frozen=True, slots=True)
class TrialOutcome:
    """How one trial was judged."""

    key: str
    activity: str
    is_fall: bool
    elderly: bool
    score: float  # NaN where the trigger never fired
    called_fall: bool
    triggered: bool = True


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


def stage_rates(outcomes: Sequence[TrialOutcome], trigger_g: float) -> dict[str, Any]:
    """Return the classifier's figures on the triggered trials and the trigger's own figures."""
    sent = [o for o in outcomes if o.triggered]
    falls = [o for o in outcomes if o.is_fall]
    adls = [o for o in outcomes if not o.is_fall]
    old = [o for o in adls if o.elderly]
    return {
        "classifier_only": outcome_rates(sent),
        "trigger": {
            "threshold_g": round(trigger_g, 3),
            "sensitivity": _ratio(sum(o.triggered for o in falls), len(falls)),
            "adls_sent": _ratio(sum(o.triggered for o in adls), len(adls)),
            "adls_elderly_sent": _ratio(sum(o.triggered for o in old), len(old)),
        },
    }


def false_alarms_by_activity(outcomes: Sequence[TrialOutcome]) -> dict[str, int]:
    """Count false alarms per everyday activity, most frequent first."""
    counts: dict[str, int] = {}
    for o in outcomes:
        if o.called_fall and not o.is_fall:
            counts[o.activity] = counts.get(o.activity, 0) + 1
    return dict(sorted(counts.items(), key=lambda kv: -kv[1]))


def _judge(scorer: FallScorer, windows: list[FloatArray]) -> tuple[float, bool]:
    """Return the highest window score of a trial and whether any window is called a fall."""
    if not windows:
        return float("nan"), False
    if isinstance(scorer, FallClassifier):  # one batched call instead of one per window
        score = float(scorer.score_features(features_of(windows)).max())
        return score, score >= scorer.threshold
    scores = [scorer.score(w, MODEL_RATE_HZ) for w in windows]
    return max(scores), any(scorer.is_fall(w, MODEL_RATE_HZ) for w in windows)


def judge_trials(scorer: FallScorer, trials: Sequence[TrialWindows], trigger_g: float) -> list[TrialOutcome]:
    """Judge every trial with the trigger at ``trigger_g`` and then ``scorer`` on the windows it sends."""
    outcomes = []
    for tw in trials:
        sent = [tw.windows[k] for k in tw.sent(trigger_g)]
        score, called = _judge(scorer, sent)
        t = tw.trial
        outcomes.append(TrialOutcome(t.key, t.activity, t.is_fall, t.elderly, score, called, bool(sent)))
    return outcomes


def trigger_of(scorer: FallScorer) -> float:
    """Return the trigger level the scorer was trained behind (the documented one for the rule)."""
    return scorer.trigger.peak_g if isinstance(scorer, FallClassifier) else IMPACT_TRIGGER_G


def evaluate_falls(data_dir: Path, model_path: Path | None = None) -> dict[str, Any]:
    """Evaluate the shipped fall scorer on a ``falls`` folder and return the benchmark record."""
    scorer = load_fall_classifier(model_path)
    trials = list(iter_trial_windows(data_dir))
    outcomes = judge_trials(scorer, trials, trigger_of(scorer))
    result: dict[str, Any] = {"bench": "falls", **outcome_rates(outcomes), **stage_rates(outcomes, trigger_of(scorer))}
    result["false_alarms_by_activity"] = false_alarms_by_activity(outcomes)
    result.update(_provenance(scorer, [o.key for o in outcomes]))
    result.update(_scoring_time(scorer, [w for tw in trials for w in tw.windows][:LATENCY_WINDOWS]))
    return result


LATENCY_WINDOWS: Final = 200


def _scoring_time(scorer: FallScorer, windows: Sequence[FloatArray]) -> dict[str, float]:
    """Time the live path: one window at a time, as the alert service scores a bracelet's impact."""
    if not windows:
        return {}
    scorer.score(windows[0], MODEL_RATE_HZ)  # warm-up
    took = []
    for w in windows:
        start = time.perf_counter()
        scorer.score(w, MODEL_RATE_HZ)
        took.append((time.perf_counter() - start) * 1000)
    return {
        "score_ms_p50": round(float(np.percentile(took, 50)), 2),
        "score_ms_p95": round(float(np.percentile(took, 95)), 2),
    }


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
