"""Bracelet signals synthesised from a day's plan: vitals, steps, battery, position, impact windows.

`vitals_for_day()` samples the plan at the bracelet's telemetry times and returns numpy arrays,
which incidents may then override (tachycardia, low SpO2, a flat battery…) before they become
messages. All randomness comes from the numpy ``Generator`` passed in.

Documented bounds for a healthy resident (checked by the tests): heart rate 40–130 bpm (asleep to a
brisk walk), SpO2 90–100 %, skin temperature 30–36.5 °C, steps 300–25 000 a day, battery 0–100 %.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt

from simulators.fleet import Home, offset
from simulators.routine import HOUR, Profile, Segment

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
CHARGE_PER_H: Final = 55.0


@dataclass(frozen=True, slots=True)
class Vitals:
    """One day of bracelet readings, one entry per telemetry time; incidents edit them in place."""

    t: FloatArray
    heart_rate: FloatArray
    spo2: FloatArray
    steps: FloatArray
    battery: FloatArray
    skin_temp_c: FloatArray
    worn: BoolArray
    lat: FloatArray  # NaN when indoors or not worn
    lon: FloatArray


def telemetry_times(day_start: float, interval_s: float, rng: np.random.Generator) -> FloatArray:
    """Return the bracelet's report times for one day, ``interval_s`` apart with a little jitter."""
    phase = rng.uniform(0, interval_s)
    base = day_start + phase + np.arange(0.0, (24 * HOUR - phase) // interval_s) * interval_s
    times: FloatArray = np.round(base + rng.uniform(-1.5, 1.5, base.size), 3)
    return times[(times >= day_start) & (times < day_start + 24 * HOUR)]


def vitals_for_day(
    plan: list[Segment], profile: Profile, home: Home, battery0: float, rng: np.random.Generator
) -> Vitals:
    """Sample the plan at the telemetry times and synthesise the bracelet's readings."""
    day_start = plan[0].start
    t = telemetry_times(day_start, profile.interval_s, rng)
    seg = np.searchsorted(np.array([s.start for s in plan]), t, side="right") - 1
    col = _columns(plan)
    intensity, asleep, outdoors = col["intensity"][seg], col["asleep"][seg] > 0, col["outdoors"][seg] > 0
    worn, charging = col["worn"][seg] > 0, col["charging"][seg] > 0
    hours = (t - day_start) / HOUR
    hr = profile.rest_hr + 4.0 * np.sin(2 * np.pi * (hours - 10.0) / 24) - 5.0 * asleep
    hr = hr + 38.0 * intensity + rng.normal(0, 2.2, t.size)
    spo2 = profile.spo2 + rng.normal(0, 0.7, t.size) - 1.0 * asleep
    skin = profile.skin_temp_c + 0.6 * asleep - 1.2 * outdoors + rng.normal(0, 0.15, t.size)
    dt = np.diff(t, prepend=day_start)
    stride = profile.cadence * intensity**1.6 * dt / 60 * rng.lognormal(0, 0.25, t.size)
    steps = np.cumsum(np.where(worn, stride, 0.0))
    lat, lon = _positions(plan, seg, t, home, located=worn & outdoors, rng=rng)
    return Vitals(
        t,
        np.clip(hr, 35, 200),
        np.clip(spo2, 90, 100),
        np.floor(steps),
        _battery(battery0, dt, charging, profile.drain_per_h),
        np.clip(skin, 25, 40),
        worn,
        lat,
        lon,
    )


def _columns(plan: list[Segment]) -> dict[str, FloatArray]:
    return {
        "intensity": np.array([s.activity.intensity for s in plan]),
        "asleep": np.array([float(s.activity.asleep) for s in plan]),
        "outdoors": np.array([float(s.activity.room is None) for s in plan]),
        "worn": np.array([float(s.worn) for s in plan]),
        "charging": np.array([float(s.charging) for s in plan]),
    }


def _battery(start: float, dt: FloatArray, charging: BoolArray, drain_per_h: float) -> FloatArray:
    """Drain while off the charger, fill while on it, within 0–100 %."""
    change = np.where(charging, CHARGE_PER_H, -drain_per_h) * dt / HOUR
    out = np.empty_like(dt)
    level = start
    for i, c in enumerate(change.tolist()):
        level = min(100.0, max(0.0, level + c))
        out[i] = level
    return out


def _positions(
    plan: list[Segment],
    seg: npt.NDArray[np.intp],
    t: FloatArray,
    home: Home,
    *,
    located: BoolArray,
    rng: np.random.Generator,
) -> tuple[FloatArray, FloatArray]:
    """Walk away from home and back on an outing; keep walking away when wandering."""
    lat = np.full(t.size, np.nan)
    lon = np.full(t.size, np.nan)
    for i in np.flatnonzero(located).tolist():
        s = plan[int(seg[i])]
        frac = (t[i] - s.start) / max(s.end - s.start, 1.0)
        reach = 300 + 1500 * ((int(s.start) // 60) % 7) / 7  # the outing's farthest point, in metres
        dist = reach * math.sin(math.pi * frac) if s.activity.path == "round_trip" else 400 + 1.1 * (t[i] - s.start)
        heading = (int(s.start) % 360) * math.pi / 180
        n, e = dist * math.cos(heading) + rng.normal(0, 8), dist * math.sin(heading) + rng.normal(0, 8)
        lat[i], lon[i] = offset(home.lat, home.lon, n, e)
    return lat, lon


def impact_window(rng: np.random.Generator, rate_hz: float) -> list[tuple[float, float, float]]:
    """Return a fall seen by a wrist accelerometer: upright, free-fall dip, impact spike, stillness (g).

    As the contract asks (docs/device-contract.md): 4 s before the impact and 10 s after it, so the
    platform's post-impact stage sees the wrist lying still.
    """
    n_fall = max(3, int(rng.uniform(0.3, 0.5) * rate_hz))
    n_hit, n_still = max(2, int(0.08 * rate_hz)), int(10.0 * rate_hz)
    n_pre = int(4.0 * rate_hz) - n_fall
    upright = np.array([0.05, -0.1, 0.99]) + rng.normal(0, 0.08, (n_pre, 3))
    fall = np.linspace(1.0, rng.uniform(0.08, 0.3), n_fall)[:, None] * np.array([0.05, -0.1, 0.99])
    fall = fall + rng.normal(0, 0.03, (n_fall, 3))
    peak = rng.uniform(3.01, 6.5)  # above 3 g even after the samples are rounded
    toward = np.array([0.6, 0.5, -0.6]) / np.linalg.norm([0.6, 0.5, -0.6])  # |a| at the hit is the drawn peak
    hit = peak * toward * np.linspace(1.0, 0.5, n_hit)[:, None]
    lying = np.array([0.97, 0.2, 0.1]) + rng.normal(0, 0.01, (n_still, 3))
    window = np.round(np.vstack([upright, fall, hit, lying]), 3)
    return [(float(x), float(y), float(z)) for x, y, z in window.tolist()]
