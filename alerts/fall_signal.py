"""Device-independent input for fall detection: one range, one band, one rate, and the trigger on top of it.

Bracelets differ in what they measure: 20 Hz or 50 Hz, ±8 g or ±16 g, irregular or even sampling. A
model trained on one device and a trigger level chosen on it hold on another only if both see the same
signal. Every window, in training and live, goes through `condition`:

1. **saturate** each axis at ±``SATURATION_G`` (8 g: the range of cheap wrist accelerometers; a ±16 g
   device's readings above it are cut the way a ±8 g device cuts them);
2. **resample** to ``MODEL_RATE_HZ`` (20 Hz, the slowest source): interpolate onto a grid five times
   finer, **band-limit** it there with a moving mean one output period (50 ms) long (first zero at
   20 Hz, half power near 9 Hz: nothing a 20 Hz device could not have seen), then keep, of each output
   period, the sample of largest magnitude. Keeping the peak rather than the centre sample matters:
   on the leave-one-source-out check, centre samples of a twice-smoothed signal (a 100 ms triangle)
   cost FallAllD's falls their sharpness (specificity at 0.95 sensitivity 0.53 against 0.60).

`ImpactTrigger` (stage 1, the bracelet's) fires on the conditioned magnitude, so its level means the same
on every device; the firmware runs the same conditioning (documented in ``docs/device-contract.md``).
Pure numpy, no I/O.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
Samples = Sequence[Sequence[float]] | FloatArray

MODEL_RATE_HZ: Final = 20.0  # the slowest source (UMAFall's wrist tag) samples at about 20 Hz
SATURATION_G: Final = 8.0  # the common range: cheap wrist accelerometers are ±8 g or less
OVERSAMPLE: Final = 5  # the band-limiting runs on a grid this many times finer than the output
# The bracelet's impact trigger (stage 1) on the conditioned magnitude: the conservative default, for a
# bracelet model without a calibration of its own. The shipped model records the level chosen in the
# leave-one-source-out loop (`evaluation.fall_training`); a calibration may set another per model.
IMPACT_TRIGGER_G: Final = 1.6
MIN_TRIGGER_G: Final = 1.3  # no lower trigger is considered: walking and arm swings reach it all the time


def saturate(xyz: Samples, limit_g: float = SATURATION_G) -> FloatArray:
    """Return the samples as (n, 3) with each axis cut at ±``limit_g``, as a sensor of that range reads them."""
    return np.clip(np.asarray(xyz, dtype=np.float64).reshape(-1, 3), -limit_g, limit_g)


def magnitudes(samples: Samples) -> FloatArray:
    """Return |a| of each sample (g) after saturation."""
    return np.asarray(np.linalg.norm(saturate(samples), axis=1), dtype=np.float64)


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


def _moving_mean(x: FloatArray, k: int) -> FloatArray:
    """Return the centred moving mean of each column over ``k`` rows, edges repeated."""
    if k <= 1:
        return x
    padded = np.pad(x, ((k // 2, k - 1 - k // 2), (0, 0)), mode="edge")
    csum = np.cumsum(np.vstack([np.zeros((1, x.shape[1])), padded]), axis=0)
    return np.asarray((csum[k:] - csum[:-k]) / k, dtype=np.float64)


def resample(t: FloatArray, xyz: FloatArray, rate_hz: float = MODEL_RATE_HZ) -> FloatArray:
    """Saturate, band-limit and put samples taken at times ``t`` (s) on an even grid at ``rate_hz``."""
    xyz = saturate(xyz)
    order = np.argsort(np.asarray(t, dtype=np.float64), kind="stable")
    ts, xyz = dejitter(np.asarray(t, dtype=np.float64)), xyz[order]
    keep = np.concatenate(([True], np.diff(ts) > 0))  # np.interp needs strictly increasing times
    ts, xyz = ts[keep], xyz[keep]
    if ts.size < 2:
        return xyz.copy()
    fine_hz = rate_hz * OVERSAMPLE
    fine_t = np.arange(ts[0], ts[-1] + 1e-9, 1.0 / fine_hz)
    fine = np.column_stack([np.interp(fine_t, ts, xyz[:, k]) for k in range(3)])
    smooth = _moving_mean(fine, OVERSAMPLE)
    return _pool_peaks(smooth)


def _pool_peaks(fine: FloatArray) -> FloatArray:
    """Keep, of each ``OVERSAMPLE`` fine samples, the one of largest magnitude (the impact is what matters)."""
    n = (len(fine) - 1) // OVERSAMPLE + 1
    cells = np.clip(
        np.arange(n)[:, None] * OVERSAMPLE + np.arange(-(OVERSAMPLE // 2), OVERSAMPLE // 2 + 1), 0, len(fine) - 1
    )
    pick = cells[np.arange(n), np.argmax(np.linalg.norm(fine[cells], axis=2), axis=1)]
    return np.ascontiguousarray(fine[pick])


def resample_even(samples: Samples, rate_hz: float, to_hz: float = MODEL_RATE_HZ) -> FloatArray:
    """Condition evenly spaced samples (as an ``ImpactEvent`` carries them) onto the ``to_hz`` grid."""
    xyz = np.asarray(samples, dtype=np.float64).reshape(-1, 3)
    return resample(np.arange(len(xyz)) / rate_hz, xyz, to_hz)


condition = resample_even  # the name the firmware's specification uses


def _span(x: FloatArray, start: int, stop: int) -> FloatArray:
    """Return x[start:stop] clipped to the array (an empty array where nothing is left)."""
    return x[max(start, 0) : max(min(stop, len(x)), 0)]


@dataclass(frozen=True, slots=True)
class ImpactTrigger:
    """Fire when the conditioned |a| reaches ``peak_g``, optionally only after a free-fall dip below ``dip_g``.

    The dip (within ``dip_window_s`` before the peak) is off by default: volunteers' falls onto mats
    and hand-braced falls often show none at the wrist, and a missed trigger is a missed fall.
    """

    peak_g: float = IMPACT_TRIGGER_G
    dip_g: float | None = None
    dip_window_s: float = 1.0

    def fires(self, samples: Samples, rate_hz: float) -> bool:
        """Tell whether the bracelet would send this stretch of samples as an impact window."""
        return self.fires_on_grid(resample_even(samples, rate_hz), MODEL_RATE_HZ)

    def fires_on_grid(self, xyz: FloatArray, rate_hz: float = MODEL_RATE_HZ) -> bool:
        """Tell whether conditioned samples (already on the model grid) fire the trigger."""
        m = np.linalg.norm(np.asarray(xyz, dtype=np.float64).reshape(-1, 3), axis=1)
        hits = np.flatnonzero(m >= self.peak_g)
        if self.dip_g is None or hits.size == 0:
            return bool(hits.size)
        reach = max(round(self.dip_window_s * rate_hz), 1)
        return any(bool((_span(m, int(i) - reach, int(i)) < self.dip_g).any()) for i in hits)


IMPACT_TRIGGER: Final = ImpactTrigger()


def triggers(samples: Samples, rate_hz: float, trigger: ImpactTrigger = IMPACT_TRIGGER) -> bool:
    """Tell whether the bracelet's impact trigger fires on these samples (stage 1)."""
    return trigger.fires(samples, rate_hz)
