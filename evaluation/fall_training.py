"""Train the staged fall classifier and choose it by how it holds on a device it has never seen.

Windows come from `evaluation.fall_data` (one impact-centred window per fall, a window around every
trigger-worthy peak of every everyday activity), each with the conditioned magnitude of its peak, and
augmented copies for training (`evaluation.fall_augment`: rate, gain, noise, orientation, clipping).

**Selection is by device** (`leave_one_source_out`): each source is a device; train on the others, score
it. Inside every outer fold, from the training sources only:

1. the trigger level: the highest on `TRIGGER_GRID_G` still firing on ``trigger_target`` of their falls;
2. the two platform stages (`build_stage_pipelines`), fitted on the windows that level sends, augmented
   copies included: the impact model (`IMPACT_FEATURE_NAMES`) and the whole-window model (the seconds
   after the impact included);
3. the thresholds, from inner folds of the training part — subject-wise over all its sources, or
   leave-one-source-out among them (``threshold_folds``, itself a candidate dimension): the impact stage
   keeps ``impact_keep`` of their falls, the whole-window stage ``target_sensitivity`` — trigger and
   impact-stage misses counted — each lowered halfway to the next activity's score.

Each candidate of `CANDIDATES` is scored this way; the one whose worst left-out source is best (the
smaller of its sensitivity and specificity) is shipped: trained on every source, with the trigger chosen
on all falls and thresholds chosen the candidate's way on out-of-fold scores of all sources: the
default for a bracelet model without a calibration of its own.
Subject-wise nested cross-validation (`subject_cross_validation`) stays as a secondary figure.
"""

from __future__ import annotations

import json
import platform
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Final

import numpy as np
import numpy.typing as npt
import sklearn
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import ExtraTreesClassifier, HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GroupKFold
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from alerts.fall_kernels import KernelFeatures
from alerts.fall_model import (
    HAND_FEATURE_NAMES,
    IMPACT_FEATURE_NAMES,
    MIN_TRIGGER_G,
    FallClassifier,
    FloatArray,
    ImpactTrigger,
)
from evaluation.fall_augment import augmented_window
from evaluation.fall_data import TrialWindows, features_of, iter_trial_windows
from evaluation.fall_eval import (
    TrialOutcome,
    choose_threshold,
    choose_trigger,
    summary,
    with_margin,
)
from evaluation.fall_report import report_markdown

IntArray = npt.NDArray[np.intp]
BoolArray = npt.NDArray[np.bool_]

CITATION: Final = (
    'UMAFall — Casilari, Santoyo-Ramón and Cano-García, "UMAFall: A Multisensor Dataset for the Research '
    'on Automatic Fall Detection", Procedia Computer Science 110 (2017); SmartFallMM — Texas State '
    'University SmartFall group (public data set); FallAllD — Saleh and Le Bouquin Jeannès, "FallAllD: A '
    'Comprehensive Dataset of Human Falls and Activities of Daily Living", IEEE DataPort (2020), '
    "doi:10.21227/bnya-mn34."
)


@dataclass(frozen=True, slots=True)
class TrainingConfig:
    """Hyperparameters of the model and of its measurement."""

    n_splits: int = 5  # subject-wise folds of the secondary figure
    inner_splits: int = 3
    target_sensitivity: float = 0.95
    impact_keep: float = 0.99  # share of falls the impact stage lets through to the post-impact stage
    trigger_target: float = 0.97
    trigger_g: float | None = None  # fixed trigger level; None chooses it by ``trigger_target``
    # the whole-window stage: "extra_trees" or "hgb" on the hand features, or "kernels" (logistic
    # regression on random-kernel features of the window's signals, `alerts.fall_kernels`)
    model: str = "extra_trees"
    augment: int = 2  # augmented copies of each training window
    balance_sources: bool = False  # each source's falls and activities weigh alike in training
    # how the thresholds of a fold are chosen on its training part: "source" (inner leave-one-source-out)
    # or "subject" (inner subject-wise folds over all its sources); the outer leave-one-source-out decides
    threshold_folds: str = "subject"
    n_estimators: int = 100
    min_samples_leaf: int = 20
    max_features: float | str = "sqrt"
    c: float = 0.0003
    seed: int = 0


# Chosen among by the worst left-out source (`select`); kept small: each costs a leave-one-source-out run.
CANDIDATES: Final = (
    TrainingConfig(),
    TrainingConfig(balance_sources=True),
    TrainingConfig(model="hgb"),
    TrainingConfig(threshold_folds="source"),
)


@dataclass(frozen=True, slots=True)
class Dataset:
    """Windows as rows (real ones, and augmented ones for training), with the trial each came from."""

    trials: list[TrialWindows]
    x: FloatArray
    trial_of_row: IntArray
    peak: FloatArray  # conditioned magnitude of each window's peak: which trigger levels send it
    xa: FloatArray
    trial_of_arow: IntArray
    peak_a: FloatArray
    extra: IntArray = field(default_factory=lambda: np.empty(0, dtype=np.intp))  # trained on always, never scored

    @property
    def is_fall(self) -> BoolArray:
        """Return each trial's label."""
        return np.array([tw.trial.is_fall for tw in self.trials], dtype=bool)

    @property
    def sources(self) -> npt.NDArray[np.str_]:
        """Return each trial's source (its device)."""
        return np.array([tw.trial.source for tw in self.trials])

    @property
    def groups(self) -> npt.NDArray[np.str_]:
        """Return each trial's subject."""
        return np.array([tw.trial.group for tw in self.trials])

    @property
    def scored(self) -> IntArray:
        """Return the trials that are evaluated (all but the extra ones)."""
        return np.setdiff1d(np.arange(len(self.trials)), self.extra).astype(np.intp)


@dataclass(frozen=True, slots=True)
class Stages:
    """A fitted staged system: trigger level, the two models and their thresholds."""

    trigger_g: float
    impact_threshold: float
    threshold: float
    impact: Pipeline
    whole: Pipeline


@dataclass(frozen=True, slots=True)
class TrainingResult:
    """The fitted classifier and the report about it."""

    classifier: FallClassifier
    report: dict[str, Any] = field(default_factory=dict)


# --- data ---------------------------------------------------------------------------------------


def build_dataset(
    trials: Sequence[TrialWindows], augment: int = 0, seed: int = 0, extra: Sequence[TrialWindows] = ()
) -> Dataset:
    """Stack every trial's windows, and ``augment`` augmented copies of each, into feature matrices.

    ``extra`` trials (the desk's labelled outcomes) join every training part and are never scored.
    """
    trials = [*trials, *extra]
    rows = [features_of(tw.windows) for tw in trials]
    counts = [len(r) for r in rows]
    rng = np.random.default_rng(seed)
    copies: list[tuple[int, FloatArray, float]] = []
    for _ in range(augment):
        for i, tw in enumerate(trials):
            copies += [(i, *made) for raw in tw.raw if (made := augmented_window(raw, rng)) is not None]
    return Dataset(
        trials=list(trials),
        x=np.vstack(rows) if rows else np.empty((0, 0)),
        trial_of_row=np.repeat(np.arange(len(trials)), counts).astype(np.intp),
        peak=np.concatenate([np.asarray(tw.peaks, dtype=np.float64) for tw in trials]) if trials else np.empty(0),
        xa=features_of([c[1] for c in copies]),
        trial_of_arow=np.array([c[0] for c in copies], dtype=np.intp),
        peak_a=np.array([c[2] for c in copies], dtype=np.float64),
        extra=np.arange(len(trials) - len(extra), len(trials), dtype=np.intp),
    )


# --- models -------------------------------------------------------------------------------------


def _trees(config: TrainingConfig) -> Any:
    """Return the tree ensemble of a stage."""
    if config.model == "hgb":
        return HistGradientBoostingClassifier(
            max_iter=200,
            learning_rate=0.05,
            max_leaf_nodes=15,
            min_samples_leaf=20,
            l2_regularization=1.0,
            class_weight="balanced",
            random_state=config.seed,
        )
    return ExtraTreesClassifier(
        n_estimators=config.n_estimators,
        min_samples_leaf=config.min_samples_leaf,
        max_features=config.max_features,
        class_weight="balanced",  # several ADL windows per trial outnumber the falls
        random_state=config.seed,
        n_jobs=1,
    )


def build_stage_pipelines(config: TrainingConfig) -> tuple[Pipeline, Pipeline]:
    """Return the unfitted impact and whole-window pipelines; both take full feature rows and cope with NaN."""
    impact_cols = ColumnTransformer([("impact", "passthrough", list(range(len(IMPACT_FEATURE_NAMES))))])
    impact = Pipeline([("columns", impact_cols), ("model", _trees(replace(config, model="hgb")))])  # small, fast
    if config.model == "kernels":
        whole = Pipeline(
            [
                ("kernels", KernelFeatures(first_column=len(HAND_FEATURE_NAMES), seed=config.seed)),
                ("scale", StandardScaler()),
                ("model", LogisticRegression(C=config.c, class_weight="balanced", max_iter=3000)),
            ]
        )
    else:
        hand_cols = ColumnTransformer([("hand", "passthrough", list(range(len(HAND_FEATURE_NAMES))))])
        whole = Pipeline([("columns", hand_cols), ("model", _trees(config))])
    return impact, whole


def _rows(data: Dataset, trials: IntArray, trigger_g: float) -> tuple[FloatArray, BoolArray, IntArray]:
    """Return the training rows of ``trials`` the trigger sends (augmented copies included), labels and trials."""
    chosen = np.isin(data.trial_of_row, trials) & (data.peak >= trigger_g)
    extra = np.isin(data.trial_of_arow, trials) & (data.peak_a >= trigger_g)
    x = np.vstack([data.x[chosen], data.xa[extra]]) if extra.any() else data.x[chosen]
    rows = np.concatenate([data.trial_of_row[chosen], data.trial_of_arow[extra]])
    return x, data.is_fall[rows], rows


def _source_weights(data: Dataset, rows: IntArray, y: BoolArray) -> FloatArray:
    """Weigh rows so that every source's falls and every source's activities count alike (classes balanced too)."""
    keys = np.char.add(data.sources[rows].astype(str), np.where(y, "|fall", "|adl"))
    _, inverse, counts = np.unique(keys, return_inverse=True, return_counts=True)
    weights = 1.0 / counts[inverse]
    return np.asarray(weights * len(rows) / weights.sum(), dtype=np.float64)


def fit_models(data: Dataset, trials: IntArray, trigger_g: float, config: TrainingConfig) -> tuple[Pipeline, Pipeline]:
    """Fit both stages on the windows of ``trials`` (and the extra trials) that the trigger sends."""
    x, y, rows = _rows(data, np.union1d(trials, data.extra), trigger_g)
    impact, whole = build_stage_pipelines(config)
    if not config.balance_sources:
        return impact.fit(x, y), whole.fit(x, y)
    weights = _source_weights(data, rows, y)
    return impact.fit(x, y, model__sample_weight=weights), whole.fit(x, y, model__sample_weight=weights)


def window_scores(
    models: tuple[Pipeline, Pipeline], data: Dataset, trials: IntArray, trigger_g: float
) -> tuple[FloatArray, FloatArray]:
    """Return both stages' scores of every real window of ``trials`` the trigger sends (NaN elsewhere)."""
    impact, whole = np.full(len(data.peak), np.nan), np.full(len(data.peak), np.nan)
    sent = np.flatnonzero(np.isin(data.trial_of_row, trials) & (data.peak >= trigger_g))
    if sent.size:
        impact[sent] = fall_probability(models[0], data.x[sent])
        whole[sent] = fall_probability(models[1], data.x[sent])
    return impact, whole


def fall_probability(model: Pipeline, x: FloatArray) -> FloatArray:
    """Return the probability of the fall class (0 or 1 throughout where training saw only one class)."""
    classes = list(model.classes_)
    if True not in classes:
        return np.zeros(len(x))
    return np.asarray(model.predict_proba(x)[:, classes.index(True)], dtype=np.float64)


# --- choosing levels ------------------------------------------------------------------------------


def trial_max(row_scores: FloatArray, trial_of_row: IntArray, n: int) -> FloatArray:
    """Return each trial's highest window score (NaN for trials without a scored window)."""
    out = np.full(n, -np.inf)
    ok = ~np.isnan(row_scores)
    np.maximum.at(out, trial_of_row[ok], row_scores[ok])
    return np.where(np.isinf(out), np.nan, out)


def choose_thresholds(
    data: Dataset, impact: FloatArray, whole: FloatArray, trials: IntArray, config: TrainingConfig
) -> tuple[float, float]:
    """Choose the impact stage's and the whole-window stage's thresholds from out-of-fold window scores."""
    n, falls = len(data.trials), data.is_fall[trials]
    impact_trials = trial_max(impact, data.trial_of_row, n)[trials]
    impact_threshold = with_margin(choose_threshold(impact_trials, falls, config.impact_keep), impact_trials, falls)
    passed = trial_max(np.where(impact >= impact_threshold, whole, np.nan), data.trial_of_row, n)[trials]
    threshold = with_margin(choose_threshold(passed, falls, config.target_sensitivity), passed, falls)
    return impact_threshold, threshold


# --- folds --------------------------------------------------------------------------------------

Splitter = Callable[[Dataset, IntArray, TrainingConfig], list[tuple[IntArray, IntArray]]]


def by_subject(
    data: Dataset, trials: IntArray, config: TrainingConfig, splits: int | None = None
) -> list[tuple[IntArray, IntArray]]:
    """Split ``trials`` subject-wise, never into more folds than subjects."""
    groups = data.groups[trials]
    k = min(splits or config.inner_splits, len(np.unique(groups)))
    if k < 2:
        return []
    cv = GroupKFold(n_splits=k, shuffle=True, random_state=config.seed)
    return [(trials[a], trials[b]) for a, b in cv.split(trials, groups=groups)]


def by_source(data: Dataset, trials: IntArray, config: TrainingConfig) -> list[tuple[IntArray, IntArray]]:
    """Split ``trials`` one source out at a time; subject-wise where there is only one source."""
    sources = data.sources[trials]
    names = sorted(set(sources.tolist()))
    if len(names) < 2:
        return by_subject(data, trials, config)
    return [(trials[sources != s], trials[sources == s]) for s in names]


def fit_stages(
    data: Dataset, train: IntArray, config: TrainingConfig, inner: Splitter
) -> tuple[Stages, FloatArray, FloatArray]:
    """Choose the trigger (on `TRIGGER_GRID_G`) and thresholds on ``train`` (inner folds: ``inner``); fit both stages.

    Also return the inner out-of-fold window scores (impact, whole) the thresholds were chosen on.
    """
    falls = train[data.is_fall[train]]
    impacts = np.array([max(data.trials[i].peaks, default=0.0) for i in falls])
    trigger_g = config.trigger_g if config.trigger_g is not None else choose_trigger(impacts, config.trigger_target)
    impact, whole = np.full(len(data.peak), np.nan), np.full(len(data.peak), np.nan)
    for a, b in inner(data, train, config):
        got = window_scores(fit_models(data, a, trigger_g, config), data, b, trigger_g)
        scored = ~np.isnan(got[0])
        impact[scored], whole[scored] = got[0][scored], got[1][scored]
    impact_threshold, threshold = choose_thresholds(data, impact, whole, train, config)
    models = fit_models(data, train, trigger_g, config)
    return Stages(trigger_g, impact_threshold, threshold, *models), impact, whole


def judge(data: Dataset, stages: Stages, impact: FloatArray, whole: FloatArray, trials: IntArray) -> list[TrialOutcome]:
    """Judge ``trials`` as a system from their window scores (NaN: never sent) and the stages' levels."""
    outcomes = []
    for i in trials:
        rows = np.flatnonzero(data.trial_of_row == i)
        si, sw = impact[rows], whole[rows]
        sent = ~np.isnan(si) & (data.peak[rows] >= stages.trigger_g)
        passed = sent & (si >= stages.impact_threshold)
        called = passed & (sw >= stages.threshold)
        tw = data.trials[i]
        outcomes.append(
            TrialOutcome(
                tw.trial.key,
                tw.trial.activity,
                tw.trial.is_fall,
                tw.trial.elderly,
                float(np.nanmax(sw[sent])) if sent.any() else float("nan"),
                bool(called.any()),
                bool(sent.any()),
                bool(passed.any()),
                int(called.sum()),
                tw.duration_s,
                tw.trial.source,
            )
        )
    return outcomes


def run_folds(
    data: Dataset,
    config: TrainingConfig,
    outer: list[tuple[IntArray, IntArray]],
    inner: Splitter,
    label: Callable[[IntArray], str],
) -> dict[str, Any]:
    """Fit on each outer training part, judge its held-out part; return the figures and the held-out scores."""
    outcomes: dict[int, TrialOutcome] = {}
    held_impact, held_whole = np.full(len(data.peak), np.nan), np.full(len(data.peak), np.nan)
    folds: list[dict[str, Any]] = []
    trade: dict[float, dict[int, TrialOutcome]] = {t: {} for t in OPERATING_TARGETS}
    for train, test in outer:
        stages, inner_impact, inner_whole = fit_stages(data, train, config, inner)
        impact, whole = window_scores((stages.impact, stages.whole), data, test, MIN_TRIGGER_G)
        fold = judge(data, stages, impact, whole, test)
        outcomes.update(zip(test.tolist(), fold, strict=True))
        for target in OPERATING_TARGETS:  # the same fold at other sensitivity targets: thresholds from its inner scores
            other = replace(config, target_sensitivity=target)
            levels_at = choose_thresholds(data, inner_impact, inner_whole, train, other)
            at = judge(
                data, replace(stages, impact_threshold=levels_at[0], threshold=levels_at[1]), impact, whole, test
            )
            trade[target].update(zip(test.tolist(), at, strict=True))
        scored = ~np.isnan(impact)
        held_impact[scored], held_whole[scored] = impact[scored], whole[scored]
        levels = {
            "trigger_g": stages.trigger_g,
            "impact_threshold": round(stages.impact_threshold, 4),
            "threshold": round(stages.threshold, 4),
        }
        calibrated = calibrated_on_own_subjects(data, stages, impact, whole, test, config)
        folds.append({"held_out": label(test), **levels, **summary(fold), "calibrated": calibrated})
    ordered = [outcomes[i] for i in sorted(outcomes)]
    return {
        "folds": folds,
        "overall": summary(ordered),
        "operating_points": [_operating_point(t, [got[i] for i in sorted(got)]) for t, got in trade.items()],
        "_impact": held_impact,
        "_whole": held_whole,
        "_outcomes": ordered,
    }


OPERATING_TARGETS: Final = (0.80, 0.85, 0.90, 0.95)


def calibrated_on_own_subjects(
    data: Dataset, stages: Stages, impact: FloatArray, whole: FloatArray, test: IntArray, config: TrainingConfig
) -> dict[str, Any]:
    """Return the held-out device's figures with a calibration from its own recordings, cross-fitted by subject.

    What `evaluation.fall_eval.calibrate` does for a bracelet model, measured honestly: the device's subjects
    are split in two; the trigger and the post-impact threshold are chosen on one half's recordings (the
    models stay as trained on the other devices; the impact stage is never made stricter) and judged on the
    other half, and the other way round.
    """
    subjects = np.unique(data.groups[test])
    halves = [test[np.isin(data.groups[test], subjects[k::2])] for k in (0, 1)]
    if min(len(h) for h in halves) == 0:
        return {}
    outcomes: list[TrialOutcome] = []
    for own, other in (halves, halves[::-1]):
        falls = own[data.is_fall[own]]
        if falls.size == 0:
            outcomes += judge(data, stages, impact, whole, other)
            continue
        trigger_g = choose_trigger(
            np.array([max(data.trials[i].peaks, default=0.0) for i in falls]), config.trigger_target
        )
        below = data.peak < trigger_g
        impact_threshold, threshold = choose_thresholds(
            data, np.where(below, np.nan, impact), np.where(below, np.nan, whole), own, config
        )
        levels = replace(
            stages,
            trigger_g=trigger_g,
            impact_threshold=min(impact_threshold, stages.impact_threshold),
            threshold=threshold,
        )
        outcomes += judge(data, levels, impact, whole, other)
    return {k: v for k, v in summary(outcomes).items() if k in _HEADLINE}


def _operating_point(target: float, outcomes: list[TrialOutcome]) -> dict[str, Any]:
    """Return the held-out figures, overall and per source, when the thresholds aim at ``target`` sensitivity."""
    sources = sorted({o.source for o in outcomes})
    per = {s: summary([o for o in outcomes if o.source == s]) for s in sources}
    return {
        "target_sensitivity": target,
        **{k: v for k, v in summary(outcomes).items() if k in _HEADLINE},
        "per_source": {s: {k: f[k] for k in _HEADLINE} for s, f in per.items()},
    }


def leave_one_source_out(data: Dataset, config: TrainingConfig) -> dict[str, Any]:
    """Train on all sources but one, score that one, for every source; figures per left-out source and the worst."""
    outer = by_source(data, data.scored, config)
    inner = by_source if config.threshold_folds == "source" else by_subject
    result = run_folds(data, config, outer, inner, lambda test: "+".join(sorted(set(data.sources[test].tolist()))))
    result["per_source"] = {fold["held_out"]: fold for fold in result["folds"]}
    result["worst"] = worst_source(result["per_source"])
    return result


def worst_source(per_source: dict[str, Any]) -> dict[str, Any]:
    """Return the worst left-out source's figures: the one whose smaller of sensitivity and specificity is lowest."""
    if not per_source:
        return {}

    def key(item: tuple[str, Any]) -> float:
        figures = item[1]
        sensitivity, specificity = figures["sensitivity"], figures["specificity"]  # None: no trials of that kind
        return min(1.0 if sensitivity is None else sensitivity, 1.0 if specificity is None else specificity)

    name, figures = min(per_source.items(), key=key)
    return {
        "source": name,
        "criterion": round(key((name, figures)), 4),
        **{k: figures[k] for k in _HEADLINE if k in figures},
    }


_HEADLINE: Final = ("sensitivity", "specificity", "specificity_elderly", "false_alarms_per_hour")


def subject_cross_validation(data: Dataset, config: TrainingConfig) -> dict[str, Any]:
    """Nested subject-wise cross-validation (secondary figure): subjects held out, devices seen."""
    outer = by_subject(data, data.scored, config, config.n_splits)
    return run_folds(data, config, outer, by_subject, lambda test: f"{len(np.unique(data.groups[test]))} subjects")


def select(
    data: Dataset, candidates: Sequence[TrainingConfig]
) -> tuple[TrainingConfig, dict[str, Any], list[dict[str, Any]]]:
    """Run leave-one-source-out for every candidate; return the best by its worst source, its run and the table."""
    table, best = [], None
    for config in candidates:
        run = leave_one_source_out(data, config)
        table.append(
            {
                "config": _config_summary(config),
                "worst": run["worst"],
                "per_source": {s: {k: f[k] for k in _HEADLINE} for s, f in run["per_source"].items()},
            }
        )
        if best is None or run["worst"].get("criterion", 0.0) > best[1]["worst"].get("criterion", 0.0):
            best = (config, run)
    assert best is not None
    return best[0], best[1], table


def _config_summary(config: TrainingConfig) -> dict[str, Any]:
    keys = ("model", "threshold_folds", "balance_sources", "trigger_g", "trigger_target", "min_samples_leaf")
    return {k: getattr(config, k) for k in keys}


# --- the shipped model ----------------------------------------------------------------------------


def train_fall_model(
    data_dir: Path,
    config: TrainingConfig | None = None,
    candidates: Sequence[TrainingConfig] | None = None,
    extra: Sequence[TrialWindows] = (),
) -> TrainingResult:
    """Choose the configuration by leave-one-source-out, train it on every source, and report both figures.

    ``candidates`` default to ``config`` alone; ``extra`` trials (the desk's outcomes) are trained on in
    every fold and in the shipped model, never scored.
    """
    base = config or TrainingConfig()
    pool = list(candidates) if candidates is not None else [base]
    data = build_dataset(list(iter_trial_windows(data_dir)), max(c.augment for c in pool), base.seed, extra)
    chosen, loso, table = select(data, pool)
    subject = subject_cross_validation(data, chosen)
    everything = data.scored
    falls = everything[data.is_fall[everything]]
    impacts = np.array([max(data.trials[i].peaks, default=0.0) for i in falls])
    trigger_g = chosen.trigger_g if chosen.trigger_g is not None else choose_trigger(impacts, chosen.trigger_target)
    # thresholds the way the chosen configuration chooses them, on out-of-fold scores of every source:
    # out-of-source (leave-one-source-out) or out-of-subject, of the windows the final trigger sends
    held = loso if chosen.threshold_folds == "source" else subject
    below = data.peak < trigger_g
    impact_threshold, threshold = choose_thresholds(
        data, np.where(below, np.nan, held["_impact"]), np.where(below, np.nan, held["_whole"]), everything, chosen
    )
    impact_model, whole_model = fit_models(data, everything, trigger_g, chosen)
    report = _report(data, chosen, loso, subject, table) | {"extra_trials": len(data.extra)}
    report |= {"trigger_g": trigger_g, "impact_threshold": round(impact_threshold, 4), "threshold": round(threshold, 4)}
    metadata = {
        "trained_trials": sorted(tw.trial.key for tw in data.trials),
        "leave_one_source_out": _public(loso),
        "cross_validated": _public(subject)["overall"],
        "config": asdict(chosen),
        "sklearn_version": sklearn.__version__,
    }
    classifier = FallClassifier(
        whole_model, threshold, metadata, ImpactTrigger(peak_g=trigger_g), impact_model, impact_threshold
    )
    return TrainingResult(classifier, report)


def _public(run: dict[str, Any]) -> dict[str, Any]:
    """Return a fold run without its private arrays."""
    return {k: v for k, v in run.items() if not k.startswith("_")}


def _report(
    data: Dataset, config: TrainingConfig, loso: dict[str, Any], subject: dict[str, Any], table: list[dict[str, Any]]
) -> dict[str, Any]:
    """Assemble the report written beside the model."""
    is_fall = data.is_fall
    return {
        "model": "two scikit-learn Pipelines: HistGradientBoosting on the impact features, then "
        f"{config.model} on every hand feature (the seconds after the impact included)",
        "selection": "leave-one-source-out: the candidate whose worst left-out source has the highest "
        "min(sensitivity, specificity)",
        "candidates": table,
        "leave_one_source_out": _public(loso),
        "subject_cross_validation": _public(subject),
        "data": {
            "trials": len(data.trials),
            "falls": int(is_fall.sum()),
            "adls": int((~is_fall).sum()),
            "windows": len(data.peak),
            "augmented_windows": len(data.peak_a),
            "sources": sorted(set(data.sources.tolist())),
            "subjects": len(np.unique(data.groups)),
        },
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
    json_path.write_text(json.dumps(result.report, indent=2, ensure_ascii=False, default=_plain) + "\n")
    md_path.write_text(report_markdown(result.report))


def _plain(value: Any) -> Any:
    """Turn numpy scalars into JSON numbers."""
    return value.item() if hasattr(value, "item") else str(value)
