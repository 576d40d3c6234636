"""Train the fall classifier (stage 2) behind the bracelet's trigger (stage 1) and measure both on unseen subjects.

Windows come from `alerts.fall_data` (one impact-centred window per fall, a window around every
trigger-worthy peak of every everyday activity), each with the raw magnitude of its peak.

Measurement is subject-wise: ``GroupKFold`` over ``source/subject`` keeps all of a person's trials in
one fold. Everything chosen is chosen *inside* each outer fold from the training subjects only:

1. the trigger level: the highest on ``TRIGGER_GRID_G`` that still fires on ``trigger_target`` of
   the training subjects' falls (stage 1 must not be where falls are lost);
2. the classifier (the biases of its random kernels included), fitted on the windows that level sends
   (falls, and the everyday activities hard enough to fire it), never on windows the bracelet would not send;
3. the decision threshold: from an inner subject-wise cross-validation of the training subjects, the
   highest that keeps ``target_sensitivity`` of *all* their falls, the trigger's misses counted.

The outer fold is then judged as a system (a fall the trigger misses is a miss; an activity that never
fires it raises nothing). The shipped trigger and threshold are chosen the same way on all subjects.
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
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import ExtraTreesClassifier, HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GroupKFold
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from alerts.fall_data import ELDERLY_AGE, TrialWindows, features_of, iter_trial_windows
from alerts.fall_eval import (
    TrialOutcome,
    false_alarms_by_activity,
    judge_trials,
    outcome_rates,
    rates,
    stage_rates,
)
from alerts.fall_kernels import SIGNAL_NAMES, KernelFeatures
from alerts.fall_model import (
    HAND_FEATURE_NAMES,
    MIN_TRIGGER_G,
    MODEL_RATE_HZ,
    POST_S,
    PRE_S,
    SIGNAL_SAMPLES,
    FallClassifier,
    FloatArray,
    ImpactTrigger,
    ThresholdFallRule,
)
from alerts.fall_report import report_markdown

CITATION: Final = (
    'UMAFall — Casilari, Santoyo-Ramón and Cano-García, "UMAFall: A Multisensor Dataset for the Research '
    'on Automatic Fall Detection", Procedia Computer Science 110 (2017); SmartFallMM — Texas State '
    "University SmartFall group (public data set)."
)
TRIGGER_GRID_G: Final = tuple(round(MIN_TRIGGER_G + 0.1 * k, 1) for k in range(16))  # 1.5 … 3.0 g


@dataclass(frozen=True, slots=True)
class TrainingConfig:
    """Hyperparameters of the model and of its measurement."""

    n_splits: int = 5
    inner_splits: int = 4
    target_sensitivity: float = 0.95
    trigger_target: float = 0.97
    trigger_g: float | None = None  # fixed trigger level; None chooses it by ``trigger_target``
    # "kernels": logistic regression on random-kernel features of the window's signals (the shipped model);
    # "extra_trees" or "hgb" (gradient boosting) on the hand features. Nested CV (sensitivity / specificity /
    # older people's specificity): kernels 0.948 / 0.567 / 0.621; extra_trees 0.942 / 0.495 / 0.503;
    # hgb 0.454 specificity; a soft vote of kernels and extra_trees 0.946 / 0.565 / 0.589
    model: str = "kernels"
    c: float = 0.0003  # inverse L2 strength of the logistic regression on the 7 056 kernel features
    max_iter: int = 200
    learning_rate: float = 0.05
    max_leaf_nodes: int = 15
    min_samples_leaf: int = 20
    l2_regularization: float = 1.0
    n_estimators: int = 150
    seed: int = 0


@dataclass(frozen=True, slots=True)
class Dataset:
    """Windows as rows: features, labels, the subject group and the trial each row came from."""

    trials: list[TrialWindows]
    x: FloatArray
    y: np.ndarray[Any, np.dtype[np.bool_]]
    groups: np.ndarray[Any, np.dtype[np.str_]]
    trial_of_row: np.ndarray[Any, np.dtype[np.intp]]
    peak: FloatArray  # raw magnitude of each window's peak: which trigger levels send it


@dataclass(frozen=True, slots=True)
class TrainingResult:
    """The fitted classifier and the report about it."""

    classifier: FallClassifier
    report: dict[str, Any] = field(default_factory=dict)


def build_pipeline(config: TrainingConfig) -> Pipeline:
    """Return an unfitted pipeline; every model copes with the NaN of short windows."""
    kernels = Pipeline(
        [
            ("kernels", KernelFeatures(first_column=len(HAND_FEATURE_NAMES), seed=config.seed)),
            ("scale", StandardScaler()),
            ("model", LogisticRegression(C=config.c, class_weight="balanced", max_iter=3000)),
        ]
    )
    if config.model == "kernels":
        return kernels
    hand = ColumnTransformer([("hand", "passthrough", list(range(len(HAND_FEATURE_NAMES))))])
    return Pipeline([("hand", hand), ("model", _tree_model(config))])


def _tree_model(config: TrainingConfig) -> Any:
    """Return the tree ensemble of the hand-feature models."""
    model: Any
    if config.model == "extra_trees":
        model = ExtraTreesClassifier(
            n_estimators=config.n_estimators,
            min_samples_leaf=config.min_samples_leaf // 4 or 1,
            max_features="sqrt",
            class_weight="balanced",
            random_state=config.seed,
        )
    else:
        model = HistGradientBoostingClassifier(
            max_iter=config.max_iter,
            learning_rate=config.learning_rate,
            max_leaf_nodes=config.max_leaf_nodes,
            min_samples_leaf=config.min_samples_leaf,
            l2_regularization=config.l2_regularization,
            class_weight="balanced",  # several ADL windows per trial outnumber the falls
            random_state=config.seed,
        )
    return model


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
        peak=np.concatenate([np.asarray(tw.peaks, dtype=np.float64) for tw in trials]),
    )


def choose_trigger(impact_g: FloatArray, target: float) -> float:
    """Return the highest level on `TRIGGER_GRID_G` that fires on at least ``target`` of the falls' impacts."""
    keeps = [g for g in TRIGGER_GRID_G if np.mean(impact_g >= g) >= target]
    return max(keeps, default=TRIGGER_GRID_G[0])


def trial_max(row_scores: FloatArray, trial_of_row: np.ndarray[Any, np.dtype[np.intp]], n: int) -> FloatArray:
    """Return each trial's highest window score (NaN for trials without rows)."""
    out = np.full(n, -np.inf)
    np.maximum.at(out, trial_of_row, row_scores)
    return np.where(np.isinf(out), np.nan, out)


def choose_threshold(scores: FloatArray, is_fall: np.ndarray[Any, np.dtype[np.bool_]], target: float) -> float:
    """Return the highest threshold that still calls at least ``target`` of the falls.

    A fall scored NaN was never sent (the trigger missed it) and counts as a miss at any threshold;
    when those misses alone exceed the budget, every sent fall is called.
    """
    falls = scores[is_fall]
    sent = np.sort(falls[~np.isnan(falls)])
    if sent.size == 0:
        return 0.5
    misses = int(np.floor((1.0 - target) * falls.size + 1e-9)) - (falls.size - sent.size)
    return float(sent[max(misses, 0)])


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


def _impacts(data: Dataset, trials: np.ndarray[Any, np.dtype[np.intp]]) -> FloatArray:
    """Return the raw impact magnitude of each fall trial among ``trials``."""
    return np.array([max(data.trials[i].peaks, default=0.0) for i in trials if data.trials[i].trial.is_fall])


def _outcomes(data: Dataset, scores: FloatArray, thresholds: FloatArray) -> list[TrialOutcome]:
    """Judge each trial with its own fold's threshold; NaN scores were never sent."""
    return [
        TrialOutcome(
            tw.trial.key,
            tw.trial.activity,
            tw.trial.is_fall,
            tw.trial.elderly,
            float(scores[i]),
            bool(scores[i] >= thresholds[i]),
            not np.isnan(scores[i]),
        )
        for i, tw in enumerate(data.trials)
    ]


def _fold_trigger(data: Dataset, train: np.ndarray[Any, np.dtype[np.intp]], config: TrainingConfig) -> float:
    """Return the trigger level for a fold: fixed by the configuration, or chosen on its training subjects."""
    if config.trigger_g is not None:
        return config.trigger_g
    return choose_trigger(_impacts(data, np.unique(data.trial_of_row[train])), config.trigger_target)


def _training_trials(data: Dataset, groups: np.ndarray[Any, np.dtype[np.str_]]) -> np.ndarray[Any, np.dtype[np.intp]]:
    """Return the indices of the trials of the given subjects (those without windows included)."""
    wanted = set(groups.tolist())
    return np.array([i for i, tw in enumerate(data.trials) if tw.trial.group in wanted], dtype=np.intp)


def fit_fold(
    data: Dataset, train: np.ndarray[Any, np.dtype[np.intp]], config: TrainingConfig, splits: int
) -> tuple[float, float, Pipeline]:
    """Choose the trigger and the threshold on ``train`` rows only and fit the model behind the trigger."""
    n = len(data.trials)
    trigger_g = _fold_trigger(data, train, config)
    sent = train[data.peak[train] >= trigger_g]
    inner = trial_max(out_of_fold(data, sent, config, splits)[sent], data.trial_of_row[sent], n)
    seen = _training_trials(data, np.unique(data.groups[train]))
    threshold = choose_threshold(inner[seen], _trial_flags(data, seen), config.target_sensitivity)
    return trigger_g, threshold, build_pipeline(config).fit(data.x[sent], data.y[sent])


def nested_cross_validation(data: Dataset, config: TrainingConfig) -> tuple[dict[str, Any], FloatArray]:
    """Measure trigger, model and threshold on held-out subjects; return the figures and each trial's score."""
    n = len(data.trials)
    trial_scores, thresholds, triggers, folds = np.full(n, np.nan), np.full(n, np.nan), np.full(n, np.nan), []
    for k, (train, test) in enumerate(_folds(data, np.arange(len(data.y)), config.n_splits, config.seed)):
        trigger_g, threshold, model = fit_fold(data, train, config, config.inner_splits)
        held = _training_trials(data, np.unique(data.groups[test]))
        sent = test[data.peak[test] >= trigger_g]
        scores = trial_max(model.predict_proba(data.x[sent])[:, 1], data.trial_of_row[sent], n)
        trial_scores[held], thresholds[held], triggers[held] = scores[held], threshold, trigger_g
        fold = outcome_rates([_outcomes(data, trial_scores, thresholds)[i] for i in held])
        folds.append(
            {
                "fold": k,
                "trigger_g": trigger_g,
                "threshold": round(threshold, 4),
                "subjects": len(np.unique(data.groups[test])),
                **fold,
            }
        )
    outcomes = _outcomes(data, trial_scores, thresholds)
    figures = {
        "folds": folds,
        "overall": outcome_rates(outcomes),
        **stage_rates(outcomes, float(np.nanmedian(triggers))),
        "false_alarms_by_activity": false_alarms_by_activity(outcomes),
        "by_source": _by_source(data, outcomes),
    }
    return figures, trial_scores


def _by_source(data: Dataset, outcomes: list[TrialOutcome]) -> dict[str, Any]:
    sources = sorted({tw.trial.source for tw in data.trials})
    return {
        s: outcome_rates([o for o, tw in zip(outcomes, data.trials, strict=True) if tw.trial.source == s])
        for s in sources
    }


def operating_points(
    scores: FloatArray, is_fall: np.ndarray[Any, np.dtype[np.bool_]], elderly: np.ndarray[Any, np.dtype[np.bool_]]
) -> list[dict[str, float]]:
    """Return the system's trade-off on held-out scores: specificity at several sensitivities."""
    points = []
    for target in (0.80, 0.85, 0.90, 0.95, 0.98):
        thr = choose_threshold(scores, is_fall, target)
        called = scores >= thr  # NaN (never sent) is never called
        points.append(
            {
                "target_sensitivity": target,
                "threshold": round(thr, 4),
                **{k: v for k, v in rates(is_fall, elderly, called).items() if k.startswith(("sens", "spec"))},
            }
        )
    return points


def trigger_sweep(trials: Sequence[TrialWindows], levels: Sequence[float] = (1.5, 1.8, 2.0, 2.5, 3.0)) -> list[Any]:
    """Describe what each trigger level sends: the share of falls and of (older people's) activities."""
    falls = [tw for tw in trials if tw.trial.is_fall]
    adls = [tw for tw in trials if not tw.trial.is_fall]
    old = [tw for tw in adls if tw.trial.elderly]

    def share(group: list[TrialWindows], g: float) -> float:
        return round(sum(bool(tw.sent(g)) for tw in group) / max(len(group), 1), 4)

    return [
        {"trigger_g": g, "falls_sent": share(falls, g), "adls_sent": share(adls, g), "adls_elderly_sent": share(old, g)}
        for g in levels
    ]


def rule_figures(trials: Sequence[TrialWindows], rule: ThresholdFallRule, trigger_g: float) -> dict[str, Any]:
    """Return the fixed rule's system figures behind the trigger (nothing is fitted: all trials are held out)."""
    return {"parameters": asdict(rule), **outcome_rates(judge_trials(rule, trials, trigger_g))}


def train_fall_model(data_dir: Path, config: TrainingConfig | None = None) -> TrainingResult:
    """Build the classifier from a ``falls`` folder, with its cross-validated report."""
    config = config or TrainingConfig()
    data = build_dataset(list(iter_trial_windows(data_dir)))
    cv, held_out = nested_cross_validation(data, config)
    trigger_g, threshold, pipeline = fit_fold(data, np.arange(len(data.y)), config, config.n_splits)
    flags = _trial_flags(data, np.arange(len(data.trials)))
    report = _report(data, config, cv, threshold, rule_figures(data.trials, ThresholdFallRule(), trigger_g))
    report["trigger_g"] = trigger_g
    report["trigger_sweep"] = trigger_sweep(data.trials)
    report["operating_points"] = operating_points(held_out, flags, np.array([tw.trial.elderly for tw in data.trials]))
    metadata = {
        "trained_trials": sorted(tw.trial.key for tw in data.trials),
        "cross_validated": {**cv["overall"], "classifier_only": cv["classifier_only"], "trigger": cv["trigger"]},
        "config": asdict(config),
        "sklearn_version": sklearn.__version__,
    }
    classifier = FallClassifier(pipeline, threshold, metadata, ImpactTrigger(peak_g=trigger_g))
    return TrainingResult(classifier, report)


_MODEL_NAMES: Final = {
    "kernels": "MiniRocket-style random-kernel features (`alerts.fall_kernels`), standardised, into a "
    "LogisticRegression",
    "hgb": "HistGradientBoostingClassifier",
    "extra_trees": "ExtraTreesClassifier",
}


def _report(
    data: Dataset, config: TrainingConfig, cv: dict[str, Any], threshold: float, rule: dict[str, Any]
) -> dict[str, Any]:
    """Assemble the report written beside the model."""
    trigger = (
        f"fixed at {config.trigger_g} g"
        if config.trigger_g is not None
        else f"highest level on 1.5–3.0 g firing on >= {config.trigger_target} of the training subjects' falls"
    )
    return {
        "model": f"{_MODEL_NAMES[config.model]} (class weights balanced) in a scikit-learn Pipeline",
        "features": _feature_summary(config),
        "windowing": {
            "rate_hz": MODEL_RATE_HZ,
            "pre_s": PRE_S,
            "post_s": POST_S,
            "fall": "one window centred on the impact (largest raw magnitude in fall_start_s..fall_end_s, else "
            "anywhere); sent only if that magnitude reaches the trigger",
            "adl": f"a window around every raw peak >= {MIN_TRIGGER_G} g, peaks at least 2 s apart; sent only "
            "if the peak reaches the trigger",
        },
        "data": {
            "windows": len(data.y),
            "subjects": len(np.unique(data.groups)),
            **{k: v for k, v in rates(*_trial_arrays(data)).items() if not k.startswith(("sens", "spec"))},
        },
        "elderly": f"SmartFallMM age 'old', or an age of {ELDERLY_AGE} and over (UMAFall)",
        "validation": f"GroupKFold by source/subject, {config.n_splits} outer folds; trigger: {trigger}; "
        f"classifier trained on the windows the trigger sends; threshold chosen in {config.inner_splits} inner "
        f"subject-wise folds for system sensitivity >= {config.target_sensitivity} (trigger misses counted)",
        "cross_validated": cv,
        "threshold": round(threshold, 4),
        "threshold_rule_on_all_trials": rule,
        "config": asdict(config),
        "versions": {"python": platform.python_version(), "scikit-learn": sklearn.__version__, "numpy": np.__version__},
        "citation": CITATION,
    }


def _feature_summary(config: TrainingConfig) -> list[str]:
    """Return the names of the model's inputs (the signals summarised, not sample by sample)."""
    if config.model != "kernels":
        return list(HAND_FEATURE_NAMES)
    return [f"{name} signal ({SIGNAL_SAMPLES} samples, peak-aligned)" for name in SIGNAL_NAMES]


def _trial_arrays(data: Dataset) -> tuple[np.ndarray[Any, np.dtype[np.bool_]], ...]:
    """Return per-trial fall flags, older-person flags and an all-false call vector."""
    flags = np.array([tw.trial.is_fall for tw in data.trials], dtype=bool)
    return flags, np.array([tw.trial.elderly for tw in data.trials], dtype=bool), np.zeros_like(flags)


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
