"""Fall confirmation from the bracelet's raw accelerometer window (an ``ImpactEvent``), in stages.

The decision is staged as a bracelet and a telecare centre make it:

1. **impact** (on the bracelet): `ImpactTrigger` fires when the conditioned magnitude (`alerts.fall_signal`:
   saturated at ±8 g, band-limited, 20 Hz) reaches the trigger level; a window that never reaches it is
   never sent and raises nothing. On firing, the bracelet asks "are you OK?" and keeps recording;
2. **impact classifier** (platform): a model of the impact alone (`IMPACT_FEATURE_NAMES`: the seconds up
   to ``IMPACT_END_S`` after the peak) rejects what is plainly no fall — a clap, a table knocked;
3. **post-impact** (platform): a model of the whole window, the ``POST_S`` seconds after the impact
   included (lying still, orientation held, walking not resumed: `POST_FEATURE_NAMES`), decides. The
   bracelet sends the window once those seconds are recorded; the "I'm OK" key pressed meanwhile or
   within the cancel window after the alert cancels it (`alerts.detectors.emergency`);
4. **operator**: what passes is raised as a critical ``fall`` alert.

Two scorers share one interface (`FallScorer`): `FallClassifier`, trained by ``evaluation.fall_training``
and shipped as ``alerts/models/fall_classifier.joblib`` with its report, and `ThresholdFallRule`, a fixed
rule used where no model file is present. A `Calibration` per bracelet model (``alerts/models/
calibrations/{model}.json``, written by ``anxin detect falls --calibrate MODEL``) sets that model's
trigger and thresholds; a bracelet of a model without one uses the shipped, conservative ones
(`FallClassifier.for_model`). Nothing here does I/O except `load_fall_classifier` reading the files.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Final, Protocol

import numpy as np

from alerts.fall_features import (
    FEATURE_NAMES,
    HAND_FEATURE_NAMES,
    IMPACT_END_S,
    IMPACT_FEATURE_NAMES,
    POST_FEATURE_NAMES,
    POST_S,
    PRE_S,
    SIGNAL_SAMPLES,
    framed_signals,
    impact_features,
    window_features,
)
from alerts.fall_signal import (
    IMPACT_TRIGGER,
    IMPACT_TRIGGER_G,
    MIN_TRIGGER_G,
    MODEL_RATE_HZ,
    SATURATION_G,
    FloatArray,
    ImpactTrigger,
    Samples,
    _span,
    dejitter,
    magnitudes,
    resample,
    resample_even,
    saturate,
    triggers,
)

__all__ = [
    "BUNDLE_FORMAT",
    "DEFAULT_CALIBRATION_DIR",
    "DEFAULT_MODEL_PATH",
    "FEATURE_NAMES",
    "HAND_FEATURE_NAMES",
    "IMPACT_END_S",
    "IMPACT_FEATURE_NAMES",
    "IMPACT_TRIGGER",
    "IMPACT_TRIGGER_G",
    "MIN_TRIGGER_G",
    "MODEL_RATE_HZ",
    "POST_FEATURE_NAMES",
    "POST_S",
    "PRE_S",
    "SATURATION_G",
    "SIGNAL_SAMPLES",
    "Calibration",
    "FallClassifier",
    "FallScorer",
    "FloatArray",
    "ImpactTrigger",
    "StageResult",
    "ThresholdFallRule",
    "dejitter",
    "framed_signals",
    "impact_features",
    "load_fall_classifier",
    "magnitudes",
    "resample",
    "resample_even",
    "saturate",
    "triggers",
    "window_features",
]

log = logging.getLogger(__name__)

DEFAULT_MODEL_PATH: Final = Path(__file__).resolve().parent / "models" / "fall_classifier.joblib"
DEFAULT_CALIBRATION_DIR: Final = DEFAULT_MODEL_PATH.parent / "calibrations"
BUNDLE_FORMAT: Final = 4


class FallScorer(Protocol):
    """Anything that scores an impact window and decides whether it is a fall."""

    def score(self, samples: Samples, rate_hz: float) -> float:
        """Return how fall-like the window is, in [0, 1]."""
        ...

    def is_fall(self, samples: Samples, rate_hz: float) -> bool:
        """Tell whether the window is a fall."""
        ...


@dataclass(frozen=True, slots=True)
class StageResult:
    """How far a window got through the stages, with each stage's score (NaN where it was not reached)."""

    triggered: bool
    impact_score: float = float("nan")
    score: float = float("nan")
    impact_passed: bool = False
    fall: bool = False


@dataclass(frozen=True, slots=True)
class Calibration:
    """A bracelet model's own trigger and thresholds, and the figures they were chosen on."""

    model: str
    trigger_g: float
    impact_threshold: float
    threshold: float
    figures: Mapping[str, Any] = field(default_factory=dict)

    def to_json(self) -> str:
        """Return the calibration file's text."""
        return json.dumps(asdict(self), indent=2, ensure_ascii=False) + "\n"

    @classmethod
    def from_json(cls, text: str) -> Calibration:
        """Read a calibration file's text."""
        raw = json.loads(text)
        return cls(
            str(raw["model"]),
            float(raw["trigger_g"]),
            float(raw["impact_threshold"]),
            float(raw["threshold"]),
            dict(raw.get("figures", {})),
        )


def calibration_path(model: str, directory: Path = DEFAULT_CALIBRATION_DIR) -> Path:
    """Return where the calibration of a bracelet model is kept."""
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in model)
    return directory / f"{safe}.json"


def read_calibrations(directory: Path = DEFAULT_CALIBRATION_DIR) -> dict[str, Calibration]:
    """Read every calibration in ``directory`` (none when it does not exist), keyed by bracelet model."""
    if not directory.is_dir():
        return {}
    found = (Calibration.from_json(p.read_text()) for p in sorted(directory.glob("*.json")))
    return {c.model: c for c in found}


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

    def conditions(self, samples: Samples, rate_hz: float) -> tuple[bool, ...]:
        """Return which of the three stages (dip, impact, stillness) the window shows."""
        xyz = resample_even(samples, rate_hz)
        m = np.linalg.norm(xyz, axis=1)
        p = int(np.argmax(m))
        r = MODEL_RATE_HZ
        dip = _span(m, p - round(self.dip_window_s * r), p)
        post = _span(m, p + round(r), p + round(POST_S * r) + 1)
        still = bool(post.size < 3 or np.std(post) < self.still_std_g)
        return bool(dip.size and dip.min() < self.dip_g), bool(m[p] > self.peak_g), still

    def score(self, samples: Samples, rate_hz: float) -> float:
        """Return the fraction of the three stages present."""
        return sum(self.conditions(samples, rate_hz)) / 3.0

    def is_fall(self, samples: Samples, rate_hz: float) -> bool:
        """Tell whether all three stages are present."""
        return all(self.conditions(samples, rate_hz))

    def for_model(self, model: str | None) -> ThresholdFallRule:
        """Return the rule itself: it has no calibration."""
        del model
        return self


class FallClassifier:
    """Score impact windows in stages: the trigger, the impact model, then the whole-window (post-impact) model.

    ``pipeline`` scores the whole window (impact and the seconds after it); ``impact_pipeline`` the
    impact alone. A window is a fall when it fired ``trigger``, its impact score reaches
    ``impact_threshold`` and its whole-window score reaches ``threshold``. ``calibrations`` hold other
    triggers and thresholds per bracelet model (`for_model`).
    """

    def __init__(
        self,
        pipeline: Any,
        threshold: float = 0.5,
        metadata: Mapping[str, Any] | None = None,
        trigger: ImpactTrigger = IMPACT_TRIGGER,
        impact_pipeline: Any = None,
        impact_threshold: float = 0.0,
        calibrations: Mapping[str, Calibration] | None = None,
    ) -> None:
        self.pipeline = pipeline
        self.threshold = threshold
        self.metadata: Mapping[str, Any] = metadata or {}
        self.trigger = trigger
        self.impact_pipeline = impact_pipeline
        self.impact_threshold = impact_threshold
        self.calibrations: Mapping[str, Calibration] = calibrations or {}
        self.calibrated_for: str | None = None

    @classmethod
    def from_bundle(
        cls, bundle: Mapping[str, Any], calibrations: Mapping[str, Calibration] | None = None
    ) -> FallClassifier:
        """Build a classifier from the dictionary stored in the model file."""
        if bundle.get("format") != BUNDLE_FORMAT or tuple(bundle.get("feature_names", ())) != FEATURE_NAMES:
            raise ValueError("model file was built for another feature set; retrain with `anxin train falls`")
        skip = {"pipeline", "threshold", "impact_pipeline", "impact_threshold"}
        meta = {k: v for k, v in bundle.items() if k not in skip}
        trigger = ImpactTrigger(peak_g=float(bundle["trigger_g"]))
        return cls(
            bundle["pipeline"],
            float(bundle["threshold"]),
            meta,
            trigger,
            bundle.get("impact_pipeline"),
            float(bundle.get("impact_threshold", 0.0)),
            calibrations,
        )

    def to_bundle(self) -> dict[str, Any]:
        """Return the dictionary written to the model file."""
        return {
            **self.metadata,
            "format": BUNDLE_FORMAT,
            "feature_names": list(FEATURE_NAMES),
            "pipeline": self.pipeline,
            "threshold": self.threshold,
            "impact_pipeline": self.impact_pipeline,
            "impact_threshold": self.impact_threshold,
            "trigger_g": self.trigger.peak_g,
        }

    def calibrated(self, calibration: Calibration) -> FallClassifier:
        """Return this classifier with a bracelet model's trigger and thresholds."""
        out = FallClassifier(
            self.pipeline,
            calibration.threshold,
            self.metadata,
            replace(self.trigger, peak_g=calibration.trigger_g),
            self.impact_pipeline,
            calibration.impact_threshold,
            self.calibrations,
        )
        out.calibrated_for = calibration.model
        return out

    def for_model(self, model: str | None) -> FallClassifier:
        """Return the classifier calibrated for a bracelet model, or this one (the default) when it has none."""
        calibration = self.calibrations.get(model) if model else None
        return self if calibration is None else self.calibrated(calibration)

    def score_features(self, features: FloatArray) -> FloatArray:
        """Return the whole-window fall probability of each row of a feature matrix."""
        x = np.asarray(features, dtype=np.float64).reshape(-1, len(FEATURE_NAMES))
        return np.asarray(self.pipeline.predict_proba(x)[:, 1], dtype=np.float64)

    def impact_scores(self, features: FloatArray) -> FloatArray:
        """Return the impact stage's fall probability of each row (1 where there is no impact model)."""
        x = np.asarray(features, dtype=np.float64).reshape(-1, len(FEATURE_NAMES))
        if self.impact_pipeline is None:
            return np.ones(len(x))
        return np.asarray(self.impact_pipeline.predict_proba(x)[:, 1], dtype=np.float64)

    def stages_of_features(self, features: FloatArray) -> list[StageResult]:
        """Judge rows of sent windows (the trigger fired on each) through the two platform stages."""
        impact, whole = self.impact_scores(features), self.score_features(features)
        return [
            StageResult(
                True,
                float(i),
                float(s),
                bool(i >= self.impact_threshold),
                bool(i >= self.impact_threshold and s >= self.threshold),
            )
            for i, s in zip(impact, whole, strict=True)
        ]

    def stages(self, samples: Samples, rate_hz: float) -> StageResult:
        """Return how far one device window gets through the stages."""
        grid = resample_even(samples, rate_hz)
        if not self.trigger.fires_on_grid(grid):
            return StageResult(False)
        return self.stages_of_features(window_features(grid, MODEL_RATE_HZ))[0]

    def score(self, samples: Samples, rate_hz: float) -> float:
        """Return the whole-window fall probability of one device window."""
        return float(self.score_features(impact_features(samples, rate_hz))[0])

    def is_fall(self, samples: Samples, rate_hz: float) -> bool:
        """Tell whether the window fired the trigger and passed both platform stages."""
        return self.stages(samples, rate_hz).fall


def load_fall_classifier(path: Path | None = None, calibrations: Path | None = None) -> FallScorer:
    """Load the classifier from ``path`` (default: the shipped model) with the bracelet models' calibrations.

    Calibrations are read from ``calibrations`` (default: the ``calibrations`` folder beside the model);
    without a model file the fixed rule is used.
    """
    import joblib  # noqa: PLC0415 — only this function touches the disk

    path = path or DEFAULT_MODEL_PATH
    if not path.is_file():
        log.warning("no fall model at %s: using the threshold rule (train one with `anxin train falls`)", path)
        return ThresholdFallRule()
    found = read_calibrations(calibrations or path.parent / "calibrations")
    return FallClassifier.from_bundle(joblib.load(path), found)
