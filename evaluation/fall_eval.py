"""Score the staged fall system on a ``falls`` data folder, per trial, the way the platform would meet it.

Stages (see `alerts.fall_model`): the bracelet's trigger, the impact model, the whole-window
(post-impact) model, the operator. A fall trial counts as detected when its impact fires the trigger
*and* passes both platform stages: a fall the trigger never fires on is a miss. An everyday-activity
trial counts as a false alarm when any window it sends is called a fall; every such window is one false
alarm in ``false_alarms_per_hour`` (over the activity trials and their recorded durations). Figures come
for the whole folder and per source (each source is one device); each stage's pass rate is given for
falls, activities and older people's activities. Specificity on older people uses `Trial.elderly`.

A bracelet model with a calibration (`alerts.fall_model.Calibration`) is scored with it: a source whose
name has one is judged with its own trigger and thresholds, as the platform judges such a bracelet.
`calibrate` writes one. Evaluating the shipped model on the data it was trained on is optimistic; the
result says whether the folder overlaps the training trials and quotes the leave-one-source-out figures
stored in the model.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from alerts.fall_model import (
    DEFAULT_CALIBRATION_DIR,
    IMPACT_TRIGGER_G,
    MIN_TRIGGER_G,
    MODEL_RATE_HZ,
    Calibration,
    FallClassifier,
    FallScorer,
    FloatArray,
    calibration_path,
    load_fall_classifier,
)
from evaluation.fall_data import TrialWindows, features_of, iter_trial_windows, read_trials

BoolArray = npt.NDArray[np.bool_]
LATENCY_WINDOWS: Final = 200
TRIGGER_GRID_G: Final = tuple(round(MIN_TRIGGER_G + 0.1 * k, 1) for k in range(18))  # 1.3 … 3.0 g


@dataclass(frozen=True, slots=True)
class TrialOutcome:
    """How one trial was judged, stage by stage."""

    key: str
    activity: str
    is_fall: bool
    elderly: bool
    score: float  # the highest whole-window score of a sent window; NaN where the trigger never fired
    called_fall: bool
    triggered: bool = True
    impact_passed: bool = True
    alarms: int = 0  # windows called a fall (each one an operator's call)
    duration_s: float = 0.0
    source: str = ""


def choose_trigger(impact_g: FloatArray, target: float) -> float:
    """Return the highest level on `TRIGGER_GRID_G` that fires on at least ``target`` of the falls' impacts."""
    keeps = [g for g in TRIGGER_GRID_G if np.mean(impact_g >= g) >= target]
    return max(keeps, default=TRIGGER_GRID_G[0])


def choose_threshold(scores: FloatArray, is_fall: BoolArray, target: float) -> float:
    """Return the highest threshold that still calls at least ``target`` of the falls.

    A fall scored NaN never reached this stage (an earlier one missed it) and counts as a miss at any
    threshold; when those misses alone exceed the budget, every fall that reached it is called.
    """
    falls = scores[is_fall]
    sent = np.sort(falls[~np.isnan(falls)])
    if sent.size == 0:
        return 0.5
    misses = int(np.floor((1.0 - target) * falls.size + 1e-9)) - (falls.size - sent.size)
    return float(sent[max(misses, 0)])


def with_margin(threshold: float, scores: FloatArray, is_fall: BoolArray) -> float:
    """Lower a threshold halfway to the highest activity score under it: room for a fall scored a little lower."""
    adl = scores[~is_fall & ~np.isnan(scores)]
    below = adl[adl < threshold]
    return float((threshold + (below.max() if below.size else 0.0)) / 2.0)


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


def false_alarms_per_hour(outcomes: Sequence[TrialOutcome]) -> float | None:
    """Return the windows called a fall per hour of everyday-activity recording."""
    adls = [o for o in outcomes if not o.is_fall]
    hours = sum(o.duration_s for o in adls) / 3600.0
    return round(sum(o.alarms for o in adls) / hours, 3) if hours > 0 else None


def stage_pass_rates(outcomes: Sequence[TrialOutcome]) -> dict[str, Any]:
    """Return, for falls, activities and older people's activities, the share reaching past each stage."""
    groups = {
        "falls": [o for o in outcomes if o.is_fall],
        "adls": [o for o in outcomes if not o.is_fall],
        "adls_elderly": [o for o in outcomes if not o.is_fall and o.elderly],
    }
    return {
        name: {
            "trigger": _ratio(sum(o.triggered for o in group), len(group)),
            "impact_model": _ratio(sum(o.impact_passed for o in group), len(group)),
            "post_impact_model": _ratio(sum(o.called_fall for o in group), len(group)),
        }
        for name, group in groups.items()
    }


def false_alarms_by_activity(outcomes: Sequence[TrialOutcome], top: int | None = None) -> dict[str, int]:
    """Count false-alarm trials per everyday activity, most frequent first."""
    counts: dict[str, int] = {}
    for o in outcomes:
        if o.called_fall and not o.is_fall:
            counts[o.activity] = counts.get(o.activity, 0) + 1
    return dict(sorted(counts.items(), key=lambda kv: -kv[1])[:top])


def summary(outcomes: Sequence[TrialOutcome]) -> dict[str, Any]:
    """Return the system's rates, false alarms per hour and each stage's pass rates."""
    return {
        **outcome_rates(outcomes),
        "false_alarms_per_hour": false_alarms_per_hour(outcomes),
        "adl_hours": round(sum(o.duration_s for o in outcomes if not o.is_fall) / 3600.0, 2),
        "stages": stage_pass_rates(outcomes),
    }


def per_source(outcomes: Sequence[TrialOutcome]) -> dict[str, Any]:
    """Return `summary` for each source (device) of the outcomes."""
    return {s: summary([o for o in outcomes if o.source == s]) for s in sorted({o.source for o in outcomes})}


# --- judging trials -------------------------------------------------------------------------------


def _judge(scorer: FallScorer, windows: list[FloatArray]) -> tuple[float, bool, int]:
    """Return the highest window score of a trial, whether any window passed the impact stage, and the alarms."""
    if not windows:
        return float("nan"), False, 0
    if isinstance(scorer, FallClassifier):  # one batched call instead of one per window
        stages = scorer.stages_of_features(features_of(windows))
        return max(s.score for s in stages), any(s.impact_passed for s in stages), sum(s.fall for s in stages)
    scores = [scorer.score(w, MODEL_RATE_HZ) for w in windows]
    return max(scores), True, sum(scorer.is_fall(w, MODEL_RATE_HZ) for w in windows)


def judge_trials(scorer: FallScorer, trials: Sequence[TrialWindows], trigger_g: float) -> list[TrialOutcome]:
    """Judge every trial with the trigger at ``trigger_g`` and then ``scorer``'s stages on the windows it sends."""
    outcomes = []
    for tw in trials:
        sent = [tw.windows[k] for k in tw.sent(trigger_g)]
        score, passed, alarms = _judge(scorer, sent)
        t = tw.trial
        outcomes.append(
            TrialOutcome(
                t.key,
                t.activity,
                t.is_fall,
                t.elderly,
                score,
                alarms > 0,
                bool(sent),
                passed,
                alarms,
                tw.duration_s,
                t.source,
            )
        )
    return outcomes


def trigger_of(scorer: FallScorer) -> float:
    """Return the trigger level the scorer was trained behind (the documented one for the rule)."""
    return scorer.trigger.peak_g if isinstance(scorer, FallClassifier) else IMPACT_TRIGGER_G


def _scorer_for(scorer: FallScorer, model: str) -> FallScorer:
    """Return the scorer as the platform uses it for a bracelet of ``model``."""
    return scorer.for_model(model) if isinstance(scorer, FallClassifier) else scorer


def judge_by_source(scorer: FallScorer, trials: Sequence[TrialWindows]) -> list[TrialOutcome]:
    """Judge each source's trials with the scorer calibrated for it, where a calibration exists."""
    outcomes = []
    for source in sorted({tw.trial.source for tw in trials}):
        own = _scorer_for(scorer, source)
        outcomes += judge_trials(own, [tw for tw in trials if tw.trial.source == source], trigger_of(own))
    return outcomes


def evaluate_falls(data_dir: Path, model_path: Path | None = None, calibrations: Path | None = None) -> dict[str, Any]:
    """Evaluate the shipped fall scorer on a ``falls`` folder and return the benchmark record."""
    scorer = load_fall_classifier(model_path, calibrations)
    trials = list(iter_trial_windows(data_dir))
    outcomes = judge_by_source(scorer, trials)
    result: dict[str, Any] = {"bench": "falls", **summary(outcomes), "trigger_g": trigger_of(scorer)}
    result["per_source"] = per_source(outcomes)
    result["calibrated_sources"] = sorted(
        s for s in result["per_source"] if isinstance(scorer, FallClassifier) and s in scorer.calibrations
    )
    result["false_alarms_by_activity"] = false_alarms_by_activity(outcomes, top=15)
    result.update(_provenance(scorer, [o.key for o in outcomes]))
    result.update(_scoring_time(scorer, [w for tw in trials for w in tw.windows][:LATENCY_WINDOWS]))
    return result


def _scoring_time(scorer: FallScorer, windows: Sequence[FloatArray]) -> dict[str, float]:
    """Time the live path: one window at a time, as the alert service scores a bracelet's impact."""
    windows = [w[~np.isnan(w).any(axis=1)] for w in windows]
    windows = [w for w in windows if len(w) >= 8]
    if not windows:
        return {}
    scorer.is_fall(windows[0], MODEL_RATE_HZ)  # warm-up
    took = []
    for w in windows:
        start = time.perf_counter()
        scorer.is_fall(w, MODEL_RATE_HZ)
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
        "impact_threshold": scorer.impact_threshold,
        "held_out": overlap == 0,
        "overlap_trials": overlap,
    }
    if overlap:
        info["note"] = (
            f"{overlap} of {len(keys)} trials were used in training: these figures are optimistic; see "
            "leave_one_source_out (each device held out) for the honest ones"
        )
        loso = scorer.metadata.get("leave_one_source_out", {})
        info["leave_one_source_out"] = {"per_source": _headline(loso.get("per_source", {})), "worst": loso.get("worst")}
        info["cross_validated"] = scorer.metadata.get("cross_validated")
    return info


def _headline(per: dict[str, Any]) -> dict[str, Any]:
    keys = ("sensitivity", "specificity", "specificity_elderly", "false_alarms_per_hour")
    return {s: {k: f.get(k) for k in keys} for s, f in per.items()}


# --- calibration per bracelet model ---------------------------------------------------------------


def calibrate(
    data_dir: Path,
    model: str,
    model_path: Path | None = None,
    out_dir: Path = DEFAULT_CALIBRATION_DIR,
    target_sensitivity: float = 0.95,
    trigger_target: float = 0.97,
) -> dict[str, Any]:
    """Choose a bracelet model's trigger and thresholds from its own recordings and write its calibration.

    The recordings are the folder's trials of source ``model`` where it has any, else all of them. With
    falls among them, the trigger is the highest level firing on ``trigger_target`` of those falls and
    the whole-window threshold the highest keeping ``target_sensitivity`` of them (lowered halfway to the
    next activity's score, as in training); the impact stage is never made stricter than the shipped one.
    With only everyday activities the shipped, conservative trigger and thresholds stay (nothing would
    show that sensitivity holds) and the figures record what they give on this model.
    """
    scorer = load_fall_classifier(model_path, out_dir)
    if not isinstance(scorer, FallClassifier):
        raise ValueError("no fall model to calibrate: train one with `anxin train falls`")
    chosen = [t for t in read_trials(data_dir) if t.source == model] or read_trials(data_dir)
    trials = list(iter_trial_windows(data_dir, chosen))
    base = FallClassifier(
        scorer.pipeline,
        scorer.threshold,
        scorer.metadata,
        scorer.trigger,
        scorer.impact_pipeline,
        scorer.impact_threshold,
    )
    before = judge_trials(base, trials, base.trigger.peak_g)
    calibration = _fit_calibration(base, trials, model, target_sensitivity, trigger_target)
    after = judge_trials(base.calibrated(calibration), trials, calibration.trigger_g)
    trained = set(scorer.metadata.get("trained_trials", ()))
    overlap = sum(tw.trial.key in trained for tw in trials)
    figures = {
        "trials": len(trials),
        "default": summary(before),
        "calibrated": summary(after),
        "overlap_trials": overlap,
        "note": "chosen on recordings the shipped model was trained on: optimistic" if overlap else "held out",
    }
    calibration = Calibration(
        model, calibration.trigger_g, calibration.impact_threshold, calibration.threshold, figures
    )
    path = calibration_path(model, out_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(calibration.to_json())
    return {"bench": "falls_calibration", "model": model, "path": str(path), **_levels(calibration), **figures}


def _levels(c: Calibration) -> dict[str, float]:
    return {
        "trigger_g": c.trigger_g,
        "impact_threshold": round(c.impact_threshold, 4),
        "threshold": round(c.threshold, 4),
    }


def _fit_calibration(
    base: FallClassifier, trials: list[TrialWindows], model: str, target: float, trigger_target: float
) -> Calibration:
    """Return the trigger and thresholds the recordings of one bracelet model support."""
    falls = np.array([tw.trial.is_fall for tw in trials], dtype=bool)
    if not falls.any():
        return Calibration(model, base.trigger.peak_g, base.impact_threshold, base.threshold)
    trigger_g = choose_trigger(
        np.array([max(tw.peaks, default=0.0) for tw in trials if tw.trial.is_fall]), trigger_target
    )
    impact, whole = [], []
    for tw in trials:
        sent = [tw.windows[k] for k in tw.sent(trigger_g)]
        stages = base.stages_of_features(features_of(sent)) if sent else []
        impact.append([s.impact_score for s in stages])
        whole.append([s.score for s in stages])
    top = np.array([max(i, default=np.nan) for i in impact])
    impact_threshold = min(with_margin(choose_threshold(top, falls, 0.99), top, falls), base.impact_threshold)
    passed = np.array(
        [
            max((w for i, w in zip(a, b, strict=True) if i >= impact_threshold), default=np.nan)
            for a, b in zip(impact, whole, strict=True)
        ]
    )
    threshold = with_margin(choose_threshold(passed, falls, target), passed, falls)
    return Calibration(model, trigger_g, impact_threshold, threshold)
