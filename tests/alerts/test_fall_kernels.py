"""Random-kernel features of impact windows: orientation-invariant signals, in-fold biases, one window fast."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.exceptions import NotFittedError
from sklearn.utils.validation import check_is_fitted

from alerts.fall_kernels import COMBINATIONS, SIGNAL_NAMES, KernelFeatures, dilations, window_signals
from alerts.fall_model import (
    FEATURE_NAMES,
    HAND_FEATURE_NAMES,
    MODEL_RATE_HZ,
    SIGNAL_SAMPLES,
    FallClassifier,
    impact_features,
)
from tests.evaluation.test_fall_model import RATE, synthetic_fall, synthetic_walk_and_sit


def _rotation(rng: np.random.Generator) -> np.ndarray:
    q, _ = np.linalg.qr(rng.normal(size=(3, 3)))
    return q


def _rows(count: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    makers = (synthetic_fall, synthetic_walk_and_sit)
    return np.vstack([impact_features(makers[k % 2](rng), RATE) for k in range(count)])


def test_signals_do_not_depend_on_how_the_axes_are_mounted() -> None:
    rng = np.random.default_rng(7)
    xyz = synthetic_fall(rng)
    p = int(np.argmax(np.linalg.norm(xyz, axis=1)))
    turned = xyz @ _rotation(rng).T
    assert window_signals(xyz, p, RATE).shape == (len(SIGNAL_NAMES), len(xyz))
    np.testing.assert_allclose(window_signals(turned, p, RATE), window_signals(xyz, p, RATE), atol=1e-9)


def test_feature_rows_carry_the_hand_features_then_the_framed_signals() -> None:
    row = impact_features(synthetic_fall(np.random.default_rng(8)), RATE)
    assert len(FEATURE_NAMES) == len(HAND_FEATURE_NAMES) + len(SIGNAL_NAMES) * SIGNAL_SAMPLES
    assert row.shape == (len(FEATURE_NAMES),)
    signals = row[len(HAND_FEATURE_NAMES) :].reshape(len(SIGNAL_NAMES), SIGNAL_SAMPLES)
    peak = round(4.0 * MODEL_RATE_HZ)
    assert int(np.argmax(signals[0])) == peak  # the magnitude peaks where the frame puts the impact
    assert not np.isnan(signals).any()


def test_biases_are_fitted_and_one_window_scores_like_many() -> None:
    rows = _rows(12)
    kernels = KernelFeatures(first_column=len(HAND_FEATURE_NAMES))
    with pytest.raises(NotFittedError):
        check_is_fitted(kernels)
    many = kernels.fit(rows).transform(rows)
    width = len(SIGNAL_NAMES) * len(dilations(SIGNAL_SAMPLES)) * len(COMBINATIONS) * 3
    assert many.shape == (12, width)
    assert ((many >= 0) & (many <= 1)).all()
    np.testing.assert_allclose(kernels.transform(rows[:3]), many[:3])  # the few-rows path gives the same
    other = KernelFeatures(first_column=len(HAND_FEATURE_NAMES)).fit(_rows(12, seed=1))
    assert not np.allclose(other.transform(rows), many)  # the biases come from the training windows


def test_a_bundle_of_the_previous_feature_set_fails_clearly() -> None:
    with pytest.raises(ValueError, match="retrain"):
        FallClassifier.from_bundle({"format": 2, "feature_names": list(HAND_FEATURE_NAMES), "pipeline": None})
