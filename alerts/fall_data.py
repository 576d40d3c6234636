"""Read a folder in the ``falls`` reference format and cut it into the windows a bracelet would send.

Format (see ``../shared/data/README.md``): ``trials.csv`` with one row per trial (``source, trial_id,
file, subject, age, label, activity, rate_hz, fall_start_s, fall_end_s``) and one CSV per trial
(``t_s, ax_g, ay_g, az_g``, irregularly sampled).

Windowing, shared by training and evaluation so both see the same thing:

* each trial is split where the recording has a gap longer than ``MAX_GAP_S`` and every piece is
  resampled to ``MODEL_RATE_HZ``;
* a **fall** trial gives one window centred on its impact: the largest magnitude between
  ``fall_start_s`` and ``fall_end_s`` when marked, else the trial's largest magnitude;
* an **ADL** trial gives up to ``ADL_PEAKS`` windows around its largest, well-separated peaks: these
  are the moments a bracelet's impact trigger would fire, so they are the hard negatives;
* every window spans ``PRE_S`` before to ``POST_S`` after its peak, as the bracelet sends it; where
  the trial is shorter, the edge value is repeated (SmartFallMM trials are cropped to the activity).
"""

from __future__ import annotations

import csv
import math
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Final

import numpy as np

from alerts.fall_model import MODEL_RATE_HZ, POST_S, PRE_S, FloatArray, resample, window_features

MAX_GAP_S: Final = 1.0
ADL_PEAKS: Final = 3
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
class TrialWindows:
    """A trial with its candidate windows, each (n, 3) on the ``MODEL_RATE_HZ`` grid."""

    trial: Trial
    windows: list[FloatArray]


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


def segments(t: FloatArray, xyz: FloatArray) -> list[tuple[float, FloatArray]]:
    """Split at recording gaps and resample each piece; return (start time, samples) pairs."""
    order = np.argsort(t, kind="stable")
    t, xyz = t[order], xyz[order]
    cuts = np.flatnonzero(np.diff(t) > MAX_GAP_S) + 1
    pieces = zip(np.split(t, cuts), np.split(xyz, cuts), strict=True)
    return [(float(ts[0]), resample(ts, xs)) for ts, xs in pieces if len(ts) >= 2]


def cut_window(xyz: FloatArray, centre: int, rate_hz: float = MODEL_RATE_HZ) -> FloatArray:
    """Return ``PRE_S`` before to ``POST_S`` after ``centre``, repeating edge values where short."""
    pre, post = round(PRE_S * rate_hz), round(POST_S * rate_hz)
    idx = np.clip(np.arange(centre - pre, centre + post + 1), 0, len(xyz) - 1)
    return xyz[idx]


def largest_peaks(m: FloatArray, count: int, separation: int) -> list[int]:
    """Return the indices of up to ``count`` largest magnitudes at least ``separation`` apart."""
    chosen: list[int] = []
    for i in np.argsort(m, kind="stable")[::-1]:
        if all(abs(int(i) - c) >= separation for c in chosen):
            chosen.append(int(i))
            if len(chosen) == count:
                break
    return chosen


def _fall_window(trial: Trial, pieces: list[tuple[float, FloatArray]]) -> FloatArray:
    """Return the window centred on the fall's impact."""
    best: tuple[float, int, int] = (-math.inf, 0, 0)
    for k, (t0, xyz) in enumerate(pieces):
        m = np.linalg.norm(xyz, axis=1)
        t = t0 + np.arange(len(m)) / MODEL_RATE_HZ
        if trial.fall_start_s is not None and trial.fall_end_s is not None:
            m = np.where((t >= trial.fall_start_s) & (t <= trial.fall_end_s), m, -math.inf)
        i = int(np.argmax(m))
        best = max(best, (float(m[i]), k, i))
    if best[0] == -math.inf:  # the marked interval holds no sample: use the whole trial
        return _fall_window(replace(trial, fall_start_s=None, fall_end_s=None), pieces)
    return cut_window(pieces[best[1]][1], best[2])


def _adl_windows(pieces: list[tuple[float, FloatArray]]) -> list[FloatArray]:
    """Return windows around the largest peaks of an everyday-activity trial."""
    candidates: list[tuple[float, FloatArray]] = []
    for _, xyz in pieces:
        m = np.linalg.norm(xyz, axis=1)
        for i in largest_peaks(m, ADL_PEAKS, round(PEAK_SEPARATION_S * MODEL_RATE_HZ)):
            candidates.append((float(m[i]), cut_window(xyz, i)))
    candidates.sort(key=lambda c: -c[0])
    return [w for _, w in candidates[:ADL_PEAKS]]


def trial_windows(trial: Trial, t: FloatArray, xyz: FloatArray) -> list[FloatArray]:
    """Return the candidate windows of one trial (one for a fall, a few peaks for an ADL)."""
    pieces = segments(t, xyz)
    if not pieces:
        return []
    return [_fall_window(trial, pieces)] if trial.is_fall else _adl_windows(pieces)


def iter_trial_windows(data_dir: Path, trials: list[Trial] | None = None) -> Iterator[TrialWindows]:
    """Yield every trial of a folder that has samples, with its candidate windows."""
    for trial in trials if trials is not None else read_trials(data_dir):
        windows = trial_windows(trial, *read_samples(data_dir, trial))
        if windows:
            yield TrialWindows(trial, windows)


def features_of(windows: list[FloatArray]) -> FloatArray:
    """Return the feature matrix of windows on the model grid, one row per window."""
    return np.vstack([window_features(w, MODEL_RATE_HZ) for w in windows])
