"""Augment training windows with what differs between bracelets: rate, gain, noise, orientation, range.

A model that has seen only three devices learns their quirks. Each augmented copy of a window takes its
raw samples (`evaluation.fall_data.RawWindow`) and changes them the way another device would:

* **orientation**: a random rotation (uniform over all rotations) — how the sensor sits in the case
  and on which wrist;
* **gain**: an overall factor and a small one per axis — calibration errors of cheap parts;
* **noise**: white noise of a random level up to ``max_noise_g``;
* **rate**: sampled again at a random rate in ``rate_hz``, by interpolation or by taking the nearest
  sample (a device without an anti-alias filter), with timing jitter;
* **clipping**: with probability ``clip_probability``, each axis cut at a range between ``clip_g``
  (a ±4 g part) and the common ±8 g;
* **cropping**: with probability ``crop_probability``, the recording ends ``crop_s`` after the impact.
  Not a device trait but a recording one: SmartFallMM's trials stop soon after the fall, and a model
  that never saw a missing post-impact second learns that missing means "no fall".

The copy is then conditioned like any recording (`alerts.fall_signal.resample`) and cut around its
peak, so what the model learns from is what the platform would see from such a bracelet. Pure numpy
with an explicit random generator.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from alerts.fall_model import MODEL_RATE_HZ, PRE_S, SATURATION_G, FloatArray, resample, saturate
from evaluation.fall_data import RawWindow, cut_window


@dataclass(frozen=True, slots=True)
class Augmentation:
    """The ranges each augmented copy draws from."""

    gain: tuple[float, float] = (0.85, 1.15)
    axis_gain: float = 0.05
    max_noise_g: float = 0.03
    rate_hz: tuple[float, float] = (16.0, 60.0)
    nearest_probability: float = 0.5
    jitter: float = 0.1  # of a sample period
    clip_probability: float = 0.3
    clip_g: float = 4.0
    rotate: bool = True
    crop_probability: float = 0.3
    crop_s: tuple[float, float] = (0.5, 6.0)


def random_rotation(rng: np.random.Generator) -> FloatArray:
    """Return a rotation matrix drawn uniformly (QR of a Gaussian matrix, signs fixed, det +1)."""
    q, r = np.linalg.qr(rng.normal(size=(3, 3)))
    q = q * np.sign(np.diag(r))
    if np.linalg.det(q) < 0:
        q[:, 0] = -q[:, 0]
    return np.asarray(q, dtype=np.float64)


def rerate(
    t: FloatArray, xyz: FloatArray, rate_hz: float, rng: np.random.Generator, nearest: bool, jitter: float
) -> tuple[FloatArray, FloatArray]:
    """Sample a recording again at ``rate_hz``: interpolated, or the nearest sample as an unfiltered device does."""
    grid = np.arange(t[0], t[-1], 1.0 / rate_hz)
    grid = np.clip(grid + rng.uniform(-jitter, jitter, grid.size) / rate_hz, t[0], t[-1])
    grid.sort()
    if nearest:
        idx = np.clip(np.searchsorted(t, grid), 1, len(t) - 1)
        idx -= (grid - t[idx - 1]) < (t[idx] - grid)
        return grid, xyz[idx]
    return grid, np.column_stack([np.interp(grid, t, xyz[:, k]) for k in range(3)])


def augment_raw(
    raw: RawWindow, rng: np.random.Generator, spec: Augmentation = Augmentation()
) -> tuple[FloatArray, FloatArray]:
    """Return one augmented copy of a window's raw samples: times and accelerations (g)."""
    xyz = np.asarray(raw.xyz, dtype=np.float64)
    if spec.rotate:
        xyz = xyz @ random_rotation(rng).T
    xyz = xyz * rng.uniform(*spec.gain) * rng.uniform(1 - spec.axis_gain, 1 + spec.axis_gain, 3)
    t, xyz = rerate(raw.t, xyz, rng.uniform(*spec.rate_hz), rng, rng.random() < spec.nearest_probability, spec.jitter)
    xyz = xyz + rng.normal(0.0, rng.uniform(0.0, spec.max_noise_g), xyz.shape)
    if rng.random() < spec.clip_probability:
        xyz = saturate(xyz, rng.uniform(spec.clip_g, SATURATION_G))
    return t, xyz


def augmented_window(
    raw: RawWindow, rng: np.random.Generator, spec: Augmentation = Augmentation()
) -> tuple[FloatArray, float] | None:
    """Return an augmented copy of a window on the model grid and its peak, or None when too little is left."""
    if len(raw.t) < 4 or raw.t[-1] - raw.t[0] < 1.0:
        return None
    t, xyz = augment_raw(raw, rng, spec)
    if len(t) < 4:
        return None
    grid = resample(t, xyz)
    m = np.linalg.norm(grid, axis=1)
    at = round((raw.peak_t - t[0]) * MODEL_RATE_HZ)
    reach = round(0.5 * MODEL_RATE_HZ)  # the peak stays where it was, give or take the new sampling
    lo, hi = max(at - reach, 0), min(at + reach + 1, len(m))
    if lo >= hi:
        return None
    i = lo + int(np.argmax(m[lo:hi]))
    window = cut_window(grid, i)
    if rng.random() < spec.crop_probability:
        window[round((PRE_S + rng.uniform(*spec.crop_s)) * MODEL_RATE_HZ) :] = np.nan
    return window, float(m[i])
