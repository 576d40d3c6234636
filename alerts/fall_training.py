"""Train the fall classifier from a ``falls`` data folder and measure it on subjects it never saw.

Windows come from `alerts.fall_data` (one impact-centred window per fall, the largest peaks of every
everyday activity as hard negatives). The model is a gradient-boosting pipeline on `FEATURE_NAMES`.

Measurement is subject-wise: ``GroupKFold`` over ``source/subject`` keeps all of a person's trials in
one fold. The decision threshold is part of what is measured, so it is chosen *inside* each outer
fold, from an inner subject-wise cross-validation of the training subjects only, as the highest
threshold that keeps ``target_sensitivity`` there; the outer fold is then judged with it. The shipped
threshold is chosen the same way from the out-of-fold scores of all subjects.
"""

from __future__ import annotations

import json
import platform
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Final

import numpy as np
import sklearn
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.model_selection import GroupKFold
from sklearn.pipeline import Pipeline

from alerts.fall_data import ELDERLY_AGE, TrialWindows, features_of, iter_trial_windows
from alerts.fall_eval import TrialOutcome, false_alarms_by_activity, judge_trials, outcome_rates, rates
from alerts.fall_model import (
    FEATURE_NAMES,
    MODEL_RATE_HZ,
    POST_S,
    PRE_S,
    FallClassifier,
    FloatArray,
    ThresholdFallRule,
)
from alerts.fall_report import report_markdown

CITATION: Final = (
    'UMAFall — Casilari, Santoyo-Ramón and Cano-García, "UMAFall: A Multisensor Dataset for the Research '
    'on Automatic Fall Detection", Procedia Computer Science 110 (2017); SmartFallMM — Texas State '
    "University SmartFall group (public data set)."
)


@dataclass(frozen=True, slots=True)
class TrainingConfig:
    """Hyperparameters of the model and of its measurement."""

    n_splits: int = 5
    inner_splits: int = 4
    target_sensitivity: float = 0.95
    max_iter: int = 200
    learning_rate: float = 0.05
    max_leaf_nodes: int = 15
    min_samples_leaf: int = 20
    l2_regularization: float = 1.0
    seed: int = 0


@dataclass(frozen=True, slots=True)
class Dataset:
    """Windows as rows: features, labels, the subject group and the trial each row came from."""

    trials: list[TrialWindows]
    x: FloatArray
    y: np.ndarray[Any, np.dtype[np.bool_]]
    groups: np.ndarray[Any, np.dtype[np.str_]]
    trial_of_row: np.ndarray[Any, np.dtype[np.intp]]


@dataclass(frozen=True, slots=True)
class TrainingResult:
    """The fitted classifier and the report about it."""

    classifier: FallClassifier
    report: dict[str, Any] = field(default_factory=dict)


def build_pipeline(config: TrainingConfig) -> Pipeline:
    """Return an unfitted pipeline; gradient boosting copes with the NaN of short windows."""
    model = HistGradientBoostingClassifier(
        max_iter=config.max_iter,
        learning_rate=config.learning_rate,
        max_leaf_nodes=config.max_leaf_nodes,
        min_samples_leaf=config.min_samples_leaf,
        l2_regularization=config.l2_regularization,
        class_weight="balanced",  # several ADL windows per trial outnumber the falls
        random_state=config.seed,
    )
    return Pipeline([("boost", model)])


def build_dataset(trials: Sequence[TrialWindows]) -> Dataset:
    """Stack every trial's windows into one feature matrix."""
    rows = [features_of(tw.windows) for tw in trials]
    counts = [len(r) for r in rows]
    return Dataset(
        trials=list(trials),
        x=np.vstack(rows),
        y=np.repeat([tw.trial.is_fall for tw in trials], counts),
        groups=np.repeat([tw.trial.group for tw in trials], counts),
        trial_of_row=np.repeat(np.arange(len(trials)), counts),
    )


def trial_max(row_scores: FloatArray, trial_of_row: np.ndarray[Any, np.dtype[np.intp]], n: int) -> FloatArray:
    """Return each trial's highest window score (NaN for trials without rows)."""
    out = np.full(n, -np.inf)
    np.maximum.at(out, trial_of_row, row_scores)
    return np.where(np.isinf(out), np.nan, out)


def choose_threshold(scores: FloatArray, is_fall: np.ndarray[Any, np.dtype[np.bool_]], target: float) -> float:
    """Return the highest threshold that still calls at least ``target`` of the falls."""
    falls = np.sort(scores[is_fall & ~np.isnan(scores)])
    if falls.size == 0:
        return 0.5
    misses = int(np.floor((1.0 - target) * falls.size + 1e-9))
    return float(falls[misses])


def _folds(data: Dataset, rows: np.ndarray[Any, np.dtype[np.intp]], splits: int, seed: int) -> list[Any]:
    """Split ``rows`` subject-wise, never with more folds than subjects."""
    k = min(splits, len(np.unique(data.groups[rows])))
    cv = GroupKFold(n_splits=k, shuffle=True, random_state=seed)
    return [(rows[a], rows[b]) for a, b in cv.split(data.x[rows], data.y[rows], data.groups[rows])]


def out_of_fold(
    data: Dataset, rows: np.ndarray[Any, np.dtype[np.intp]], config: TrainingConfig, splits: int
) -> FloatArray:
    """Return window scores for ``rows``, each from a model that never saw that subject."""
    scores = np.full(len(data.y), np.nan)
    for train, test in _folds(data, rows, splits, config.seed):
        model = build_pipeline(config).fit(data.x[train], data.y[train])
        scores[test] = model.predict_proba(data.x[test])[:, 1]
    return scores


def _trial_flags(data: Dataset, trials: np.ndarray[Any, np.dtype[np.intp]]) -> np.ndarray[Any, np.dtype[np.bool_]]:
    return np.array([data.trials[i].trial.is_fall for i in trials], dtype=bool)


def _outcomes(data: Dataset, scores: FloatArray, thresholds: FloatArray) -> list[TrialOutcome]:
    """Judge each trial with its own fold's threshold."""
    return [
        TrialOutcome(
            tw.trial.key,
            tw.trial.activity,
            tw.trial.is_fall,
            tw.trial.elderly,
            float(scores[i]),
            bool(scores[i] >= thresholds[i]),
        )
        for i, tw in enumerate(data.trials)
    ]


def nested_cross_validation(data: Dataset, config: TrainingConfig) -> dict[str, Any]:
    """Measure model and threshold on held-out subjects; return per-fold and pooled figures."""
    n = len(data.trials)
    all_rows = np.arange(len(data.y))
    trial_scores, thresholds, folds = np.full(n, np.nan), np.full(n, np.nan), []
    for k, (train, test) in enumerate(_folds(data, all_rows, config.n_splits, config.seed)):
        inner = trial_max(out_of_fold(data, train, config, config.inner_splits)[train], data.trial_of_row[train], n)
        seen = np.unique(data.trial_of_row[train])
        threshold = choose_threshold(inner[seen], _trial_flags(data, seen), config.target_sensitivity)
        model = build_pipeline(config).fit(data.x[train], data.y[train])
        held = np.unique(data.trial_of_row[test])
        scores = trial_max(model.predict_proba(data.x[test])[:, 1], data.trial_of_row[test], n)
        trial_scores[held], thresholds[held] = scores[held], threshold
        fold = outcome_rates([_outcomes(data, trial_scores, thresholds)[i] for i in held])
        folds.append(
            {"fold": k, "threshold": round(threshold, 4), "subjects": len(np.unique(data.groups[test])), **fold}
        )
    outcomes = _outcomes(data, trial_scores, thresholds)
    return {
        "folds": folds,
        "overall": outcome_rates(outcomes),
        "false_alarms_by_activity": false_alarms_by_activity(outcomes),
        "by_source": _by_source(data, outcomes),
    }


def _by_source(data: Dataset, outcomes: list[TrialOutcome]) -> dict[str, Any]:
    sources = sorted({tw.trial.source for tw in data.trials})
    return {
        s: outcome_rates([o for o, tw in zip(outcomes, data.trials, strict=True) if tw.trial.source == s])
        for s in sources
    }


def operating_points(
    scores: FloatArray, is_fall: np.ndarray[Any, np.dtype[np.bool_]], elderly: np.ndarray[Any, np.dtype[np.bool_]]
) -> list[dict[str, float]]:
    """Return the out-of-fold trade-off: specificity at several sensitivities."""
    points = []
    for target in (0.80, 0.85, 0.90, 0.95, 0.98):
        thr = choose_threshold(scores, is_fall, target)
        called = scores >= thr
        points.append(
            {
                "target_sensitivity": target,
                "threshold": round(thr, 4),
                **{k: v for k, v in rates(is_fall, elderly, called).items() if k.startswith(("sens", "spec"))},
            }
        )
    return points


def _quiet_falls(data: Dataset, peak_g: float = 1.5) -> int:
    """Count fall trials whose recording never exceeds ``peak_g``: no impact reached the wrist sensor."""
    return sum(tw.trial.is_fall and float(np.linalg.norm(tw.windows[0], axis=1).max()) < peak_g for tw in data.trials)


def rule_figures(trials: Sequence[TrialWindows], rule: ThresholdFallRule) -> dict[str, Any]:
    """Return the fixed rule's figures (nothing is fitted, so all trials are held out)."""
    return {"parameters": asdict(rule), **outcome_rates(judge_trials(rule, trials))}


def train_fall_model(data_dir: Path, config: TrainingConfig | None = None) -> TrainingResult:
    """Build the classifier from a ``falls`` folder, with its cross-validated report."""
    config = config or TrainingConfig()
    data = build_dataset(list(iter_trial_windows(data_dir)))
    cv = nested_cross_validation(data, config)
    oof = trial_max(
        out_of_fold(data, np.arange(len(data.y)), config, config.n_splits), data.trial_of_row, len(data.trials)
    )
    flags = _trial_flags(data, np.arange(len(data.trials)))
    threshold = choose_threshold(oof, flags, config.target_sensitivity)
    pipeline = build_pipeline(config).fit(data.x, data.y)
    report = _report(data, config, cv, threshold, rule_figures(data.trials, ThresholdFallRule()))
    report["operating_points"] = operating_points(oof, flags, np.array([tw.trial.elderly for tw in data.trials]))
    report["falls_without_impact"] = _quiet_falls(data)
    metadata = {
        "trained_trials": sorted(tw.trial.key for tw in data.trials),
        "cross_validated": cv["overall"],
        "config": asdict(config),
        "sklearn_version": sklearn.__version__,
    }
    return TrainingResult(FallClassifier(pipeline, threshold, metadata), report)


def _report(
    data: Dataset, config: TrainingConfig, cv: dict[str, Any], threshold: float, rule: dict[str, Any]
) -> dict[str, Any]:
    """Assemble the report written beside the model."""
    return {
        "model": "HistGradientBoostingClassifier in a scikit-learn Pipeline",
        "features": list(FEATURE_NAMES),
        "windowing": {
            "rate_hz": MODEL_RATE_HZ,
            "pre_s": PRE_S,
            "post_s": POST_S,
            "fall": "one window centred on the impact (largest magnitude in fall_start_s..fall_end_s, else anywhere)",
            "adl": "up to 3 windows centred on the largest peaks at least 2 s apart (hard negatives)",
        },
        "data": {
            "windows": len(data.y),
            "subjects": len(np.unique(data.groups)),
            **outcome_rates(
                [
                    TrialOutcome(tw.trial.key, tw.trial.activity, tw.trial.is_fall, tw.trial.elderly, 0.0, False)
                    for tw in data.trials
                ]
            ),
        },
        "elderly": f"SmartFallMM age 'old', or an age of {ELDERLY_AGE} and over (UMAFall)",
        "validation": f"GroupKFold by source/subject, {config.n_splits} outer folds; threshold chosen in "
        f"{config.inner_splits} inner subject-wise folds for sensitivity >= {config.target_sensitivity}",
        "cross_validated": cv,
        "threshold": round(threshold, 4),
        "threshold_rule_on_all_trials": rule,
        "config": asdict(config),
        "versions": {"python": platform.python_version(), "scikit-learn": sklearn.__version__, "numpy": np.__version__},
        "citation": CITATION,
    }


def report_paths(model_path: Path) -> tuple[Path, Path]:
    """Return where the JSON and Markdown reports of a model file go."""
    stem = model_path.with_suffix("")
    return stem.with_name(stem.name + ".report.json"), stem.with_name(stem.name + ".report.md")


def save(result: TrainingResult, model_path: Path) -> None:
    """Write the model file and its two reports beside it."""
    import joblib  # noqa: PLC0415 — the only disk write of training

    model_path.parent.mkdir(parents=True, exist_ok=True)
    joblib.dump(result.classifier.to_bundle(), model_path, compress=3)
    json_path, md_path = report_paths(model_path)
    json_path.write_text(json.dumps(result.report, indent=2, ensure_ascii=False) + "\n")
    md_path.write_text(report_markdown(result.report))
