"""Selection by device: augmentation for what differs between bracelets, leave-one-source-out, the worst source."""

from __future__ import annotations

import numpy as np
import pytest

from alerts.fall_model import MODEL_RATE_HZ, POST_S, PRE_S, SATURATION_G
from evaluation.fall_augment import Augmentation, augment_raw, augmented_window, random_rotation, rerate
from evaluation.fall_data import RawWindow, Trial, TrialWindows
from evaluation.fall_eval import TrialOutcome, false_alarms_per_hour, stage_pass_rates, with_margin
from evaluation.fall_training import (
    TrainingConfig,
    _source_weights,
    build_dataset,
    by_source,
    by_subject,
    worst_source,
)

RATE = 50.0
PLAIN = Augmentation(gain=(1.0, 1.0), axis_gain=0.0, max_noise_g=0.0, rate_hz=(RATE, RATE), nearest_probability=0.0,
                     jitter=0.0, clip_probability=0.0, rotate=False)  # fmt: skip


def raw_fall(rng: np.random.Generator, peak: float = 5.0) -> RawWindow:
    """Return 16 s of a wrist at 50 Hz: still, an impact at 6 s, still on its side."""
    t = np.arange(round(16 * RATE)) / RATE
    xyz = np.where((t < 6.0)[:, None], [0.0, 0.0, 1.0], [1.0, 0.0, 0.0]) + rng.normal(0, 0.01, (len(t), 3))
    xyz[:, 1] += peak * np.exp(-0.5 * ((t - 6.0) / 0.03) ** 2)
    return RawWindow(t, xyz, 6.0)


def test_a_random_rotation_is_a_rotation() -> None:
    rng = np.random.default_rng(0)
    for _ in range(20):
        r = random_rotation(rng)
        np.testing.assert_allclose(r @ r.T, np.eye(3), atol=1e-12)
        assert np.linalg.det(r) > 0


def test_rotation_alone_keeps_every_magnitude() -> None:
    raw = raw_fall(np.random.default_rng(1))
    _, xyz = augment_raw(raw, np.random.default_rng(2), Augmentation(**{**_plain(), "rotate": True}))
    np.testing.assert_allclose(np.linalg.norm(xyz, axis=1), np.linalg.norm(raw.xyz[: len(xyz)], axis=1), atol=1e-9)
    assert not np.allclose(xyz, raw.xyz[: len(xyz)])


def _plain() -> dict[str, object]:
    return {k: getattr(PLAIN, k) for k in PLAIN.__dataclass_fields__}


def test_gain_noise_and_clipping_change_the_signal_within_their_ranges() -> None:
    raw, rng = raw_fall(np.random.default_rng(3), peak=12.0), np.random.default_rng(4)
    spec = Augmentation(**{**_plain(), "gain": (1.1, 1.1), "clip_probability": 1.0, "clip_g": 4.0})
    _, xyz = augment_raw(raw, rng, spec)
    assert np.abs(xyz).max() <= SATURATION_G  # cut at a range between 4 and 8 g
    np.testing.assert_allclose(xyz[:100, 2], 1.1 * raw.xyz[:100, 2])  # the gain, before the impact
    noisy = Augmentation(**{**_plain(), "max_noise_g": 0.05})
    _, quiet = augment_raw(raw, np.random.default_rng(5), PLAIN)
    _, loud = augment_raw(raw, np.random.default_rng(5), noisy)
    assert (loud[:200] - quiet[:200]).std() > 0.001


def test_a_new_rate_samples_the_recording_again_at_that_rate() -> None:
    raw = raw_fall(np.random.default_rng(6))
    for nearest in (False, True):
        t, xyz = rerate(raw.t, raw.xyz, 20.0, np.random.default_rng(7), nearest, jitter=0.0)
        np.testing.assert_allclose(np.diff(t), 0.05, atol=1e-9)
        assert xyz.shape == (len(t), 3)


def test_an_augmented_window_is_cut_on_its_peak_at_the_model_rate() -> None:
    raw, rng = raw_fall(np.random.default_rng(8)), np.random.default_rng(9)
    made = [augmented_window(raw, rng) for _ in range(10)]
    assert all(m is not None for m in made)
    expected = round((PRE_S + POST_S) * MODEL_RATE_HZ) + 1
    for window, peak in (m for m in made if m is not None):
        assert window.shape == (expected, 3)
        centre = round(PRE_S * MODEL_RATE_HZ)
        assert np.linalg.norm(window[centre]) == pytest.approx(peak) and 1.5 < peak < 8.0 * np.sqrt(3)
    assert augmented_window(RawWindow(raw.t[:2], raw.xyz[:2], 0.0), rng) is None


# --- folds ---------------------------------------------------------------------------------------


def _trials() -> list[TrialWindows]:
    rng, out = np.random.default_rng(10), []
    for source in ("dev_a", "dev_b", "dev_c"):
        for subject in ("s1", "s2", "s3"):
            for label in ("fall", "adl"):
                raw = raw_fall(rng)
                window = np.tile([0.0, 0.0, 1.0], (round((PRE_S + POST_S) * MODEL_RATE_HZ) + 1, 1))
                trial = Trial(source, f"{subject}-{label}", "", subject, "30", label, "x", None, None)
                out.append(TrialWindows(trial, [window], [3.0], [raw], 16.0))
    return out


def test_leave_one_source_out_holds_each_device_out_once() -> None:
    data = build_dataset(_trials())
    folds = by_source(data, data.scored, TrainingConfig())
    assert len(folds) == 3
    for train, test in folds:
        held = set(data.sources[test].tolist())
        assert len(held) == 1 and not held & set(data.sources[train].tolist())
        assert len(train) + len(test) == len(data.trials)
    one = np.flatnonzero(data.sources == "dev_a")  # one source left: the inner folds are subject-wise
    for train, test in by_source(data, one, TrainingConfig(inner_splits=3)):
        assert not set(data.groups[test].tolist()) & set(data.groups[train].tolist())
    assert by_subject(data, one[:2], TrainingConfig()) == []  # a single subject cannot be split


def test_extra_trials_are_trained_on_and_never_held_out() -> None:
    trials = _trials()
    data = build_dataset(trials[:-2], extra=trials[-2:], augment=1)
    assert list(data.extra) == [len(trials) - 2, len(trials) - 1]
    held = np.concatenate([test for _, test in by_source(data, data.scored, TrainingConfig())])
    assert not set(held.tolist()) & set(data.extra.tolist())
    assert len(data.peak_a) > 0  # augmented copies made from the raw samples


def test_the_worst_source_is_the_one_with_the_lowest_of_sensitivity_and_specificity() -> None:
    per = {
        "a": {"sensitivity": 0.97, "specificity": 0.90, "specificity_elderly": None, "false_alarms_per_hour": 3.0},
        "b": {"sensitivity": 0.88, "specificity": 0.95, "specificity_elderly": 0.96, "false_alarms_per_hour": 1.0},
        "c": {"sensitivity": None, "specificity": 0.99, "specificity_elderly": 0.99, "false_alarms_per_hour": 0.1},
    }
    worst = worst_source(per)
    assert worst["source"] == "b" and worst["criterion"] == 0.88


def test_false_alarms_per_hour_count_every_alarm_over_the_activities_recorded_time() -> None:
    outcomes = [
        TrialOutcome("a", "x", False, False, 0.9, True, True, True, 2, 1800.0, "s"),
        TrialOutcome("b", "x", False, True, 0.1, False, True, False, 0, 1800.0, "s"),
        TrialOutcome("c", "x", True, False, 0.9, True, True, True, 1, 20.0, "s"),
    ]
    assert false_alarms_per_hour(outcomes) == 2.0  # two alarms in one hour of activities; the fall does not count
    stages = stage_pass_rates(outcomes)
    assert stages["adls"] == {"trigger": 1.0, "impact_model": 0.5, "post_impact_model": 0.5}
    assert stages["adls_elderly"]["post_impact_model"] == 0.0


def test_a_threshold_leaves_room_below_it_down_to_the_next_activity() -> None:
    scores = np.array([0.9, 0.8, 0.5, 0.2, np.nan])
    is_fall = np.array([True, True, False, False, False])
    assert with_margin(0.8, scores, is_fall) == 0.65
    assert with_margin(0.1, scores, is_fall) == 0.05


def test_balanced_sources_weigh_each_sources_falls_and_activities_alike() -> None:
    trials = _trials()
    data = build_dataset(trials[:8] + trials[12:14])  # dev_a: 3 falls, 3 activities; dev_b and dev_c: 1 of each
    rows = data.trial_of_row
    weights = _source_weights(data, rows, data.is_fall[rows])
    totals = {}
    for w, r in zip(weights, rows, strict=True):
        key = (data.sources[r], bool(data.is_fall[r]))
        totals[key] = totals.get(key, 0.0) + w
    assert len(totals) == 6 and max(totals.values()) - min(totals.values()) < 1e-9
    assert weights.sum() == pytest.approx(len(rows))
