"""Fall detection in stages: the bracelet's trigger on a conditioned signal, then the impact and post-impact models."""

from __future__ import annotations

import csv
import logging
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

from alerts.fall_model import (
    DEFAULT_MODEL_PATH,
    FEATURE_NAMES,
    IMPACT_TRIGGER_G,
    MIN_TRIGGER_G,
    MODEL_RATE_HZ,
    POST_S,
    PRE_S,
    SATURATION_G,
    Calibration,
    FallClassifier,
    ImpactTrigger,
    ThresholdFallRule,
    dejitter,
    impact_features,
    load_fall_classifier,
    magnitudes,
    resample,
    saturate,
    triggers,
)
from evaluation.fall_data import Trial, TrialWindows, iter_trial_windows, read_trials
from evaluation.fall_eval import (
    calibrate,
    choose_threshold,
    choose_trigger,
    evaluate_falls,
    judge_trials,
    outcome_rates,
    stage_pass_rates,
    trigger_of,
)
from evaluation.fall_training import TrainingConfig, report_paths, save, train_fall_model
from gateway.contract import ImpactEvent
from simulators.signals import impact_window

RATE = 50.0


def _quiet(seconds: float, gravity: tuple[float, float, float], rng: np.random.Generator, noise: float = 0.02):
    n = round(seconds * RATE)
    return np.asarray(gravity) + rng.normal(0.0, noise, (n, 3))


def synthetic_fall(rng: np.random.Generator) -> np.ndarray:
    """Stand still, drop in free fall, hit the floor hard, lie still on the side."""
    stand = _quiet(4.0, (0.0, 0.0, 1.0), rng)
    dip = np.linspace(1.0, 0.15, round(0.35 * RATE))[:, None] * np.array([0.0, 0.2, 0.98])
    spike = np.array([[2.5, 1.0, 4.0], [4.0, 2.0, 5.0], [1.5, 0.5, 2.0]])
    lie = _quiet(6.0, (1.0, 0.0, 0.0), rng, noise=0.015)
    return np.vstack([stand, dip, spike, lie])


def synthetic_walk_and_sit(rng: np.random.Generator) -> np.ndarray:
    """Walk at two steps a second, then sit down gently and stay seated."""
    t = np.arange(round(6.0 * RATE)) / RATE
    walk = np.column_stack(
        [0.15 * np.sin(2 * np.pi * 1 * t), 0.1 * np.cos(2 * np.pi * 2 * t), 1.0 + 0.35 * np.sin(2 * np.pi * 2 * t)]
    )
    sit = np.linspace(1.0, 0.8, round(0.4 * RATE))[:, None] * np.array([0.0, 0.0, 1.0])
    land = np.array([[0.1, 0.1, 1.4], [0.1, 0.1, 1.3]])
    seated = _quiet(4.0, (0.3, 0.0, 0.95), rng)
    return np.vstack([walk + rng.normal(0, 0.02, walk.shape), sit, land, seated])


def synthetic_bump_and_walk(rng: np.random.Generator) -> np.ndarray:
    """Walk, knock the wrist on a table hard enough to fire the trigger, and walk on: a hard negative."""
    t = np.arange(round(4.0 * RATE)) / RATE
    walk = np.column_stack([0.1 * np.sin(2 * np.pi * t), np.zeros_like(t), 1.0 + 0.3 * np.sin(2 * np.pi * 2 * t)])
    bump = np.array([[0.5, 0.3, 2.4], [0.3, 0.2, 1.8]])
    return np.vstack([walk, bump, walk, walk]) + rng.normal(0, 0.02, (2 + 3 * len(walk), 3))


def feature(window: np.ndarray, name: str) -> float:
    return float(impact_features(window, RATE)[FEATURE_NAMES.index(name)])


# --- resampling -------------------------------------------------------------------------------


def test_resample_irregular_timestamps_lands_on_an_even_grid() -> None:
    rng = np.random.default_rng(1)
    t = np.concatenate(([0.0], np.cumsum(rng.uniform(0.06, 0.2, 40))))  # sparser than the 20 Hz grid
    xyz = np.column_stack([t, 0.5 * t, np.ones_like(t)])
    out = resample(t[::-1], xyz[::-1], 20.0)  # order of arrival must not matter
    n = int(t[-1] * 20.0 + 1e-9) + 1
    assert out.shape == (n, 3)
    # each output sample is the largest of its period's fine samples: at most half a period (25 ms) off
    np.testing.assert_allclose(out[:-1, 0], np.arange(n - 1) / 20.0, atol=0.025 + 1e-9)
    np.testing.assert_allclose(out[:-1, 1], 0.5 * np.arange(n - 1) / 20.0, atol=0.0125 + 1e-9)


def test_dejitter_spreads_batched_delivery_stamps() -> None:
    batches = np.repeat(np.arange(0.0, 2.0, 0.1), 3) + np.tile([0.0, 0.001, 0.002], 20)
    fixed = dejitter(batches)
    np.testing.assert_allclose(np.diff(fixed), np.diff(fixed)[0])
    honest = np.cumsum(np.full(50, 0.05))
    np.testing.assert_array_equal(dejitter(honest), honest)


def _pulse(rate_hz: float, seconds: float = 4.0, at_s: float = 2.013) -> tuple[np.ndarray, np.ndarray]:
    """Return a 4 g impact of about 80 ms on gravity, sampled at ``rate_hz``."""
    t = np.arange(round(seconds * rate_hz)) / rate_hz
    xyz = np.tile([0.0, 0.0, 1.0], (len(t), 1))
    xyz[:, 1] += 4.0 * np.exp(-0.5 * ((t - at_s) / 0.035) ** 2)
    return t, xyz


def test_band_limited_resampling_shows_one_impact_at_the_same_height_from_any_rate() -> None:
    peaks = {rate: np.linalg.norm(resample(*_pulse(rate)), axis=1).max() for rate in (20.0, 32.0, 50.0, 100.0, 200.0)}
    assert max(peaks.values()) - min(peaks.values()) < 0.25 * max(peaks.values())
    assert all(2.0 < p < 4.2 for p in peaks.values())


def test_resampling_band_limits_what_a_20_hz_grid_cannot_hold() -> None:
    t = np.arange(1000) / 100.0
    fast = np.column_stack([0.5 * np.sin(2 * np.pi * 15.0 * t), np.zeros_like(t), np.ones_like(t)])  # 15 Hz buzz
    slow = np.column_stack([0.5 * np.sin(2 * np.pi * 1.0 * t), np.zeros_like(t), np.ones_like(t)])  # 1 Hz swing
    assert resample(t, fast, 20.0)[:, 0].std() < 0.5 * resample(t, slow, 20.0)[:, 0].std()


def test_a_short_spike_is_band_limited_not_passed_through() -> None:
    t = np.arange(500) / 100.0
    xyz = np.tile([0.0, 0.0, 1.0], (500, 1))
    xyz[251] = [0.0, 3.0, 4.0]  # one 10 ms sample of 5 g
    assert 1.0 < np.linalg.norm(resample(t, xyz, 20.0), axis=1).max() < 2.5


def test_resample_clips_glitches_and_survives_duplicates() -> None:
    t = np.array([0.0, 0.1, 0.1, 0.2, 0.3])
    xyz = np.array([[0, 0, 1], [0, 0, 1], [0, 0, 1], [500.0, 0, 1], [0, 0, 1]])
    out = resample(t, xyz, 10.0)
    assert np.isfinite(out).all()
    assert out[:, 0].max() <= SATURATION_G


def test_every_axis_saturates_at_the_common_range() -> None:
    xyz = np.array([[12.0, -9.0, 1.0], [3.0, 0.0, -20.0]])
    np.testing.assert_array_equal(saturate(xyz), [[8.0, -8.0, 1.0], [3.0, 0.0, -8.0]])
    assert magnitudes(xyz).max() <= np.sqrt(3) * SATURATION_G


# --- stage 1: the bracelet's impact trigger ---------------------------------------------------


def test_a_gentle_activity_below_the_trigger_is_never_sent() -> None:
    walk, trigger = synthetic_walk_and_sit(np.random.default_rng(10)), ImpactTrigger(peak_g=1.5)
    assert np.linalg.norm(walk, axis=1).max() < trigger.peak_g
    assert not triggers(walk, RATE, trigger)


def test_a_fall_and_a_hard_bump_fire_the_trigger_and_a_dip_requirement_tells_them_apart() -> None:
    rng = np.random.default_rng(11)
    fall, bump = synthetic_fall(rng), synthetic_bump_and_walk(rng)
    assert triggers(fall, RATE) and triggers(bump, RATE)
    with_dip = ImpactTrigger(peak_g=2.0, dip_g=0.6)
    assert with_dip.fires(fall, RATE) and not with_dip.fires(bump, RATE)


def test_the_simulators_impact_windows_fire_the_trigger() -> None:
    rng = np.random.default_rng(12)
    for rate in (20.0, 25.0, 50.0):
        assert all(triggers(impact_window(rng, rate), rate) for _ in range(50))


def test_the_trigger_keeps_the_highest_level_that_fires_on_enough_falls() -> None:
    impacts = np.array([1.6] * 3 + [2.6] * 97)
    assert choose_trigger(impacts, 0.97) == 2.6
    assert choose_trigger(impacts, 0.98) == 1.6
    assert choose_trigger(np.array([1.0, 1.2]), 0.97) == 1.3  # nothing reaches: the lowest level


def test_falls_the_trigger_missed_spend_the_sensitivity_budget() -> None:
    scores = np.array([np.nan, 0.2, 0.4, 0.6, 0.8, 0.1])
    is_fall = np.array([True, True, True, True, True, False])
    assert choose_threshold(scores, is_fall, 0.8) == 0.2  # the one miss allowed is the trigger's
    assert choose_threshold(scores, is_fall, 0.6) == 0.4


def test_evaluation_counts_an_unsent_fall_as_a_miss_and_an_unsent_activity_as_quiet() -> None:
    rng = np.random.default_rng(13)
    trial = read_like("fall")
    soft = TrialWindows(trial, [resample(np.arange(len(w := synthetic_fall(rng))) / RATE, w)], [1.4])
    hard = TrialWindows(read_like("fall", "2"), [resample(np.arange(len(w)) / RATE, w)], [4.0])
    quiet = TrialWindows(read_like("adl"), [], [])
    outcomes = judge_trials(ThresholdFallRule(), [soft, hard, quiet], 1.5)
    assert [o.triggered for o in outcomes] == [False, True, False]
    assert outcome_rates(outcomes)["sensitivity"] == 0.5 and outcome_rates(outcomes)["specificity"] == 1.0
    stages = stage_pass_rates(outcomes)
    assert stages["falls"] == {"trigger": 0.5, "impact_model": 0.5, "post_impact_model": 0.5}
    assert stages["adls"]["trigger"] == 0.0


def read_like(label: str, trial_id: str = "1") -> Trial:
    return Trial("synth", trial_id, "", "S0", "old", label, "x", None, None)


# --- features, rule and model on synthetic windows ------------------------------------------


def test_features_describe_dip_impact_stillness_and_turn() -> None:
    rng = np.random.default_rng(2)
    fall, walk = synthetic_fall(rng), synthetic_walk_and_sit(rng)
    assert impact_features(fall, RATE).shape == (len(FEATURE_NAMES),)
    assert feature(fall, "peak_g") > 4.0
    assert feature(fall, "dip_min_g") < 0.4
    assert feature(fall, "post_std_g") < 0.05
    assert feature(fall, "orientation_change_deg") > 60
    assert feature(walk, "peak_g") < 2.0
    assert feature(walk, "window_periodicity") > 0.3


def test_short_windows_give_nan_not_errors() -> None:
    window = np.array([[0.0, 0.0, 1.0]] * 7 + [[0.0, 0.0, 4.0]])  # the impact is the last sample
    values = impact_features(window, RATE)
    assert np.isnan(values[FEATURE_NAMES.index("post_mean_g")])


def test_threshold_rule_calls_the_fall_and_not_the_walk() -> None:
    rng = np.random.default_rng(3)
    rule = ThresholdFallRule()
    assert rule.is_fall(synthetic_fall(rng), RATE)
    assert rule.score(synthetic_fall(rng), RATE) == 1.0
    assert not rule.is_fall(synthetic_walk_and_sit(rng), RATE)


def test_missing_model_file_falls_back_to_the_rule(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        scorer = load_fall_classifier(tmp_path / "absent.joblib")
    assert isinstance(scorer, ThresholdFallRule)
    assert "threshold rule" in caplog.text


@pytest.mark.skipif(not DEFAULT_MODEL_PATH.is_file(), reason="no shipped fall model")
def test_shipped_model_scores_an_impact_event() -> None:
    rng = np.random.default_rng(4)
    model = load_fall_classifier()
    assert isinstance(model, FallClassifier)
    event = ImpactEvent(
        kind="impact",
        seq=1,
        ts=datetime(2025, 3, 1, tzinfo=UTC),
        rate_hz=RATE,
        samples=[tuple(map(float, s)) for s in synthetic_fall(rng)],
    )
    fall_score = model.score(event.samples, event.rate_hz)
    walk_score = model.score(synthetic_walk_and_sit(rng), RATE)
    assert 0.0 <= walk_score < fall_score <= 1.0
    assert model.trigger.fires(event.samples, event.rate_hz) and model.is_fall(event.samples, event.rate_hz)
    assert not model.is_fall(synthetic_walk_and_sit(rng), RATE)  # below the trigger: never a fall


@pytest.mark.skipif(not DEFAULT_MODEL_PATH.is_file(), reason="no shipped fall model")
def test_shipped_model_confirms_most_simulated_impact_windows() -> None:
    rng = np.random.default_rng(14)
    model = load_fall_classifier()
    windows = [(impact_window(rng, rate), rate) for rate in (20.0, 25.0, 50.0) for _ in range(20)]
    assert np.mean([model.is_fall(w, rate) for w, rate in windows]) >= 0.9


@pytest.mark.skipif(not DEFAULT_MODEL_PATH.is_file(), reason="no shipped fall model")
def test_shipped_model_report_sits_beside_it() -> None:
    json_path, md_path = report_paths(DEFAULT_MODEL_PATH)
    assert json_path.is_file() and md_path.is_file()
    assert DEFAULT_MODEL_PATH.stat().st_size < 4_000_000
    model = load_fall_classifier()
    assert isinstance(model, FallClassifier)
    assert model.trigger.peak_g == IMPACT_TRIGGER_G  # the firmware's documented default trigger is the model's


# --- training end to end on a tiny synthetic folder ------------------------------------------


SOURCES = ("synth_a", "synth_b")


def write_folder(root: Path, subjects: int = 4, per_label: int = 2) -> Path:
    """Write a falls folder: irregular timestamps, subjects split between two sources (devices)."""
    rng = np.random.default_rng(5)
    for source in SOURCES:
        (root / source).mkdir(parents=True)
    rows = []
    for s in range(subjects):
        source = SOURCES[s % 2]
        for label, makers in (("fall", (synthetic_fall,)), ("adl", (synthetic_walk_and_sit, synthetic_bump_and_walk))):
            for k in range(per_label):
                xyz = makers[k % len(makers)](rng)
                t = np.arange(len(xyz)) / RATE + rng.uniform(-0.004, 0.004, len(xyz))
                trial_id = f"S{s}_{label}_{k}"
                with (root / source / f"{trial_id}.csv").open("w", newline="") as fh:
                    out = csv.writer(fh)
                    out.writerow(["t_s", "ax_g", "ay_g", "az_g"])
                    out.writerows([[f"{ti:.3f}", *(f"{v:.4f}" for v in row)] for ti, row in zip(t, xyz, strict=True)])
                age = "old" if s % 2 else "30"
                rows.append([source, trial_id, f"{source}/{trial_id}.csv", f"S{s}", age, label, "x", RATE, "", ""])
    with (root / "trials.csv").open("w", newline="") as fh:
        out = csv.writer(fh)
        out.writerow(
            [
                "source",
                "trial_id",
                "file",
                "subject",
                "age",
                "label",
                "activity",
                "rate_hz",
                "fall_start_s",
                "fall_end_s",
            ]
        )
        out.writerows(rows)
    return root


TINY = TrainingConfig(n_splits=2, inner_splits=2, n_estimators=10, min_samples_leaf=2, trigger_g=1.5, augment=1)


def test_training_on_a_tiny_folder_end_to_end(tmp_path: Path) -> None:
    folder = write_folder(tmp_path / "falls")
    with threadpool_limits(1):  # tiny fits: OpenMP threads only wait on each other, worse on a busy machine
        result = train_fall_model(folder, TINY, [TINY, replace(TINY, balance_sources=True)])
    model_path = tmp_path / "model" / "fall.joblib"
    save(result, model_path)
    assert all(p.is_file() for p in report_paths(model_path))
    loso = result.report["leave_one_source_out"]
    assert set(loso["per_source"]) == set(SOURCES)  # each device held out once
    assert loso["overall"]["trials"] == 16 and loso["overall"]["falls"] == 8
    assert loso["worst"]["source"] in SOURCES
    assert all("sensitivity" in fold["calibrated"] for fold in loso["folds"])  # calibrated on its own subjects
    assert len(result.report["candidates"]) == 2
    subject = result.report["subject_cross_validation"]["overall"]
    assert subject["sensitivity"] >= 0.9 and subject["specificity"] >= 0.9
    assert len(result.report["subject_cross_validation"]["folds"]) == 2
    assert loso["overall"]["stages"]["adls"]["trigger"] == 0.5  # the walks never fire it
    assert loso["overall"]["false_alarms_per_hour"] is not None
    loaded = load_fall_classifier(model_path)
    assert isinstance(loaded, FallClassifier)
    rng = np.random.default_rng(6)
    assert loaded.is_fall(synthetic_fall(rng), RATE)
    record = evaluate_falls(folder, model_path)
    assert record["bench"] == "falls" and record["trials"] == 16
    assert record["held_out"] is False and record["overlap_trials"] == 16
    assert set(record["per_source"]) == set(SOURCES) and "false_alarms_per_hour" in record
    assert record["stages"]["falls"]["trigger"] == 1.0 and record["stages"]["adls"]["trigger"] == 0.5


def test_a_calibration_is_written_with_its_figures_and_used_for_that_source(tmp_path: Path) -> None:
    folder = write_folder(tmp_path / "falls")
    model_path = tmp_path / "model" / "fall.joblib"
    with threadpool_limits(1):
        save(train_fall_model(folder, TINY), model_path)
        written = calibrate(folder, "synth_b", model_path, model_path.parent / "calibrations")
    path = Path(written["path"])
    assert path == model_path.parent / "calibrations" / "synth_b.json" and path.is_file()
    assert written["trials"] == 8 and written["calibrated"]["falls"] == 4
    assert written["overlap_trials"] == 8 and "optimistic" in written["note"]
    calibration = Calibration.from_json(path.read_text())
    assert calibration.model == "synth_b" and calibration.figures["calibrated"]["sensitivity"] is not None
    loaded = load_fall_classifier(model_path)
    assert isinstance(loaded, FallClassifier) and set(loaded.calibrations) == {"synth_b"}
    record = evaluate_falls(folder, model_path)
    assert record["calibrated_sources"] == ["synth_b"]


# --- the reference recordings ----------------------------------------------------------------


@pytest.fixture
def falls_dir(data_dir: Path) -> Path:
    folder = data_dir / "falls"
    if not (folder / "trials.csv").is_file():
        pytest.skip(f"no falls recordings at {folder} (set DATA_DIR)")
    return folder


def test_reference_trials_give_windows_the_bracelet_would_send(falls_dir: Path) -> None:
    trials = [t for t in read_trials(falls_dir) if t.source.startswith("umafall")][:10]
    trials += [t for t in read_trials(falls_dir) if t.elderly and t.source.startswith("smartfall")][:10]
    windows = list(iter_trial_windows(falls_dir, trials))
    assert len(windows) == 20
    expected = round((PRE_S + POST_S) * MODEL_RATE_HZ) + 1
    assert all(w.shape == (expected, 3) for tw in windows for w in tw.windows)
    assert all(len(tw.peaks) == len(tw.windows) for tw in windows)
    assert all(p >= MIN_TRIGGER_G for tw in windows if not tw.trial.is_fall for p in tw.peaks)
    assert all(tw.trial.elderly for tw in windows[10:])


@pytest.mark.skipif(not DEFAULT_MODEL_PATH.is_file(), reason="no shipped fall model")
def test_shipped_model_finds_most_umafall_falls(falls_dir: Path) -> None:
    trials = [t for t in read_trials(falls_dir) if t.source.startswith("umafall") and t.is_fall][:40]
    with threadpool_limits(1):
        model = load_fall_classifier()
        outcomes = judge_trials(model, list(iter_trial_windows(falls_dir, trials)), trigger_of(model))
    assert outcome_rates(outcomes)["sensitivity"] >= 0.9
