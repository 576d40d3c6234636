"""The operating point chosen for a false-alert budget, on synthetic replays with known answers."""

from __future__ import annotations

import numpy as np

from evaluation.inactivity_budget import (
    NO_CEILING,
    Ceiling,
    HomeRun,
    Incident,
    ceilings_left_out,
    choose,
    choose_ceiling,
    curve,
    leave_one_home_out,
    point,
)

ALPHAS = (0.1, 0.01, 0.001, 0.0001)


def _incident(lowest: list[float], *, daytime: bool = True, other: float | None = None) -> Incident:
    minutes = np.arange(len(lowest), dtype=np.float64) * 10  # a tick every 10 minutes
    return Incident(daytime, other, minutes, np.array(lowest, dtype=np.float64))


def _home(name: str, lowest: list[float], *, days: float = 30, other_alerts: int = 0) -> HomeRun:
    """A home whose normal silences reached ``lowest`` (all above every alpha at the day's first look)."""
    incident = _incident([0.5, 0.05, 0.005, 0.0005, 0.00005])  # below 0.1 at 10 min, 0.01 at 20, …
    first = np.ones(len(lowest), dtype=np.float64)
    return HomeRun(name, days, other_alerts, first, np.array(lowest, dtype=np.float64), (incident,))


def test_an_incident_is_found_at_the_first_tick_below_alpha_or_by_another_kind_first() -> None:
    incident = _incident([0.5, 0.05, 0.005, 0.0005])
    assert incident.delay(0.1) == 10.0
    assert incident.delay(0.001) == 30.0
    assert incident.delay(0.0001) is None
    assert _incident([0.5, 0.05, 0.005], other=15.0).delay(0.001) == 15.0


def test_a_silence_is_a_false_alert_once_below_alpha_unless_it_was_raised_the_day_before() -> None:
    run = HomeRun("h", 1, 1, np.array([1.0, 1.0, 0.005]), np.array([0.05, 0.5, 0.001]), ())
    assert run.false_alerts(0.1) == 1 + 1  # the first silence; the third was below 0.1 already at the first look
    assert run.false_alerts(0.01) == 1 + 0  # the third: below 0.01 at the first look, raised the day before
    assert run.false_alerts(0.004) == 1 + 1  # the third, raised today
    out = HomeRun("h", 1, 1, run.first, run.lowest, (), np.array([True, False, False]), other_alerts_out=1)
    assert out.false_alerts_out(0.1) == 1 + 1 and out.false_alerts_out(0.004) == 1 + 0


def test_the_largest_alpha_within_the_budget_is_chosen() -> None:
    # 30 home-days: at 0.1 three false alerts, at 0.01 one, at 0.001 none.
    run = _home("h", [0.05, 0.02, 0.005, 0.5])
    assert [run.false_alerts(a) for a in ALPHAS] == [3, 1, 0, 0]
    assert choose([run], budget=1.0, alphas=ALPHAS) == 0.01
    assert choose([run], budget=0.5, alphas=ALPHAS) == 0.001
    assert choose([run], budget=3.0, alphas=ALPHAS) == 0.1


def test_with_no_alpha_within_the_budget_the_most_careful_is_chosen() -> None:
    run = _home("h", [0.5], other_alerts=5)  # the other kinds alone spend the budget
    assert choose([run], budget=1.0, alphas=ALPHAS) == min(ALPHAS)


def test_the_curve_trades_delay_for_false_alerts() -> None:
    rows = curve([_home("h", [0.05, 0.02, 0.005])], ALPHAS)
    assert [r["false_alerts"] for r in rows] == [3, 1, 0, 0]
    assert [r["median_delay_min"] for r in rows] == [10.0, 20.0, 30.0, 40.0]
    at = point([_home("h", [0.05])], 0.01)
    assert at["false_alerts_per_30_days"] == 0.0 and at["detected_day"] == 1 and at["incidents_night"] == 0


def test_leave_one_home_out_scores_each_home_at_the_point_the_others_chose() -> None:
    calm = [_home("a", [0.5]), _home("b", [0.5])]
    restless = _home("c", [0.05, 0.05, 0.05])  # normal silences the calm homes never show
    runs = {"only": [*calm, restless]}
    result = leave_one_home_out(runs, budget=1.0)
    per_home = result["per_home"]
    assert isinstance(per_home, dict)
    # The calm homes allow the largest alpha; on the restless home it raises three false alerts in 30 days.
    assert per_home["c"]["alpha"] == 0.1 and per_home["c"]["false_alerts"] == 3
    # Left out, each calm home is scored at what a calm and a restless home together allow.
    assert per_home["a"]["alpha"] < 0.05 and per_home["a"]["false_alerts"] == 0  # type: ignore[operator]
    worst = result["worst"]
    assert isinstance(worst, dict) and worst["false_alerts_per_30_days"] == 3.0 and worst["missed"] == 0


def _timed_incident(lengths: list[float], *, daytime: bool = True) -> Incident:
    """An incident the model never finds, its silence ``lengths`` minutes at a tick every 10 minutes."""
    minutes = np.arange(len(lengths), dtype=np.float64) * 10
    lowest = np.ones(len(lengths), dtype=np.float64)
    flags = np.full(len(lengths), daytime, dtype=np.bool_)
    return Incident(daytime, None, minutes, lowest, np.array(lengths, dtype=np.float64), flags)


def test_an_incident_is_found_at_the_ceiling_for_the_time_of_day_its_silence_began() -> None:
    lengths = [np.nan, 60.0, 180.0, 240.0, 360.0]  # not judged at the first tick
    day, night = _timed_incident(lengths), _timed_incident(lengths, daytime=False)
    assert day.delay(0.001) is None and day.delay(0.001, NO_CEILING) is None
    assert day.delay(0.001, Ceiling(day_min=240.0)) == 30.0
    assert night.delay(0.001, Ceiling(day_min=240.0)) is None
    assert night.delay(0.001, Ceiling(day_min=240.0, night_min=360.0)) == 40.0
    # Below alpha first: the model's delay.
    early = _incident([0.5, 0.05, 0.005])
    assert early.delay(0.01, Ceiling(day_min=240.0)) == 20.0


def test_a_silence_reaching_the_ceiling_is_a_false_alert_unless_it_reached_it_the_day_before() -> None:
    # Three daytime silences all above alpha: 2 h, 5 h, and one already 5 h at the day's first look.
    run = HomeRun(
        "h", 30, 0, np.ones(3), np.ones(3), (), None, 0,
        np.array([10.0, 10.0, 300.0]), np.array([120.0, 300.0, 400.0]), np.array([True, True, True]),
    )  # fmt: skip
    assert run.false_alerts(0.001) == 0
    assert run.false_alerts(0.001, Ceiling(day_min=240.0)) == 1
    assert run.false_alerts(0.001, Ceiling(day_min=60.0)) == 2
    assert run.false_alerts(0.001, Ceiling(night_min=60.0)) == 0
    assert point([run], 0.001, Ceiling(day_min=60.0))["false_alerts_per_30_days"] == 2.0


def test_the_ceiling_chosen_is_the_quickest_within_the_old_rules_false_alerts() -> None:
    lengths = [np.nan, 60.0, 180.0, 240.0, 360.0]
    run = HomeRun(
        "h", 30, 0, np.ones(2), np.ones(2), (_timed_incident(lengths),), None, 0,
        np.array([10.0, 10.0]), np.array([200.0, 300.0]), np.array([True, True]),
    )  # fmt: skip
    none, six, four, three = (Ceiling(h and 60.0 * h) for h in (None, 6, 4, 3))
    assert run.false_alerts(0.001, three) == 2 and run.false_alerts(0.001, four) == 1
    assert choose_ceiling([run], 0.001, [none, six, four, three]) == three  # 2 in 30 days: within 5
    assert choose_ceiling([run], 0.001, [none, six, four, three], rate=1.0) == four
    assert choose_ceiling([run], 0.001, [none, three], rate=0.5) == none
    calm = HomeRun("c", 30, 0, np.ones(1), np.ones(1), (_timed_incident(lengths),), None, 0,
                   np.array([10.0]), np.array([20.0]), np.array([True]))  # fmt: skip
    left = ceilings_left_out([run, calm], 0.001, [none, four, three], rate=1.0)
    per_home = left["per_home"]
    assert isinstance(per_home, dict)
    # Chosen on the calm home alone, the quickest; scored on the restless one, its two false alerts.
    assert per_home["h"]["ceiling"] == "day 3 h, night none" and per_home["h"]["false_alerts"] == 2
    assert per_home["c"]["ceiling"] == "day 4 h, night none"
