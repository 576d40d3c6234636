"""The fall model's stages on synthetic signals: post-impact features, calibrations, the choice per bracelet model."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import psycopg
import pytest

from alerts.detectors import ImpactFallDetector, LongLieDetector
from alerts.detectors.base import ResidentProfile, profiles_for
from alerts.fall_model import (
    FEATURE_NAMES,
    IMPACT_FEATURE_NAMES,
    POST_FEATURE_NAMES,
    POST_S,
    PRE_S,
    Calibration,
    FallClassifier,
    ImpactTrigger,
    ThresholdFallRule,
    calibration_path,
    impact_features,
    read_calibrations,
    window_features,
)
from gateway.contract import ImpactEvent
from gateway.registry import Device, DeviceKind
from ingest.devices import load_devices, upsert_devices, upsert_residents
from tests.alerts.detector_factories import BRACELET, RID, ev

RATE = 20.0


def _still(seconds: float, gravity: tuple[float, float, float], rng: np.random.Generator) -> np.ndarray:
    return np.asarray(gravity) + rng.normal(0.0, 0.01, (round(seconds * RATE), 3))


def _walk(seconds: float, rng: np.random.Generator) -> np.ndarray:
    t = np.arange(round(seconds * RATE)) / RATE
    walk = np.column_stack([0.1 * np.sin(2 * np.pi * t), np.zeros_like(t), 1.0 + 0.4 * np.sin(2 * np.pi * 2 * t)])
    return walk + rng.normal(0.0, 0.02, walk.shape)


def _impact() -> np.ndarray:
    return np.array([[0.1, 0.2, 0.6], [0.1, 0.2, 0.2], [2.5, 1.0, 3.5], [1.5, 0.5, 1.5]])


def fall_then(after: str, rng: np.random.Generator) -> np.ndarray:
    """Stand, fall (dip and impact), then lie still on the side or get up and walk on."""
    rest = _still(POST_S, (1.0, 0.0, 0.0), rng) if after == "lie" else _walk(POST_S, rng)
    return np.vstack([_still(PRE_S, (0.0, 0.0, 1.0), rng), _impact(), rest])


def value(window: np.ndarray, name: str) -> float:
    return float(impact_features(window, RATE)[FEATURE_NAMES.index(name)])


# --- post-impact features -----------------------------------------------------------------------


def test_the_feature_groups_split_the_impact_from_what_follows_it() -> None:
    assert not set(IMPACT_FEATURE_NAMES) & set(POST_FEATURE_NAMES)
    assert FEATURE_NAMES[: len(IMPACT_FEATURE_NAMES)] == IMPACT_FEATURE_NAMES
    assert {"post_still_frac", "late_orientation_change_deg", "post_steps_per_s"} <= set(POST_FEATURE_NAMES)


def test_lying_still_after_the_impact_reads_as_still_turned_and_not_walking() -> None:
    lie = fall_then("lie", np.random.default_rng(1))
    assert value(lie, "post_still_frac") > 0.9
    assert value(lie, "late_orientation_change_deg") > 60
    assert value(lie, "post_orientation_spread_deg") < 5  # the new orientation is held
    assert value(lie, "post_steps_per_s") < 0.2


def test_walking_on_after_the_impact_reads_as_walking_resumed() -> None:
    walk = fall_then("walk", np.random.default_rng(2))
    assert value(walk, "post_still_frac") < 0.1
    assert value(walk, "post_periodicity") > 0.5
    assert value(walk, "post_steps_per_s") > 1.0
    assert value(walk, "late_orientation_change_deg") < 20


def test_seconds_a_recording_lacks_are_missing_not_still() -> None:
    lie = fall_then("lie", np.random.default_rng(3))
    cut = lie.copy()
    cut[round((PRE_S + 1.5) * RATE) :] = np.nan  # the recording ends 1.5 s after the impact
    features = window_features(cut, RATE)
    for name in ("post_still_frac", "post_still_s", "late_orientation_change_deg", "post_steps_per_s"):
        assert np.isnan(features[FEATURE_NAMES.index(name)]), name
    assert np.isfinite(features[FEATURE_NAMES.index("peak_g")])


# --- calibrations per bracelet model -------------------------------------------------------------


class _Scores:
    """A stand-in pipeline: the window's peak magnitude (g) divided by 10 is its fall probability."""

    classes_ = np.array([False, True])

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        p = np.clip(np.asarray(x)[:, FEATURE_NAMES.index("peak_g")] / 10.0, 0.0, 1.0)
        return np.column_stack([1 - p, p])


def _classifier(calibrations: dict[str, Calibration] | None = None) -> FallClassifier:
    return FallClassifier(_Scores(), 0.3, {}, ImpactTrigger(peak_g=1.5), _Scores(), 0.1, calibrations)


def test_a_calibration_file_round_trips(tmp_path: Path) -> None:
    calibration = Calibration("AX-7", 2.0, 0.2, 0.6, {"calibrated": {"sensitivity": 0.97}})
    path = calibration_path("AX-7", tmp_path)
    path.write_text(calibration.to_json())
    assert Calibration.from_json(path.read_text()) == calibration
    assert read_calibrations(tmp_path) == {"AX-7": calibration}
    assert read_calibrations(tmp_path / "absent") == {}
    assert calibration_path("a/b model", tmp_path).parent == tmp_path  # a model name never leaves the folder


def test_a_bracelet_model_gets_its_calibration_and_any_other_the_default() -> None:
    strict = Calibration("AX-7", 2.0, 0.2, 0.45)
    classifier = _classifier({"AX-7": strict})
    own = classifier.for_model("AX-7")
    assert (own.trigger.peak_g, own.impact_threshold, own.threshold) == (2.0, 0.2, 0.45)
    assert own.calibrated_for == "AX-7"
    assert classifier.for_model("unknown") is classifier and classifier.for_model(None) is classifier
    assert ThresholdFallRule().for_model("AX-7") == ThresholdFallRule()
    window = fall_then("lie", np.random.default_rng(4))  # peak about 4.4 g: score 0.44
    assert classifier.is_fall(window, RATE) and not own.is_fall(window, RATE)
    stages = own.stages(window, RATE)
    assert stages.triggered and stages.impact_passed and not stages.fall


def _impact_obs(at: datetime, rng: np.random.Generator):  # type: ignore[no-untyped-def]
    samples = [tuple(map(float, s)) for s in fall_then("lie", rng)]
    return ev(ImpactEvent, at, rate_hz=RATE, samples=samples)


@pytest.mark.parametrize(("model", "raised"), [("AX-7", False), ("other", True), (None, True)])
def test_the_platform_judges_an_impact_with_the_bracelets_model_calibration(model: str | None, raised: bool) -> None:
    classifier = _classifier({"AX-7": Calibration("AX-7", 2.0, 0.2, 0.45)})
    profile = ResidentProfile(RID, tz=UTC, bracelet_id=BRACELET, devices=(BRACELET,), bracelet_model=model)
    detector, lie = ImpactFallDetector(classifier), LongLieDetector(classifier)
    detector.register_resident(profile)
    lie.register_resident(profile)
    obs = _impact_obs(datetime(2025, 3, 1, 10, tzinfo=UTC), np.random.default_rng(5))
    findings = detector.observe(obs)
    assert bool(findings) is raised
    if raised:
        assert findings[0].details["bracelet_model"] == model
    lie.observe(obs)
    assert bool(lie.tick(datetime(2025, 3, 1, 11, tzinfo=UTC))) is raised  # the long-lie watch follows the same call


def test_a_residents_profile_carries_the_model_of_their_bracelet() -> None:
    devices = [
        Device("b1", DeviceKind.BRACELET, "r1", model="AX-7"),
        Device("h1", DeviceKind.HUB, "r1"),
        Device("b2", DeviceKind.BRACELET, "r2"),
    ]
    profiles = {p.resident_id: p for p in profiles_for(["r1", "r2", "r3"], devices)}
    assert profiles["r1"].bracelet_model == "AX-7" and profiles["r1"].bracelet_id == "b1"
    assert profiles["r2"].bracelet_model is None and profiles["r3"].bracelet_id is None


def test_the_registry_keeps_a_bracelets_model_and_the_platform_uses_its_calibration(db_url: str) -> None:
    with psycopg.connect(db_url) as conn:
        upsert_residents(conn, [("r1", "王奶奶")])
        upsert_devices(conn, [Device("b1", DeviceKind.BRACELET, "r1", model="AX-7")])
        upsert_devices(conn, [Device("b1", DeviceKind.BRACELET, "r1")])  # bound again, model not given: kept
        devices = load_devices(conn)
    assert [d.model for d in devices] == ["AX-7"]
    (profile,) = profiles_for(["r1"], devices)
    detector = ImpactFallDetector(_classifier({"AX-7": Calibration("AX-7", 2.0, 0.2, 0.45)}))
    detector.register_resident(replace(profile, resident_id=RID))
    assert detector.observe(_impact_obs(datetime(2025, 3, 1, 10, tzinfo=UTC), np.random.default_rng(6))) == []
