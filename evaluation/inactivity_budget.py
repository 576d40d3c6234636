"""The inactivity detector's operating point: a delay-versus-false-alerts curve and a false-alert budget.

The detector raises a silence once its survival — the share of this resident's normal pauses in the same
context that last as long — falls below ``alpha``. Every scored replay (`evaluation.inactivity_eval`) keeps,
instead of alerts at one setting, what any setting would have done: for each silence of a normal day the
survival at the day's first look and the lowest it reached, and for each injected incident the running
lowest survival after the cut. So one replay gives the whole curve: false alerts per home per 30 days and
the delays for every ``alpha`` on a grid, the other inactivity kinds (not up, bathroom, no activity today)
counted as they are. Each silence and incident also keeps its length at every look and the time of day it
began, so the same replay scores a fixed ceiling (`Ceiling`: raised at the ceiling for its time of day or
below ``alpha``, whichever comes first) without replaying again.

`choose` takes the largest ``alpha`` — the shortest delays — whose false alerts stay within the budget;
`leave_one_home_out` chooses the settings and ``alpha`` on all homes but one and scores the one left out.
`choose_ceiling` takes, at a given ``alpha``, the ceiling with the shortest daytime delay whose false alerts
stay within the old rule's (`OLD_RULE_PER_30_DAYS`); `ceilings_left_out` makes that choice on all homes but
one and scores the one left out.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt

# 0.1 … 1e-6, four a decade; below that most limits reach the detector's longest (a day) and stop moving.
ALPHAS: Final = tuple(float(f"{10 ** (-i / 4):.3g}") for i in range(4, 25))
BUDGET_PER_30_DAYS: Final = 1.0  # false alerts per home per 30 days
# The false alerts of the rule before the survival curves (2 × the usual pause + 1 h): 5 in 31 home-days.
# A ceiling on a silence may spend up to this much to bound the delay: never worse for the resident on the
# floor, no worse for the desk than before.
OLD_RULE_PER_30_DAYS: Final = 5.0

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]


@dataclass(frozen=True, slots=True)
class Ceiling:
    """The most a silence is left, in minutes, by the time of day it began (`Tuning.day_ceiling`); None: no ceiling."""

    day_min: float | None = None
    night_min: float | None = None

    def limits(self, daytime: BoolArray) -> FloatArray:
        """Return the ceiling of each silence, by whether it began in the daytime (infinite: none)."""
        day, night = (math.inf if m is None else m for m in (self.day_min, self.night_min))
        return np.where(daytime, day, night).astype(np.float64)

    @property
    def name(self) -> str:
        """Say the ceiling as the command's table does: ``day 4 h, night 12 h``, ``day none, night 12 h``."""
        day, night = ("none" if m is None else f"{m / 60:g} h" for m in (self.day_min, self.night_min))
        return f"day {day}, night {night}"


NO_CEILING: Final = Ceiling()


@dataclass(frozen=True, slots=True)
class Incident:
    """One injected incident: when each setting would have found it."""

    daytime: bool
    other_min: float | None  # minutes from the cut to the first other inactivity kind raised, if any
    minutes: FloatArray  # ticks after the cut, in minutes
    lowest: FloatArray  # the lowest survival of the silence up to each tick (1 where it is not judged)
    silence: FloatArray | None = None  # the silence's length at each tick, in minutes (NaN where not judged)
    silence_daytime: BoolArray | None = None  # at each tick: the silence began in the daytime

    def delay(self, alpha: float, ceiling: Ceiling = NO_CEILING) -> float | None:
        """Return the minutes from the cut to the first alert at ``alpha`` and ``ceiling``, or None if missed."""
        below = self.lowest < alpha
        if self.silence is not None and self.silence_daytime is not None:
            below |= self.silence >= ceiling.limits(self.silence_daytime)  # NaN (not judged) never reaches it
        hit = np.flatnonzero(below)
        mine = float(self.minutes[hit[0]]) if hit.size else None
        found = [d for d in (mine, self.other_min) if d is not None]
        return min(found) if found else None


@dataclass(frozen=True, slots=True)
class HomeRun:
    """What every setting would have raised in one home: normal days' silences and the injected incidents."""

    name: str
    days: float  # scored days
    other_alerts: int  # alerts of the other inactivity kinds on the normal days
    first: FloatArray  # per silence of the normal days: its survival at the first look that day
    lowest: FloatArray  # and the lowest it reached
    incidents: tuple[Incident, ...]
    out: BoolArray | None = None  # per silence: the resident was out (by the annotations), unseen by the home
    other_alerts_out: int = 0
    first_min: FloatArray | None = None  # per silence: its length at the first look that day, in minutes
    longest_min: FloatArray | None = None  # and the longest it reached
    daytime: BoolArray | None = None  # per silence: it began in the daytime

    def false_alerts(self, alpha: float, ceiling: Ceiling = NO_CEILING) -> int:
        """Return the alerts on the normal days at ``alpha`` (a silence already beyond it was raised the day before)."""
        return self.other_alerts + int(np.count_nonzero(self._raised(alpha, ceiling)))

    def false_alerts_out(self, alpha: float, ceiling: Ceiling = NO_CEILING) -> int:
        """Return those of the false alerts raised while the resident was out, unseen by the home."""
        out = self.out if self.out is not None else np.zeros(len(self.first), dtype=np.bool_)
        return self.other_alerts_out + int(np.count_nonzero(self._raised(alpha, ceiling) & out))

    def _raised(self, alpha: float, ceiling: Ceiling) -> BoolArray:
        reached, before = self.lowest < alpha, self.first < alpha
        if self.first_min is not None and self.longest_min is not None and self.daytime is not None:
            limits = ceiling.limits(self.daytime)
            reached |= self.longest_min >= limits
            before |= self.first_min >= limits
        return reached & ~before


def point(runs: Sequence[HomeRun], alpha: float, ceiling: Ceiling = NO_CEILING) -> dict[str, float | int | None]:
    """Return the figures of homes at one ``alpha`` and ``ceiling``: false alerts, incidents found and delays."""
    days = sum(r.days for r in runs)
    false_alerts = sum(r.false_alerts(alpha, ceiling) for r in runs)
    out: dict[str, float | int | None] = {
        "alpha": alpha,
        "false_alerts": false_alerts,
        "false_alerts_while_out": sum(r.false_alerts_out(alpha, ceiling) for r in runs),
        "home_days": round(days, 1),
        "false_alerts_per_home_day": _round(false_alerts / days if days else None, 4),
        "false_alerts_per_30_days": _round(30 * false_alerts / days if days else None, 2),
    }
    pairs = [(i.delay(alpha, ceiling), i.daytime) for r in runs for i in r.incidents]
    for suffix, keep in (("", (True, False)), ("_day", (True,)), ("_night", (False,))):
        subset = [d for d, daytime in pairs if daytime in keep]
        delays = [d for d in subset if d is not None]
        out[f"incidents{suffix}"] = len(subset)
        out[f"detected{suffix}"] = len(delays)
        delay_suffix = {"": "_all", "_day": ""}.get(suffix, suffix)  # the daytime's are the plain names
        out[f"median_delay_min{delay_suffix}"] = _round(statistics.median(delays) if delays else None)
        out[f"p90_delay_min{delay_suffix}"] = _round(_p90(delays))
    return out


def curve(
    runs: Sequence[HomeRun], alphas: Sequence[float] = ALPHAS, ceiling: Ceiling = NO_CEILING
) -> list[dict[str, float | int | None]]:
    """Return the delay-versus-false-alerts curve: the short figures at every ``alpha``."""
    keys = {"alpha", "false_alerts", "false_alerts_while_out", "false_alerts_per_30_days", "detected"}
    keys |= {"median_delay_min", "p90_delay_min"}
    return [{k: v for k, v in point(runs, a, ceiling).items() if k in keys} for a in alphas]


def choose(
    runs: Sequence[HomeRun],
    budget: float = BUDGET_PER_30_DAYS,
    alphas: Sequence[float] = ALPHAS,
    ceiling: Ceiling = NO_CEILING,
) -> float:
    """Return the largest ``alpha`` whose false alerts per home per 30 days are within ``budget`` (else the least)."""
    days = sum(r.days for r in runs)
    within = [a for a in alphas if days and 30 * sum(r.false_alerts(a, ceiling) for r in runs) / days <= budget]
    return max(within) if within else min(alphas)


def best_setting(
    runs_by_setting: Mapping[str, Sequence[HomeRun]],
    budget: float = BUDGET_PER_30_DAYS,
    ceiling: Ceiling = NO_CEILING,
) -> tuple[str, float]:
    """Return the setting and ``alpha`` with the shortest daytime median delay within the budget."""

    def rank(name: str) -> tuple[float, float, float]:
        runs = runs_by_setting[name]
        at = point(runs, choose(runs, budget, ceiling=ceiling), ceiling)
        fa, missed = float(at["false_alerts"] or 0), float(at["incidents"] or 0) - float(at["detected"] or 0)
        delay = at["median_delay_min"]
        return (float(30 * fa / float(at["home_days"] or 1) > budget), missed, float("inf") if delay is None else delay)

    name = min(runs_by_setting, key=rank)
    return name, choose(runs_by_setting[name], budget, ceiling=ceiling)


def leave_one_home_out(
    runs_by_setting: Mapping[str, Sequence[HomeRun]],
    budget: float = BUDGET_PER_30_DAYS,
    ceiling: Ceiling = NO_CEILING,
) -> dict[str, object]:
    """Choose the setting and ``alpha`` on all homes but one, score the one left out; every home, then the worst.

    The ``ceiling`` is a fixed policy, not tuned: the same for every home.
    """
    names = [r.name for r in next(iter(runs_by_setting.values()))]
    per_home: dict[str, dict[str, float | int | str | None]] = {}
    for held in names:
        tuned = {s: [r for r in runs if r.name != held] for s, runs in runs_by_setting.items()}
        setting, alpha = best_setting(tuned, budget, ceiling)
        [run] = [r for r in runs_by_setting[setting] if r.name == held]
        per_home[held] = {"setting": setting, **point([run], alpha, ceiling)}
    return {"budget_per_30_days": budget, "per_home": per_home, "worst": _worst(per_home)}


def worst_home(runs: Sequence[HomeRun], alpha: float, ceiling: Ceiling = NO_CEILING) -> dict[str, float | int | None]:
    """Return the worst home's figures at one ``alpha`` and ``ceiling`` (nothing chosen per home)."""
    return _worst({r.name: point([r], alpha, ceiling) for r in runs})


def choose_ceiling(
    runs: Sequence[HomeRun], alpha: float, ceilings: Sequence[Ceiling], rate: float = OLD_RULE_PER_30_DAYS
) -> Ceiling:
    """Return the ceiling with the shortest daytime median delay at ``alpha`` whose false alerts stay within
    ``rate`` per home per 30 days, none missed first (else the one with the fewest false alerts)."""

    def rank(c: Ceiling) -> tuple[float, float, float, float]:
        at = point(runs, alpha, c)
        fa, missed = (
            float(at["false_alerts_per_30_days"] or 0),
            float(at["incidents"] or 0) - float(at["detected"] or 0),
        )
        delay = at["median_delay_min"]
        over = fa > rate
        return (float(over), fa if over else missed, math.inf if delay is None else delay, fa)

    return min(ceilings, key=rank)


def ceilings_left_out(
    runs: Sequence[HomeRun], alpha: float, ceilings: Sequence[Ceiling], rate: float = OLD_RULE_PER_30_DAYS
) -> dict[str, object]:
    """Choose the ceiling on all homes but one (`choose_ceiling`), score the one left out; every home, the worst."""
    per_home: dict[str, dict[str, float | int | str | None]] = {}
    for run in runs:
        chosen = choose_ceiling([r for r in runs if r.name != run.name], alpha, ceilings, rate)
        per_home[run.name] = {"ceiling": chosen.name, **point([run], alpha, chosen)}
    return {"rate_per_30_days": rate, "per_home": per_home, "worst": _worst(per_home)}


def _worst(per_home: Mapping[str, Mapping[str, float | int | str | None]]) -> dict[str, float | int | None]:
    """Return the worst held-out figures: most false alerts, fewest found, longest delays."""
    rows = list(per_home.values())

    def highest(key: str) -> float | None:
        values = [float(v) for r in rows if isinstance(v := r.get(key), int | float)]
        return max(values) if values else None

    missed = [int(r["incidents"] or 0) - int(r["detected"] or 0) for r in rows]
    return {
        "false_alerts_per_30_days": highest("false_alerts_per_30_days"),
        "missed": max(missed) if missed else 0,
        "median_delay_min": highest("median_delay_min"),
        "p90_delay_min": highest("p90_delay_min"),
        "median_delay_min_night": highest("median_delay_min_night"),
    }


def _p90(values: Sequence[float]) -> float | None:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(0.9 * len(ordered)))] if ordered else None


def _round(value: float | None, digits: int = 1) -> float | None:
    return None if value is None else round(value, digits)
