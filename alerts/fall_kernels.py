"""Random-kernel features of an impact window (MiniRocket-style), in numpy, as a scikit-learn transformer.

The hand features of `alerts.fall_model` describe a fall the way a textbook does (dip, peak,
stillness). Many everyday movements — a jacket pulled on, hands washed, a wave — match that
description at the wrist; what tells them apart is the shape of the signal over the whole window.
Following MiniRocket (Dempster, Schmidt and Webb, KDD 2021), each of a few orientation-invariant
signals (`window_signals`) is convolved with the 84 fixed kernels of length 9 (weights −1, three of
them 2) at several dilations, and each output is summarised by the share of positions above a bias
(PPV). The biases are the only fitted part: quantiles of the kernel's output on randomly drawn
training windows, taken in ``fit`` (so inside every cross-validation fold). A linear model on top
does the classifying. Pure computation, no I/O.
"""

from __future__ import annotations

import itertools
from typing import Any, Final, Self

import numpy as np
import numpy.typing as npt
from sklearn.base import BaseEstimator, TransformerMixin

FloatArray = npt.NDArray[np.float64]

KERNEL_LENGTH: Final = 9
# the 84 kernels: the positions of the three weights 2 among nine (the other six are -1; they sum to 0)
COMBINATIONS: Final = tuple(itertools.combinations(range(KERNEL_LENGTH), 3))
SIGNAL_NAMES: Final = ("magnitude", "vertical", "tilt", "dynamic")
FEW_ROWS: Final = 8  # up to this many rows, all kernels are applied in one (84, rows, length, quantiles) step
_TRIPLES: Final = np.array(COMBINATIONS, dtype=np.intp)


def _moving_mean(xyz: FloatArray, k: int) -> FloatArray:
    """Return the centred moving mean of each column over ``k`` samples, edges repeated."""
    padded = np.pad(xyz, ((k // 2, k - 1 - k // 2), (0, 0)), mode="edge")
    kernel = np.ones(k) / k
    return np.column_stack([np.convolve(padded[:, j], kernel, mode="valid") for j in range(xyz.shape[1])])


def window_signals(xyz: FloatArray, p: int, rate_hz: float) -> FloatArray:
    """Return the window's `SIGNAL_NAMES`, shape (4, n): all invariant to how the device's axes are mounted.

    Gravity is the 1 s moving mean; "up" is its direction before the impact (``p``). *vertical* is the
    acceleration along that up, *tilt* the cosine between the present and the earlier gravity (the
    wrist's turn as it happens), *dynamic* the magnitude with gravity removed.
    """
    m = np.linalg.norm(xyz, axis=1)
    gravity = _moving_mean(xyz, max(round(rate_hz), 1))
    before = xyz[: max(p - round(rate_hz), min(5, len(xyz)))].mean(axis=0)
    up = before / (np.linalg.norm(before) or 1.0)
    norms = np.linalg.norm(gravity, axis=1, keepdims=True)
    tilt = (gravity / np.where(norms > 0, norms, 1.0)) @ up
    return np.stack([m, xyz @ up, tilt, np.linalg.norm(xyz - gravity, axis=1)])


def dilations(length: int, count: int = 8) -> FloatArray:
    """Return exponentially spaced dilations, the largest letting a kernel span the whole signal."""
    largest = max((length - 1) / (KERNEL_LENGTH - 1), 1.0)
    return np.unique(np.floor(np.logspace(0, np.log2(largest), count, base=2)).astype(np.intp))


def _shifted(x: npt.NDArray[np.float32], dilation: int) -> npt.NDArray[np.float32]:
    """Return the nine dilated taps of every position, shape (9, n, length), zero padded."""
    length, pad = x.shape[1], (KERNEL_LENGTH // 2) * dilation
    padded = np.pad(x, ((0, 0), (pad, pad)))
    return np.stack([padded[:, k * dilation : k * dilation + length] for k in range(KERNEL_LENGTH)])


def _outputs(taps: npt.NDArray[np.float32]) -> Any:
    """Yield each kernel's output (n, length): −Σ taps + 3 × (its three taps)."""
    base = -taps.sum(axis=0)
    for a, b, c in COMBINATIONS:
        yield base + 3.0 * (taps[a] + taps[b] + taps[c])


class KernelFeatures(BaseEstimator, TransformerMixin):  # type: ignore[misc]
    """Turn the signal columns of a feature matrix into MiniRocket PPV features.

    ``first_column`` is where the signals start in each row (they run to its end, `SIGNAL_NAMES` one
    after another, each of the same length); the columns before it are ignored.
    """

    def __init__(
        self,
        first_column: int = 0,
        n_signals: int = len(SIGNAL_NAMES),
        quantiles: tuple[float, ...] = (0.25, 0.5, 0.75),
        n_dilations: int = 8,
        seed: int = 0,
    ) -> None:
        self.first_column = first_column
        self.n_signals = n_signals
        self.quantiles = quantiles
        self.n_dilations = n_dilations
        self.seed = seed

    def _signals(self, x: Any) -> npt.NDArray[np.float32]:
        """Return the signals of each row, shape (n, n_signals, length)."""
        part = np.nan_to_num(np.asarray(x, dtype=np.float64)[:, self.first_column :])
        return part.reshape(len(part), self.n_signals, -1).astype(np.float32)

    def fit(self, x: Any, y: Any = None) -> Self:
        """Draw the biases: quantiles of each kernel's output on a random training window."""
        rng = np.random.default_rng(self.seed)
        signals = self._signals(x)
        self.dilations_ = dilations(signals.shape[2], self.n_dilations)
        biases = []
        for s in range(self.n_signals):
            for d in self.dilations_:
                picks = signals[rng.integers(0, len(signals), len(COMBINATIONS)), s]
                taps = _shifted(picks, int(d))
                own = [out[k] for k, out in enumerate(_outputs(taps))]  # kernel k on window k
                biases.append(np.quantile(np.stack(own), self.quantiles, axis=1).T.astype(np.float32))
        self.biases_ = np.stack(biases)  # (signals × dilations, 84, quantiles)
        return self

    def transform(self, x: Any) -> FloatArray:
        """Return the share of positions where each kernel's output exceeds each of its biases."""
        signals = self._signals(x)
        few = len(signals) <= FEW_ROWS  # the live path scores one window: one array operation per dilation
        return (self._ppv_few(signals) if few else self._ppv_many(signals)).astype(np.float64)

    def _ppv_many(self, signals: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
        """Return the PPV features of many rows, one kernel at a time (bounded memory)."""
        columns: list[npt.NDArray[np.float32]] = []
        block = 0
        for s in range(self.n_signals):
            for d in self.dilations_:
                for k, out in enumerate(_outputs(_shifted(signals[:, s], int(d)))):
                    columns += [(out > bias).mean(axis=1, dtype=np.float32) for bias in self.biases_[block, k]]
                block += 1
        return np.column_stack(columns)

    def _ppv_few(self, signals: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
        """Return the PPV features of a few rows, all 84 kernels of a dilation at once."""
        columns, block = [], 0
        for s in range(self.n_signals):
            for d in self.dilations_:
                taps = _shifted(signals[:, s], int(d))
                out = 3.0 * taps[_TRIPLES].sum(axis=1) - taps.sum(axis=0)  # (84, rows, length)
                above = out[..., None] > self.biases_[block][:, None, None, :]  # (84, rows, length, quantiles)
                columns.append(above.mean(axis=2, dtype=np.float32).transpose(1, 0, 2).reshape(len(signals), -1))
                block += 1
        return np.hstack(columns)
