"""Features of a conditioned impact window: the impact itself, and what follows it.

A window spans ``PRE_S`` before to ``POST_S`` after its largest magnitude (the peak ``p``), on the
``MODEL_RATE_HZ`` grid of `alerts.fall_signal`. Two groups of hand features, one per stage of the
decision on the platform:

* `IMPACT_FEATURE_NAMES` — up to ``IMPACT_END_S`` after the peak: the free-fall dip, the peak, its jerk,
  width and rebound, the fall's speed, the activity before and the wrist's turn across the impact;
* `POST_FEATURE_NAMES` — from ``IMPACT_END_S`` to ``POST_S`` after it: is the wrist lying still, is
  the new orientation held (and how far it is from before), has walking resumed.

Everything is invariant to how the device's axes are mounted. Rows of the window that are NaN (a
recording that ends before ``POST_S``: only in training data, a bracelet always sends the whole window)
are left out, so a feature of seconds nobody recorded is NaN, never a made-up stillness; the tree
models take NaN natively. After the hand features each row carries the window's signals framed on the
peak (`framed_signals`) for the random-kernel model of `alerts.fall_kernels`. Pure numpy.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

import numpy as np

from alerts.fall_kernels import SIGNAL_NAMES, window_signals
from alerts.fall_signal import MODEL_RATE_HZ, FloatArray, Samples, _span, resample_even

PRE_S: Final = 4.0  # window the bracelet sends: 4 s before the impact ...
POST_S: Final = 10.0  # ... and 10 s after it: the post-impact stage needs the seconds that follow
IMPACT_END_S: Final = 2.0  # the impact stage sees the window up to this long after the peak
STILL_STD_G: Final = 0.05  # a wrist lying on the floor: the magnitude's half-second spread under this
STEP_G: Final = 1.25  # a peak of the magnitude above this, in a gait-like rhythm, is a step
PEAK_G: Final = 1.8  # peaks this high again and again are clapping, shaking or jogging, not a fall

IMPACT_FEATURE_NAMES: Final[tuple[str, ...]] = (
    "peak_g",
    "dip_min_g",
    "dip_to_peak_s",
    "dip_area_gs",
    "jerk_max_gps",
    "impact_energy_gs",
    "peak_width_s",
    "second_peak_ratio",
    "rebound_max_g",
    "pre_mean_g",
    "pre_std_g",
    "pre_jerk_mean_gps",
    "pre_periodicity",
    "pre_peaks_per_s",
    "fall_speed_mps",
    "turn_1s_deg",
    *(f"m_{stat}_{sec:+d}s" for sec in range(-int(PRE_S), int(IMPACT_END_S)) for stat in ("mean", "std")),
)
POST_FEATURE_NAMES: Final[tuple[str, ...]] = (
    "post_mean_g",
    "post_std_g",
    "post_max_g",
    "post_still_frac",
    "post_still_s",
    "post_settle_s",
    "post_active_frac",
    "orientation_change_deg",
    "late_orientation_change_deg",
    "post_orientation_spread_deg",
    "post_periodicity",
    "post_steps_per_s",
    "window_peaks_per_s",
    "window_periodicity",
    *(f"m_{stat}_{sec:+d}s" for sec in range(int(IMPACT_END_S), int(POST_S)) for stat in ("mean", "std")),
)
HAND_FEATURE_NAMES: Final = (*IMPACT_FEATURE_NAMES, *POST_FEATURE_NAMES)
SIGNAL_SAMPLES: Final = round((PRE_S + POST_S) * MODEL_RATE_HZ) + 1
FEATURE_NAMES: Final[tuple[str, ...]] = (
    *HAND_FEATURE_NAMES,
    *(f"{name}_{i:03d}" for name in SIGNAL_NAMES for i in range(SIGNAL_SAMPLES)),
)
IMPACT_COLUMNS: Final = tuple(range(len(IMPACT_FEATURE_NAMES)))
HAND_COLUMNS: Final = tuple(range(len(HAND_FEATURE_NAMES)))


def _n(seconds: float, rate_hz: float) -> int:
    """Return the number of samples in ``seconds``."""
    return round(seconds * rate_hz)


def _stat(values: FloatArray, fn: Callable[[FloatArray], object]) -> float:
    """Apply a reduction, or return NaN when the window has nothing there."""
    return float(fn(values)) if values.size else float("nan")  # type: ignore[arg-type]


def _angle_deg(a: FloatArray, b: FloatArray) -> float:
    """Return the angle between two mean gravity vectors, NaN where either is missing."""
    if a.size == 0 or b.size == 0:
        return float("nan")
    u, v = a.mean(axis=0), b.mean(axis=0)
    denom = float(np.linalg.norm(u) * np.linalg.norm(v))
    return float(np.degrees(np.arccos(np.clip(u @ v / denom, -1.0, 1.0)))) if denom > 0 else float("nan")


def _count_peaks(m: FloatArray, min_height: float) -> int:
    """Count the local maxima above ``min_height``."""
    return int(np.count_nonzero((m[1:-1] > m[:-2]) & (m[1:-1] >= m[2:]) & (m[1:-1] > min_height)))


def _periodicity(m: FloatArray, rate_hz: float) -> float:
    """Return the strongest autocorrelation at gait-like lags (0.3–1.5 s); falls and lying are not periodic."""
    if m.size < 3:
        return float("nan")
    x = m - m.mean()
    energy = float(x @ x)
    lags = np.arange(int(0.3 * rate_hz), min(int(1.5 * rate_hz), len(x) - 1))
    if energy <= 1e-6 * len(x) or lags.size == 0:
        return 0.0
    return float(max(x[:-lag] @ x[lag:] for lag in lags) / energy)


def _fall_speed(m: FloatArray, p: int, r: float) -> float:
    """Return the largest speed (m/s) the wrist gathers falling before the peak: g times ∫(1 g − |a|)."""
    speed, best = 0.0, 0.0
    for value in _span(m, p - _n(1.5, r), p):
        speed = max(0.0, speed + (1.0 - float(value)) / r)  # support (|a| > 1 g) brakes the fall
        best = max(best, speed)
    return best * 9.80665


def _block_spread(m: FloatArray, r: float) -> FloatArray:
    """Return the magnitude's spread over each sliding half second."""
    k = max(_n(0.5, r), 2)
    if m.size < k:
        return np.empty(0)
    return np.asarray(np.lib.stride_tricks.sliding_window_view(m, k).std(axis=1), dtype=np.float64)


def _still_run_s(m: FloatArray, r: float) -> float:
    """Return the longest stretch (s) over which the half-second spread stays under ``STILL_STD_G``."""
    spread = _block_spread(m, r)
    if spread.size == 0:
        return float("nan")
    best = run = 0
    for quiet in spread < STILL_STD_G:
        run = run + 1 if quiet else 0
        best = max(best, run)
    return (best + max(_n(0.5, r), 2) - 1) / r if best else 0.0


def _profile(m: FloatArray, p: int, r: float, first: int, last: int) -> list[float]:
    """Return the magnitude's mean and spread in each second from ``first`` to ``last`` around the peak."""
    out: list[float] = []
    for sec in range(first, last):
        part = _span(m, p + _n(sec, r), p + _n(sec + 1, r))
        out += [_stat(part, np.mean), _stat(part, np.std)]
    return out


def _impact_features(m: FloatArray, xyz: FloatArray, p: int, r: float) -> list[float]:
    """Describe the dip before the peak at ``p``, the impact, the activity before it and the turn across it."""
    dip = _span(m, p - _n(1.0, r), p)
    dip_i = int(np.argmin(dip)) if dip.size else 0
    near = _span(xyz, p - _n(0.5, r), p + _n(0.5, r) + 1)
    jerk = np.linalg.norm(np.diff(near, axis=0), axis=1) * r if len(near) > 1 else np.empty(0)
    half = 1.0 + 0.5 * (m[p] - 1.0)
    above = m > half
    left = p - int(np.argmin(above[p::-1])) if not above[: p + 1].all() else 0
    right = p + int(np.argmin(above[p:])) if not above[p:].all() else len(m)
    around = np.concatenate((_span(m, p - _n(PRE_S, r), p - _n(0.5, r)), _span(m, p + _n(0.5, r) + 1, p + _n(2, r))))
    pre = _span(m, p - _n(PRE_S, r), p - _n(1.0, r))
    pre_xyz = _span(xyz, p - _n(PRE_S, r), p - _n(1.0, r))
    pre_jerk = np.linalg.norm(np.diff(pre_xyz, axis=0), axis=1) * r if len(pre_xyz) > 1 else np.empty(0)
    turn = _angle_deg(_span(xyz, p - _n(1.5, r), p - _n(0.5, r)), _span(xyz, p + _n(0.5, r), p + _n(1.5, r)))
    return [
        float(m[p]),
        _stat(dip, np.min),
        (dip.size - dip_i) / r if dip.size else float("nan"),
        float(np.clip(1.0 - dip, 0.0, None).sum() / r),
        _stat(jerk, np.max),
        float(np.abs(_span(m, p - _n(0.5, r), p + _n(0.5, r) + 1) - 1.0).sum() / r),
        (right - left) / r,
        _stat(around, np.max) / m[p] if m[p] > 0 else float("nan"),
        _stat(_span(m, p + _n(0.5, r), p + _n(IMPACT_END_S, r)), np.max),
        _stat(pre, np.mean),
        _stat(pre, np.std),
        _stat(pre_jerk, np.mean),
        _periodicity(pre, r),
        _count_peaks(pre, PEAK_G) / (pre.size / r) if pre.size >= r else float("nan"),
        _fall_speed(m, p, r),
        turn,
        *_profile(m, p, r, -int(PRE_S), int(IMPACT_END_S)),
    ]


def _orientation_spread_deg(xyz: FloatArray, r: float) -> float:
    """Return the largest angle between any second's mean gravity and the whole stretch's: 0 when held."""
    k = max(_n(1.0, r), 1)
    if len(xyz) < k:
        return float("nan")
    seconds = [xyz[i : i + k] for i in range(0, len(xyz) - k + 1, k)]
    return max(_angle_deg(s, xyz) for s in seconds)


def _post_features(m: FloatArray, xyz: FloatArray, p: int, r: float) -> list[float]:
    """Describe the seconds after the impact: lying still, orientation held and changed, walking resumed."""
    start, stop = p + _n(IMPACT_END_S, r), p + _n(POST_S, r) + 1
    post, post_xyz = _span(m, start, stop), _span(xyz, start, stop)
    after = _span(m, p + _n(0.5, r), stop)
    settle = np.flatnonzero(np.abs(after - 1.0) < 0.15)
    spread = _block_spread(post, r)
    pre_xyz = _span(xyz, p - _n(PRE_S, r), p - _n(1.0, r))
    late_xyz = _span(xyz, max(stop - _n(3.0, r), start), stop)
    seconds = post.size / r
    return [
        _stat(post, np.mean),
        _stat(post, np.std),
        _stat(post, np.max),
        _stat((spread < STILL_STD_G).astype(np.float64), np.mean),
        _still_run_s(post, r),
        float(settle[0] / r) if settle.size else float("nan"),
        _stat((spread > 0.15).astype(np.float64), np.mean),
        _angle_deg(pre_xyz, post_xyz),
        _angle_deg(pre_xyz, late_xyz),
        _orientation_spread_deg(post_xyz, r),
        _periodicity(post, r),
        _count_peaks(post, STEP_G) / seconds if seconds >= 1.0 else float("nan"),
        _count_peaks(m, PEAK_G) / (m.size / r),
        _periodicity(m, r),
        *_profile(m, p, r, int(IMPACT_END_S), int(POST_S)),
    ]


def framed_signals(xyz: FloatArray, p: int, rate_hz: float = MODEL_RATE_HZ) -> FloatArray:
    """Return the window's signals, ``PRE_S`` before to ``POST_S`` after the peak ``p``, edges repeated."""
    pre = _n(PRE_S, rate_hz)
    idx = np.clip(np.arange(p - pre, p + _n(POST_S, rate_hz) + 1), 0, len(xyz) - 1)
    return window_signals(xyz[idx], pre, rate_hz).ravel()


def recorded(xyz: FloatArray) -> FloatArray:
    """Return the window without the NaN rows that stand for seconds the recording does not have."""
    xyz = np.asarray(xyz, dtype=np.float64).reshape(-1, 3)
    return xyz[~np.isnan(xyz).any(axis=1)]


def window_features(xyz: FloatArray, rate_hz: float = MODEL_RATE_HZ) -> FloatArray:
    """Return the `FEATURE_NAMES` vector of one window already on the ``rate_hz`` grid."""
    xyz = recorded(xyz)
    if len(xyz) < 3:
        return np.full(len(FEATURE_NAMES), np.nan)
    m = np.linalg.norm(xyz, axis=1)
    p = int(np.argmax(m))
    hand = [*_impact_features(m, xyz, p, rate_hz), *_post_features(m, xyz, p, rate_hz)]
    return np.concatenate((np.array(hand, dtype=np.float64), framed_signals(xyz, p, rate_hz)))


def impact_features(samples: Samples, rate_hz: float) -> FloatArray:
    """Condition an evenly spaced device window and return its feature vector."""
    return window_features(resample_even(samples, rate_hz), MODEL_RATE_HZ)
