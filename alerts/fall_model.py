"""Fall confirmation from the bracelet's raw accelerometer window (an ``ImpactEvent``).

Fall detection is a two-stage system. Stage 1 runs on the bracelet: `ImpactTrigger` (one place, used
by the firmware's specification, the evaluation and the classifier alike) sends a window when the
acceleration magnitude reaches ``IMPACT_TRIGGER_G``; a window that never reaches it is never sent, so
it raises nothing. Stage 2 runs on the platform and confirms or rejects the fall from that window.

Stage 2, in order: ``resample`` puts any window, evenly or irregularly timed, on a fixed grid
(``MODEL_RATE_HZ``); ``window_features`` turns it into one row: a short vector of impact-relative hand
features (`HAND_FEATURE_NAMES`: the free-fall dip before the peak, the peak and its jerk, stillness and
orientation afterwards) followed by the window's signals framed on the peak (`framed_signals`), which the
shipped model turns into random-kernel features (`alerts.fall_kernels`). Everything is invariant to how
the device's axes are mounted, so a new bracelet model needs no retraining for that;
a scorer says how fall-like the window is. Two scorers share one interface (`FallScorer`):

* `FallClassifier` — a scikit-learn pipeline trained by ``alerts.fall_training`` and shipped as
  ``alerts/models/fall_classifier.joblib`` with its report;
* `ThresholdFallRule` — a documented fixed rule, used where no model file is present.

Features are taken relative to the largest magnitude in the window, so the device may put the impact
anywhere in what it sends; parts of the window the device did not send become NaN in the hand features
(the tree models handle them natively) and repeat the edge value in the signals, as in training.
Nothing here does I/O except `load_fall_classifier` reading the model.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, Protocol

import numpy as np
import numpy.typing as npt

from alerts.fall_kernels import SIGNAL_NAMES, window_signals

log = logging.getLogger(__name__)

FloatArray = npt.NDArray[np.float64]

MODEL_RATE_HZ: Final = 20.0  # the slowest source (UMAFall's wrist tag) samples at about 20 Hz
PRE_S: Final = 4.0  # window the bracelet sends: 4 s before the impact ...
POST_S: Final = 6.0  # ... and 6 s after it
CLIP_G: Final = 16.0  # full scale of common wrist accelerometers; larger readings are glitches
DEFAULT_MODEL_PATH: Final = Path(__file__).resolve().parent / "models" / "fall_classifier.joblib"
BUNDLE_FORMAT: Final = 3
# The bracelet's impact trigger (stage 1). Chosen by ``alerts.fall_training`` from the trigger rule
# (the highest level that still fires on 97 % of the training subjects' falls; see the report) and
# recorded in the model file; the firmware must be set to it. Wrist falls onto mats in SmartFallMM
# often peak below 2 g, which is why it sits at the low end of what wrist devices use (1.5–3 g).
IMPACT_TRIGGER_G: Final = 1.5
MIN_TRIGGER_G: Final = 1.5  # no lower trigger is considered: brisk arm swings and steps reach it

HAND_FEATURE_NAMES: Final[tuple[str, ...]] = (
    "peak_g",
    "dip_min_g",
    "dip_to_peak_s",
    "dip_area_gs",
    "jerk_max_gps",
    "impact_energy_gs",
    "peak_width_s",
    "second_peak_ratio",
    "rebound_max_g",
    "post_mean_g",
    "post_std_g",
    "post_still_frac",
    "post_max_g",
    "pre_mean_g",
    "pre_std_g",
    "orientation_change_deg",
    "window_mean_g",
    "window_std_g",
    "peaks_per_s",
    "periodicity",
    "turn_1s_deg",
    # the magnitude's mean and spread in each second from PRE_S before to POST_S after the peak
    *(f"m_{stat}_{sec:+d}s" for sec in range(-int(PRE_S), int(POST_S)) for stat in ("mean", "std")),
    "fall_speed_mps",
    "pre_jerk_mean_gps",
    "post_still_s",
    "post_std_2_4s",
    "post_axis_var_2_4s",
    "post_settle_s",
)
SIGNAL_SAMPLES: Final = round((PRE_S + POST_S) * MODEL_RATE_HZ) + 1
# after the hand features, each row carries the window's signals (`alerts.fall_kernels.window_signals`),
# framed PRE_S before to POST_S after the peak, for the random-kernel model
FEATURE_NAMES: Final[tuple[str, ...]] = (
    *HAND_FEATURE_NAMES,
    *(f"{name}_{i:03d}" for name in SIGNAL_NAMES for i in range(SIGNAL_SAMPLES)),
)


class FallScorer(Protocol):
    """Anything that scores an impact window and decides whether it is a fall."""

    def score(self, samples: Sequence[Sequence[float]] | FloatArray, rate_hz: float) -> float:
        """Return how fall-like the window is, in [0, 1]."""
        ...

    def is_fall(self, samples: Sequence[Sequence[float]] | FloatArray, rate_hz: float) -> bool:
        """Tell whether the window is a fall."""
        ...


# --- stage 1: the bracelet's impact trigger ----------------------------------------------------


def magnitudes(samples: Sequence[Sequence[float]] | FloatArray) -> FloatArray:
    """Return |a| of each sample (g), glitches beyond the full scale clipped."""
    xyz = np.clip(np.asarray(samples, dtype=np.float64).reshape(-1, 3), -CLIP_G, CLIP_G)
    return np.asarray(np.linalg.norm(xyz, axis=1), dtype=np.float64)


@dataclass(frozen=True, slots=True)
class ImpactTrigger:
    """Fire when |a| reaches ``peak_g``, optionally only after a free-fall dip below ``dip_g``.

    The dip (within ``dip_window_s`` before the peak) is off by default: volunteers' falls onto mats
    and hand-braced falls often show none at the wrist, and a missed trigger is a missed fall.
    """

    peak_g: float = IMPACT_TRIGGER_G
    dip_g: float | None = None
    dip_window_s: float = 1.0

    def fires(self, samples: Sequence[Sequence[float]] | FloatArray, rate_hz: float) -> bool:
        """Tell whether the bracelet would send this stretch of samples as an impact window."""
        m = magnitudes(samples)
        hits = np.flatnonzero(m >= self.peak_g)
        if self.dip_g is None or hits.size == 0:
            return bool(hits.size)
        reach = max(round(self.dip_window_s * rate_hz), 1)
        return any(bool((_span(m, int(i) - reach, int(i)) < self.dip_g).any()) for i in hits)


IMPACT_TRIGGER: Final = ImpactTrigger()


def triggers(
    samples: Sequence[Sequence[float]] | FloatArray, rate_hz: float, trigger: ImpactTrigger = IMPACT_TRIGGER
) -> bool:
    """Tell whether the bracelet's impact trigger fires on these samples (stage 1)."""
    return trigger.fires(samples, rate_hz)


# --- resampling -------------------------------------------------------------------------------


def dejitter(t: FloatArray) -> FloatArray:
    """Return sorted timestamps, spread evenly where they look like batched delivery times."""
    t = np.sort(np.asarray(t, dtype=np.float64))
    if t.size < 3 or t[-1] <= t[0]:
        return t
    mean_dt = (t[-1] - t[0]) / (t.size - 1)
    # Phones and watches often stamp samples when a batch arrives: runs of (nearly) equal stamps,
    # far more of them than honest irregular sampling gives. The sensor itself samples evenly, so
    # spreading the samples over the span is closer to the truth.
    if np.mean(np.diff(t) < 0.1 * mean_dt) > 0.25:
        return np.linspace(t[0], t[-1], t.size)
    return t


def resample(t: FloatArray, xyz: FloatArray, rate_hz: float = MODEL_RATE_HZ) -> FloatArray:
    """Put samples taken at times ``t`` (s) on an even grid at ``rate_hz``, keeping impacts."""
    xyz = np.clip(np.asarray(xyz, dtype=np.float64).reshape(-1, 3), -CLIP_G, CLIP_G)
    order = np.argsort(np.asarray(t, dtype=np.float64), kind="stable")
    ts, xyz = dejitter(np.asarray(t, dtype=np.float64)), xyz[order]
    keep = np.concatenate(([True], np.diff(ts) > 0))  # np.interp needs strictly increasing times
    ts, xyz = ts[keep], xyz[keep]
    if ts.size < 2:
        return xyz.copy()
    grid = np.arange(ts[0], ts[-1] + 1e-9, 1.0 / rate_hz)
    out = np.column_stack([np.interp(grid, ts, xyz[:, k]) for k in range(3)])
    return _keep_peaks(out, ts - ts[0], xyz, rate_hz)


def _keep_peaks(out: FloatArray, t: FloatArray, xyz: FloatArray, rate_hz: float) -> FloatArray:
    """Where several samples share one output period, take the one of largest magnitude.

    Interpolating a 50 Hz impact onto a 20 Hz grid would halve a 60 ms spike; the impact is the
    feature that matters most, and this keeps a fast bracelet's window comparable to a slow one's.
    """
    cell = np.rint(t * rate_hz).astype(np.intp)
    inside = cell < len(out)
    cell, xyz = cell[inside], xyz[inside]
    order = np.lexsort((np.linalg.norm(xyz, axis=1), cell))  # by cell, then by magnitude
    last = order[np.r_[cell[order][1:] != cell[order][:-1], True]]  # the largest sample of each cell
    crowded = np.bincount(cell, minlength=len(out))[cell[last]] > 1
    out[cell[last[crowded]]] = xyz[last[crowded]]
    return out


def resample_even(
    samples: Sequence[Sequence[float]] | FloatArray, rate_hz: float, to_hz: float = MODEL_RATE_HZ
) -> FloatArray:
    """Resample evenly spaced samples (as an ``ImpactEvent`` carries them) to ``to_hz``."""
    xyz = np.asarray(samples, dtype=np.float64).reshape(-1, 3)
    return resample(np.arange(len(xyz)) / rate_hz, xyz, to_hz)


# --- features ---------------------------------------------------------------------------------


def _span(x: FloatArray, start: int, stop: int) -> FloatArray:
    """Return x[start:stop] clipped to the array (an empty array where nothing is left)."""
    return x[max(start, 0) : max(min(stop, len(x)), 0)]


def _n(seconds: float, rate_hz: float) -> int:
    """Return the number of samples in ``seconds``."""
    return round(seconds * rate_hz)


def _stat(values: FloatArray, fn: Any) -> float:
    """Apply a reduction, or return NaN when the device did not send that part of the window."""
    return float(fn(values)) if values.size else float("nan")


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
    """Return the strongest autocorrelation at gait-like lags (0.3–1.5 s); falls are not periodic."""
    x = m - m.mean()
    energy = float(x @ x)
    lags = np.arange(int(0.3 * rate_hz), min(int(1.5 * rate_hz), len(x) - 1))
    if energy <= 0 or lags.size == 0:
        return 0.0
    return float(max(x[:-lag] @ x[lag:] for lag in lags) / energy)


def _impact_features(m: FloatArray, xyz: FloatArray, p: int, r: float) -> list[float]:
    """Describe the dip before the peak at ``p`` and the impact itself."""
    dip = _span(m, p - _n(1.0, r), p)
    dip_i = int(np.argmin(dip)) if dip.size else 0
    near = _span(xyz, p - _n(0.5, r), p + _n(0.5, r) + 1)
    jerk = np.linalg.norm(np.diff(near, axis=0), axis=1) * r if len(near) > 1 else np.empty(0)
    half = 1.0 + 0.5 * (m[p] - 1.0)
    above = m > half
    left = p - int(np.argmin(above[p::-1])) if not above[: p + 1].all() else 0
    right = p + int(np.argmin(above[p:])) if not above[p:].all() else len(m)
    others = np.concatenate((_span(m, 0, p - _n(0.5, r)), _span(m, p + _n(0.5, r) + 1, len(m))))
    return [
        float(m[p]),
        _stat(dip, np.min),
        (dip.size - dip_i) / r if dip.size else float("nan"),
        float(np.clip(1.0 - dip, 0.0, None).sum() / r),
        _stat(jerk, np.max),
        float(np.abs(_span(m, p - _n(0.5, r), p + _n(0.5, r) + 1) - 1.0).sum() / r),
        (right - left) / r,
        _stat(others, np.max) / m[p] if m[p] > 0 else float("nan"),
        _stat(_span(m, p + _n(0.5, r), p + _n(2.0, r)), np.max),
    ]


def _context_features(m: FloatArray, xyz: FloatArray, p: int, r: float) -> list[float]:
    """Describe the activity before the impact, the stillness after it and the wrist's turn."""
    post = _span(m, p + _n(1.0, r), p + _n(POST_S, r) + 1)
    pre = _span(m, p - _n(PRE_S, r), p - _n(1.0, r))
    post_xyz = _span(xyz, p + _n(1.0, r), p + _n(POST_S, r) + 1)
    pre_xyz = _span(xyz, p - _n(PRE_S, r), p - _n(1.0, r))
    return [
        _stat(post, np.mean),
        _stat(post, np.std),
        _stat((np.abs(post - 1.0) < 0.1).astype(np.float64), np.mean),
        _stat(post, np.max),
        _stat(pre, np.mean),
        _stat(pre, np.std),
        _angle_deg(pre_xyz, post_xyz),
        float(m.mean()),
        float(m.std()),
        _count_peaks(m, 1.8) / (len(m) / r),
        _periodicity(m, r),
    ]


def _profile_features(m: FloatArray, xyz: FloatArray, p: int, r: float) -> list[float]:
    """Describe the turn of the wrist across the impact and the magnitude second by second."""
    turn = _angle_deg(_span(xyz, p - _n(1.5, r), p - _n(0.5, r)), _span(xyz, p + _n(0.5, r), p + _n(1.5, r)))
    profile: list[float] = []
    for sec in range(-int(PRE_S), int(POST_S)):
        part = _span(m, p + _n(sec, r), p + _n(sec + 1, r))
        profile += [_stat(part, np.mean), _stat(part, np.std)]
    return [turn, *profile]


def _fall_speed(m: FloatArray, p: int, r: float) -> float:
    """Return the largest speed (m/s) the wrist gathers falling before the peak: g times ∫(1 g − |a|)."""
    speed, best = 0.0, 0.0
    for value in _span(m, p - _n(1.5, r), p):
        speed = max(0.0, speed + (1.0 - float(value)) / r)  # support (|a| > 1 g) brakes the fall
        best = max(best, speed)
    return best * 9.80665


def _still_run_s(m: FloatArray, r: float, std_g: float = 0.05) -> float:
    """Return the longest stretch (s) over which the magnitude's half-second spread stays under ``std_g``."""
    k = max(_n(0.5, r), 2)
    if m.size < k:
        return float("nan")
    spread = np.lib.stride_tricks.sliding_window_view(m, k).std(axis=1)
    best = run = 0
    for quiet in spread < std_g:
        run = run + 1 if quiet else 0
        best = max(best, run)
    return (best + k - 1) / r if best else 0.0


def _recovery_features(m: FloatArray, xyz: FloatArray, p: int, r: float) -> list[float]:
    """Describe the fall's speed, the activity before it and how long and how soon the wrist lies still."""
    pre_xyz = _span(xyz, p - _n(PRE_S, r), p - _n(1.0, r))
    pre_jerk = np.linalg.norm(np.diff(pre_xyz, axis=0), axis=1) * r if len(pre_xyz) > 1 else np.empty(0)
    late = _span(xyz, p + _n(2.0, r), p + _n(4.0, r))
    after = _span(m, p + _n(0.5, r), p + _n(POST_S, r) + 1)
    settle = np.flatnonzero(np.abs(after - 1.0) < 0.15)
    return [
        _fall_speed(m, p, r),
        _stat(pre_jerk, np.mean),
        _still_run_s(after, r),
        _stat(_span(m, p + _n(2.0, r), p + _n(4.0, r)), np.std),
        float(late.var(axis=0).sum()) if len(late) > 1 else float("nan"),
        float(settle[0] / r) if settle.size else float("nan"),
    ]


def framed_signals(xyz: FloatArray, p: int, rate_hz: float = MODEL_RATE_HZ) -> FloatArray:
    """Return the window's signals, ``PRE_S`` before to ``POST_S`` after the peak ``p``, edges repeated."""
    pre = _n(PRE_S, rate_hz)
    idx = np.clip(np.arange(p - pre, p + _n(POST_S, rate_hz) + 1), 0, len(xyz) - 1)
    return window_signals(xyz[idx], pre, rate_hz).ravel()


def window_features(xyz: FloatArray, rate_hz: float = MODEL_RATE_HZ) -> FloatArray:
    """Return the `FEATURE_NAMES` vector of one window already on the ``rate_hz`` grid (`MODEL_RATE_HZ`)."""
    xyz = np.asarray(xyz, dtype=np.float64).reshape(-1, 3)
    if len(xyz) < 3:
        return np.full(len(FEATURE_NAMES), np.nan)
    m = np.linalg.norm(xyz, axis=1)
    p = int(np.argmax(m))
    hand = [
        *_impact_features(m, xyz, p, rate_hz),
        *_context_features(m, xyz, p, rate_hz),
        *_profile_features(m, xyz, p, rate_hz),
        *_recovery_features(m, xyz, p, rate_hz),
    ]
    return np.concatenate((np.array(hand, dtype=np.float64), framed_signals(xyz, p, rate_hz)))


def impact_features(samples: Sequence[Sequence[float]] | FloatArray, rate_hz: float) -> FloatArray:
    """Resample an evenly spaced device window and return its feature vector."""
    return window_features(resample_even(samples, rate_hz), MODEL_RATE_HZ)


# --- scorers ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ThresholdFallRule:
    """Call a fall when a free-fall dip is followed by a hard impact and then by stillness.

    The classic three-stage rule of wrist fall detectors: the magnitude drops below ``dip_g``
    within ``dip_window_s`` before a peak above ``peak_g``, and from 1 s after the peak the
    magnitude's standard deviation stays under ``still_std_g``. Where the device sent nothing
    after the peak, stillness cannot be checked and counts as met (a missed fall costs more than
    a call). The score is the fraction of the three conditions met.
    """

    peak_g: float = 2.5
    dip_g: float = 0.6
    dip_window_s: float = 1.0
    still_std_g: float = 0.25

    def conditions(self, samples: Sequence[Sequence[float]] | FloatArray, rate_hz: float) -> tuple[bool, ...]:
        """Return which of the three stages (dip, impact, stillness) the window shows."""
        xyz = resample_even(samples, rate_hz)
        m = np.linalg.norm(xyz, axis=1)
        p = int(np.argmax(m))
        r = MODEL_RATE_HZ
        dip = _span(m, p - round(self.dip_window_s * r), p)
        post = _span(m, p + round(r), p + round(POST_S * r) + 1)
        still = bool(post.size < 3 or np.std(post) < self.still_std_g)
        return bool(dip.size and dip.min() < self.dip_g), bool(m[p] > self.peak_g), still

    def score(self, samples: Sequence[Sequence[float]] | FloatArray, rate_hz: float) -> float:
        """Return the fraction of the three stages present."""
        return sum(self.conditions(samples, rate_hz)) / 3.0

    def is_fall(self, samples: Sequence[Sequence[float]] | FloatArray, rate_hz: float) -> bool:
        """Tell whether all three stages are present."""
        return all(self.conditions(samples, rate_hz))


class FallClassifier:
    """Score impact windows with a trained scikit-learn pipeline and a decision threshold.

    ``trigger`` is the bracelet trigger the model was trained behind: a window that would not have
    fired it is outside what the model has seen, and is not a fall (the system never sends it).
    """

    def __init__(
        self,
        pipeline: Any,
        threshold: float = 0.5,
        metadata: Mapping[str, Any] | None = None,
        trigger: ImpactTrigger = IMPACT_TRIGGER,
    ) -> None:
        self.pipeline = pipeline
        self.threshold = threshold
        self.metadata: Mapping[str, Any] = metadata or {}
        self.trigger = trigger

    @classmethod
    def from_bundle(cls, bundle: Mapping[str, Any]) -> FallClassifier:
        """Build a classifier from the dictionary stored in the model file."""
        if bundle.get("format") != BUNDLE_FORMAT or tuple(bundle.get("feature_names", ())) != FEATURE_NAMES:
            raise ValueError("model file was built for another feature set; retrain with `anxin train falls`")
        meta = {k: v for k, v in bundle.items() if k not in {"pipeline", "threshold"}}
        trigger = ImpactTrigger(peak_g=float(bundle["trigger_g"]))
        return cls(bundle["pipeline"], float(bundle["threshold"]), meta, trigger)

    def to_bundle(self) -> dict[str, Any]:
        """Return the dictionary written to the model file."""
        return {
            **self.metadata,
            "format": BUNDLE_FORMAT,
            "feature_names": list(FEATURE_NAMES),
            "pipeline": self.pipeline,
            "threshold": self.threshold,
            "trigger_g": self.trigger.peak_g,
        }

    def score_features(self, features: FloatArray) -> FloatArray:
        """Return the fall probability of each row of a feature matrix."""
        x = np.asarray(features, dtype=np.float64).reshape(-1, len(FEATURE_NAMES))
        return np.asarray(self.pipeline.predict_proba(x)[:, 1], dtype=np.float64)

    def score(self, samples: Sequence[Sequence[float]] | FloatArray, rate_hz: float) -> float:
        """Return the fall probability of one device window."""
        return float(self.score_features(impact_features(samples, rate_hz))[0])

    def is_fall(self, samples: Sequence[Sequence[float]] | FloatArray, rate_hz: float) -> bool:
        """Tell whether the window fired the trigger and its score reaches the decision threshold."""
        return self.trigger.fires(samples, rate_hz) and self.score(samples, rate_hz) >= self.threshold


def load_fall_classifier(path: Path | None = None) -> FallScorer:
    """Load the classifier from ``path`` (default: the shipped model), or fall back to the rule."""
    import joblib  # noqa: PLC0415 — only this function touches the disk

    path = path or DEFAULT_MODEL_PATH
    if not path.is_file():
        log.warning("no fall model at %s: using the threshold rule (train one with `anxin train falls`)", path)
        return ThresholdFallRule()
    return FallClassifier.from_bundle(joblib.load(path))
