"""Read a folder in the ``falls`` reference format and cut it into the windows a bracelet would send.

Format (see ``../shared/data/README.md``): ``trials.csv`` with one row per trial (``source, trial_id,
file, subject, age, label, activity, rate_hz, fall_start_s, fall_end_s``) and one CSV per trial
(``t_s, ax_g, ay_g, az_g``, irregularly sampled). The ``source`` is the device: leave-one-source-out
evaluation holds one device out at a time.

Windowing, shared by training and evaluation so both see the same thing:

* each trial is split where the recording has a gap longer than ``MAX_GAP_S``; every piece is
  conditioned as the bracelet conditions it (`alerts.fall_signal`: saturated at ±8 g, band-limited,
  20 Hz), and the trigger looks at the conditioned magnitude, so a level means the same on every device;
* a **fall** trial gives one window centred on its impact: the largest magnitude between
  ``fall_start_s`` and ``fall_end_s`` when marked, else the trial's largest magnitude;
* an **ADL** trial gives a window around every peak of at least ``MIN_TRIGGER_G`` (the lowest
  trigger considered), peaks at least ``PEAK_SEPARATION_S`` apart: the windows a bracelet would send;
* each window keeps the magnitude of its peak, so a trigger level picks the windows it would send
  (`TrialWindows.sent`): a fall whose impact stays below the trigger is never sent (a miss), an ADL
  that never reaches it raises nothing;
* every window spans ``PRE_S`` before to ``POST_S`` after its peak, as the bracelet sends it; seconds
  the recording does not have are NaN rows (SmartFallMM trials are cropped to the activity), which the
  features leave out rather than invent;
* each window also keeps its raw samples (`RawWindow`), so training can augment them
  (`evaluation.fall_augment`) and condition the result like any other recording.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Final

import numpy as np

from alerts.fall_model import (
    FEATURE_NAMES,
    MIN_TRIGGER_G,
    MODEL_RATE_HZ,
    POST_S,
    PRE_S,
    FloatArray,
    dejitter,
    resample,
    window_features,
)

MAX_GAP_S: Final = 1.0
PEAK_SEPARATION_S: Final = 2.0
ELDERLY_AGE: Final = 60


@dataclass(frozen=True, slots=True)
class Trial:
    """One row of ``trials.csv``."""

    source: str
    trial_id: str
    file: str
    subject: str
    age: str
    label: str
    activity: str
    fall_start_s: float | None
    fall_end_s: float | None

    @property
    def key(self) -> str:
        """Return the trial's identity across data folders."""
        return f"{self.source}/{self.trial_id}"

    @property
    def group(self) -> str:
        """Return the subject identity used to keep a person's trials in one fold."""
        return f"{self.source}/{self.subject}"

    @property
    def is_fall(self) -> bool:
        """Tell whether the trial is a fall."""
        return self.label == "fall"

    @property
    def elderly(self) -> bool:
        """Tell whether the subject is an older person (SmartFallMM ``old``, or aged 60 and over)."""
        return self.age == "old" or (self.age.isdigit() and int(self.age) >= ELDERLY_AGE)


@dataclass(frozen=True, slots=True)
class RawWindow:
    """The raw samples around a window's peak (a margin beyond the window), and the peak's time."""

    t: FloatArray
    xyz: FloatArray
    peak_t: float


@dataclass(frozen=True, slots=True)
class TrialWindows:
    """A trial with its candidate windows, each (n, 3) on the ``MODEL_RATE_HZ`` grid, and their peaks (g)."""

    trial: Trial
    windows: list[FloatArray]
    peaks: list[float]
    raw: list[RawWindow] = field(default_factory=list)
    duration_s: float = 0.0

    def sent(self, trigger_g: float) -> list[int]:
        """Return the indices of the windows a bracelet triggering at ``trigger_g`` would send."""
        return [k for k, peak in enumerate(self.peaks) if peak >= trigger_g]


@dataclass(frozen=True, slots=True)
class Piece:
    """A stretch of a recording without gaps: raw times and samples, and the conditioned samples on the grid."""

    t: FloatArray
    xyz: FloatArray
    grid: FloatArray

    @property
    def m(self) -> FloatArray:
        """Return the conditioned magnitude, what the trigger sees."""
        return np.asarray(np.linalg.norm(self.grid, axis=1), dtype=np.float64)

    @property
    def grid_t(self) -> FloatArray:
        """Return the times of the grid's samples."""
        return np.asarray(self.t[0] + np.arange(len(self.grid)) / MODEL_RATE_HZ, dtype=np.float64)

    def window_at(self, i: int) -> FloatArray:
        """Return the window centred on grid sample ``i``."""
        return cut_window(self.grid, i)

    def raw_at(self, i: int) -> RawWindow:
        """Return the raw samples around grid sample ``i``, a second beyond the window each side."""
        at = float(self.grid_t[i])
        inside = (self.t >= at - PRE_S - 1.0) & (self.t <= at + POST_S + 1.0)
        return RawWindow(self.t[inside], self.xyz[inside], at)


def _optional_float(text: str | None) -> float | None:
    return float(text) if text not in (None, "") else None


def falls_folder(path: Path) -> Path:
    """Accept the ``falls`` folder itself or a data folder that holds one."""
    nested = path / "falls"
    return nested if not (path / "trials.csv").is_file() and (nested / "trials.csv").is_file() else path


def read_trials(data_dir: Path) -> list[Trial]:
    """Read ``trials.csv`` of a ``falls`` folder."""
    with (data_dir / "trials.csv").open(newline="") as fh:
        return [
            Trial(
                source=row["source"],
                trial_id=row["trial_id"],
                file=row["file"],
                subject=row["subject"],
                age=row.get("age", "") or "",
                label=row["label"],
                activity=row.get("activity", "") or "",
                fall_start_s=_optional_float(row.get("fall_start_s")),
                fall_end_s=_optional_float(row.get("fall_end_s")),
            )
            for row in csv.DictReader(fh)
        ]


def read_samples(data_dir: Path, trial: Trial) -> tuple[FloatArray, FloatArray]:
    """Return a trial's timestamps (s) and accelerations (g), shape (n,) and (n, 3)."""
    table = np.loadtxt(data_dir / trial.file, delimiter=",", skiprows=1, ndmin=2, dtype=np.float64)
    return table[:, 0], table[:, 1:4]


def pieces(t: FloatArray, xyz: FloatArray) -> list[Piece]:
    """Split a recording at its gaps; condition each piece onto the model grid."""
    order = np.argsort(t, kind="stable")
    t, xyz = t[order], xyz[order]
    cuts = np.flatnonzero(np.diff(t) > MAX_GAP_S) + 1
    split = zip(np.split(t, cuts), np.split(xyz, cuts), strict=True)
    return [Piece(dejitter(ts), xs, resample(ts, xs)) for ts, xs in split if len(ts) >= 2]


def cut_window(xyz: FloatArray, centre: int, rate_hz: float = MODEL_RATE_HZ) -> FloatArray:
    """Return ``PRE_S`` before to ``POST_S`` after ``centre``, NaN rows where the recording is shorter."""
    pre, post = round(PRE_S * rate_hz), round(POST_S * rate_hz)
    idx = np.arange(centre - pre, centre + post + 1)
    out = xyz[np.clip(idx, 0, len(xyz) - 1)].copy()
    out[(idx < 0) | (idx >= len(xyz))] = np.nan
    return out


def largest_peaks(m: FloatArray, t: FloatArray, min_g: float, separation_s: float) -> list[int]:
    """Return the indices of every magnitude of at least ``min_g``, largest first, ``separation_s`` apart."""
    chosen: list[int] = []
    for i in np.argsort(m, kind="stable")[::-1]:
        if m[i] < min_g:
            break
        if all(abs(t[i] - t[c]) >= separation_s for c in chosen):
            chosen.append(int(i))
    return chosen


def _fall_window(trial: Trial, parts: list[Piece]) -> tuple[FloatArray, float, RawWindow]:
    """Return the window centred on the fall's impact, the impact's magnitude and the raw samples around it."""
    best: tuple[float, int, int] = (-math.inf, 0, 0)
    for k, part in enumerate(parts):
        m = part.m
        if trial.fall_start_s is not None and trial.fall_end_s is not None:
            gt = part.grid_t
            m = np.where((gt >= trial.fall_start_s) & (gt <= trial.fall_end_s), m, -math.inf)
        i = int(np.argmax(m))
        best = max(best, (float(m[i]), k, i))
    if best[0] == -math.inf:  # the marked interval holds no sample: use the whole trial
        return _fall_window(replace(trial, fall_start_s=None, fall_end_s=None), parts)
    part, i = parts[best[1]], best[2]
    return part.window_at(i), best[0], part.raw_at(i)


def _adl_windows(parts: list[Piece]) -> tuple[list[FloatArray], list[float], list[RawWindow]]:
    """Return a window around every peak of an everyday-activity trial that some trigger could fire on."""
    windows, peaks, raw = [], [], []
    for part in parts:
        m = part.m
        for i in largest_peaks(m, part.grid_t, MIN_TRIGGER_G, PEAK_SEPARATION_S):
            windows.append(part.window_at(i))
            peaks.append(float(m[i]))
            raw.append(part.raw_at(i))
    return windows, peaks, raw


def trial_windows(trial: Trial, t: FloatArray, xyz: FloatArray) -> TrialWindows:
    """Return the candidate windows of one trial (its impact for a fall, every trigger-worthy peak for an ADL)."""
    parts = pieces(t, xyz)
    duration = float(sum(p.t[-1] - p.t[0] for p in parts))
    if not parts:
        return TrialWindows(trial, [], [], [], duration)
    if trial.is_fall:
        window, peak, raw = _fall_window(trial, parts)
        return TrialWindows(trial, [window], [peak], [raw], duration)
    return TrialWindows(trial, *_adl_windows(parts), duration)


def iter_trial_windows(data_dir: Path, trials: list[Trial] | None = None) -> Iterator[TrialWindows]:
    """Yield every trial of a folder that has samples, with its candidate windows (an ADL may have none)."""
    for trial in trials if trials is not None else read_trials(data_dir):
        t, xyz = read_samples(data_dir, trial)
        if len(t) >= 2:
            yield trial_windows(trial, t, xyz)


def features_of(windows: list[FloatArray]) -> FloatArray:
    """Return the feature matrix of windows on the model grid, one row per window."""
    if not windows:
        return np.empty((0, len(FEATURE_NAMES)))
    return np.vstack([window_features(w, MODEL_RATE_HZ) for w in windows])
