"""The personal adjustment's rules, without a database: what counts as the same movement, and what is never lowered."""

from __future__ import annotations

import math
from datetime import UTC, datetime

import numpy as np

from alerts.adjustment import (
    PROFILE_FEATURES,
    AdjustmentPolicy,
    Example,
    adjusted,
    decide,
    distance_g,
    may_lower,
    movement,
)
from alerts.fall_model import HAND_FEATURE_NAMES
from alerts.findings import Finding
from alerts.kinds import Severity
from tests.alerts.movements import RATE_HZ, fall_then_still, habit, other_movement

POLICY = AdjustmentPolicy()


def _history(n: int, label: str = "false_alarm", seed: int = 1) -> list[Example]:
    rng = np.random.default_rng(seed)
    return [Example(i, label, movement(habit(rng), RATE_HZ)) for i in range(n)]  # type: ignore[arg-type]


def test_the_movement_is_described_by_the_runtime_classifiers_own_features() -> None:
    # If the classifier's features are renamed, these go missing and nothing is ever lowered: pinned here.
    assert {f"m_{stat}_{sec:+d}s" for sec in range(-4, 6) for stat in ("mean", "std")} <= set(PROFILE_FEATURES)
    assert "post_still_s" in HAND_FEATURE_NAMES


def test_the_same_movement_is_near_and_another_is_far() -> None:
    rng = np.random.default_rng(2)
    a, b = movement(habit(rng), RATE_HZ), movement(habit(rng), RATE_HZ)
    assert distance_g(a, b) < POLICY.radius_g / 3
    assert distance_g(a, movement(other_movement(rng), RATE_HZ)) > 1.5 * POLICY.radius_g


def test_enough_similar_false_alarms_lower_a_look_alike() -> None:
    window = movement(habit(np.random.default_rng(3)), RATE_HZ)
    assert decide(window, _history(POLICY.min_similar - 1), POLICY) is None
    found = decide(window, _history(5), POLICY)
    assert found is not None and found.similar == 5 and found.example_ids == (0, 1, 2, 3, 4)


def test_one_similar_confirmed_fall_cancels_the_adjustment() -> None:
    window = movement(habit(np.random.default_rng(4)), RATE_HZ)
    history = _history(5) + _history(1, "fall", seed=9)
    assert decide(window, history, POLICY) is None


def test_a_fall_followed_by_stillness_is_never_lowered() -> None:
    window = movement(fall_then_still(np.random.default_rng(5)), RATE_HZ)
    assert not may_lower(window, POLICY)
    assert decide(window, _history(10), POLICY) is None


def test_a_window_too_short_to_show_what_followed_is_never_lowered() -> None:
    cut = habit(np.random.default_rng(6))[: int(5 * RATE_HZ)]  # the device sent only 1 s after the impact
    window = movement(cut, RATE_HZ)
    assert not window.shows_after
    assert decide(window, _history(10), POLICY) is None


def test_the_adjusted_finding_says_why_in_both_languages_and_keeps_the_original() -> None:
    finding = Finding(
        "fall", "r1", datetime(2026, 11, 2, tzinfo=UTC), "impact looks like a fall", "撞击判断为跌倒",
        severity=Severity.CRITICAL, details={"score": 0.9, "source": "impact"},
    )  # fmt: skip
    found = decide(movement(habit(np.random.default_rng(7)), RATE_HZ), _history(5), POLICY)
    assert found is not None
    lowered = adjusted(finding, found, POLICY)
    assert lowered.severity is Severity.HIGH
    assert lowered.explanation.startswith("impact looks like a fall; this resident's last 5 similar alerts")
    assert "该老人最近5次类似报警均为误报" in lowered.explanation_zh
    assert lowered.details["score"] == 0.9
    assert not math.isnan(lowered.details["personal_adjustment"]["nearest_g"])  # type: ignore[index]
