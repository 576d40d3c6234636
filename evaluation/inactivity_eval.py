"""Score the inactivity detector on real homes: learn nightly, cut the events off, count delays and false alerts.

Each home in the ``homes`` format (van Kasteren et al., UbiComp 2008) is turned into the observations a
home hub would send: reed switches and PIRs become motion, the front door a door event, pressure mats
the bed, the toilet flush the bathroom (`SENSOR_ROLES`). The detector is re-learned every night, as the
platform does, from the days before (at least ``learn_days``, at most ``history``), and scored on the next
day: its normal events replayed as they were (false alerts), and a long lie injected at a random daytime
and a random night moment while the resident is at home (by the annotated leave-house periods): all events
stop there, as if the resident fell and cannot move, and the replay ticks every ``step`` for a day.

Each replay keeps what every ``alpha`` would have raised (`evaluation.inactivity_budget`), so one pass gives
the whole delay-versus-false-alerts curve; the settings and ``alpha`` are chosen for a false-alert budget
per home per month, on all homes and leaving each home out in turn. The same replay scores the fixed ceiling
on a silence (`Tuning.day_ceiling`): each one in ``ceilings`` at the shipped ``alpha``, and the ceiling the
platform ships is chosen by `choose_ceiling` (the shortest daytime delay within the old rule's false alerts,
at the shipped ``alpha``), on all homes and leaving each out. Scoring covers only the days someone
labelled (elsewhere a silent day may be a trip or an outage). The recordings hold local time written as UTC.
"""

from __future__ import annotations

import bisect
import copy
import math
import random
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Final

import numpy as np

from alerts.detectors.base import ResidentProfile, event_time
from alerts.detectors.inactivity import InactivityDetector, Silence, Tuning
from alerts.detectors.routine import DAY_STARTS, routine_day
from alerts.detectors.silence import SilenceSettings
from alerts.findings import Finding, Observation
from evaluation.inactivity_budget import (
    ALPHAS,
    BUDGET_PER_30_DAYS,
    Ceiling,
    HomeRun,
    Incident,
    best_setting,
    ceilings_left_out,
    choose_ceiling,
    curve,
    leave_one_home_out,
    point,
    worst_home,
)
from gateway.contract import BathroomEvent, BedEvent, Body, Channel, DoorEvent, MotionEvent, Record

HUB: Final = "hub"
RESIDENT: Final = "resident"
DAY_WINDOW: Final = (8.0, 21.0)  # local hours a daytime incident is drawn from
NIGHT_WINDOW: Final = (22.0, 30.0)  # 22:00 to 06:00 the next morning

# The silence settings the benchmark chooses among: how many pseudo-pauses a context borrows from its parent.
SETTINGS: Final = {f"prior_{k:g}": SilenceSettings(prior=k) for k in (2.0, 5.0, 10.0, 50.0)}
# How far pauses alone can go: every context's own longest pause, learned from the whole recording (the
# scored days too), nothing borrowed. No false alert by construction; not a result, a bound.
CEILING: Final = SilenceSettings(prior=0.0, population_weight=0.0)
# The fixed ceilings on a daytime silence compared (hours; None: the model alone), at the shipped night's.
DAY_CEILINGS_H: Final = (None, 6.0, 4.0, 3.0)


@dataclass(frozen=True, slots=True)
class SensorRole:
    """What a named sensor of the recordings is, as a home hub would report it."""

    pattern: str  # regular expression on the lower-cased sensor name; the first role that matches wins
    kind: str  # motion, door, bed, bathroom
    place: str  # the room (motion) or door (door)


SENSOR_ROLES: Final = (
    SensorRole(r"front ?door", "door", "front"),
    SensorRole(r"flush", "motion", "bathroom"),  # a flush is a moment, not presence: no BathroomEvent
    SensorRole(r"bedroom door", "door", "bedroom"),
    SensorRole(r"toilet door|hall-toilet|downstairs toilet", "door", "toilet"),
    SensorRole(r"bathroom door", "door", "bathroom"),
    SensorRole(r"press|mat", "bed", "bedroom"),  # pressure mats, the couch's too: lying or sitting still
    SensorRole(r"badkamer|bathtub|bath lift", "motion", "bathroom"),
    SensorRole(r"slaapkamer|dresser", "motion", "bedroom"),
    SensorRole(r"keys", "motion", "hall"),
    SensorRole(r".", "motion", "kitchen"),  # cupboards, fridge, microwave, stove and the like
)


@dataclass(frozen=True, slots=True)
class Activation:
    """One sensor activation of a recording: from ``start`` for ``duration``."""

    start: datetime
    duration: timedelta
    role: SensorRole
    sensor_id: str


@dataclass(frozen=True, slots=True)
class Home:
    """One recorded home: its activations in time order and the periods the resident was out."""

    name: str
    activations: tuple[Activation, ...]
    away: tuple[tuple[datetime, datetime], ...]
    annotated: tuple[datetime, datetime] | None  # the span someone labelled, where whereabouts are known


@dataclass(frozen=True, slots=True)
class Protocol:
    """How homes are replayed: nightly learning, scored days, ticks."""

    learn_days: int = 10  # days learned before the first scored day
    history: timedelta = timedelta(days=28)  # what the platform learns from each night
    step: timedelta = timedelta(minutes=1)
    warm_up: timedelta = timedelta(days=1)  # replayed before each scored stretch (coarse ticks, nothing counted)
    coarse: timedelta = timedelta(minutes=15)
    seed: int = 7
    score_days: int | None = None  # score at most this many days a home (a quick look)
    oracle: bool = False  # learn from the whole recording, scored days included (the ceiling)


def evaluate_homes(
    data_dir: Path,
    *,
    protocol: Protocol | None = None,
    settings: Mapping[str, SilenceSettings] | None = None,
    budget: float = BUDGET_PER_30_DAYS,
    ceiling: bool = True,
    ceilings: Sequence[Ceiling] | None = None,
) -> dict[str, object]:
    """Replay every home under ``data_dir`` (or its ``homes/``); return the chosen point, curve and leave-one-home-out.

    The plain figures are those of the survival model alone at the point chosen on all homes: the settings
    and ``alpha`` with the shortest daytime median delay within ``budget`` false alerts per home per 30 days.
    The delay figures without a suffix are the daytime incidents' (the target is for the daytime); the
    ``_night`` ones are the night's, and ``_all`` both. ``leave_one_home_out`` chooses on two homes and
    scores the third, each in turn. ``shipped`` is the detector's defaults, its ceilings on a silence
    included; ``by_ceiling`` scores each of ``ceilings`` (default: `DAY_CEILINGS_H`) at the shipped setting
    and ``alpha``. ``ceiling`` (the flag) adds the oracle's bound: no ceiling on a silence, one on the method.
    """
    folder = data_dir / "homes" if (data_dir / "homes").is_dir() else data_dir
    homes = [load_home(p.with_suffix("")) for p in sorted(folder.glob("*.sensors"))]
    proto = protocol or Protocol()
    tried = dict(settings or SETTINGS)
    runs = {name: [run_home(h, s, proto) for h in homes] for name, s in tried.items()}
    shipped = Tuning()
    setting, alpha = best_setting(runs, budget)  # the survival model alone: the ceiling is chosen at its alpha
    chosen = runs[setting]
    name = next((n for n, s in tried.items() if s == shipped.silences), None)
    shipped_runs = runs[name] if name else [run_home(h, shipped.silences, proto) for h in homes]
    limit = shipped_ceiling(shipped)
    compared = list(ceilings or (_ceiling(h, shipped.night_ceiling) for h in DAY_CEILINGS_H))
    record: dict[str, object] = {
        "bench": "inactivity",
        "homes": len(homes),
        **point(chosen, alpha),
        "per_home": {r.name: point([r], alpha) for r in chosen},
        "chosen": {"setting": setting, "alpha": alpha, "budget_per_30_days": budget},
        "curve": {f"{row['alpha']:g}": row for row in curve(chosen)},  # by alpha: a table in the bench report
        "leave_one_home_out": leave_one_home_out(runs, budget),
        "shipped": {  # the detector's defaults, its ceilings on a silence too
            "setting": name or "default",
            "ceiling": limit.name,
            **point(shipped_runs, shipped.alpha, limit),
            "per_home": {r.name: point([r], shipped.alpha, limit) for r in shipped_runs},
        },
        "by_ceiling": by_ceiling(runs, name or "default", shipped_runs, shipped.alpha, compared, budget),
    }
    if ceiling:
        known = [run_home(h, CEILING, replace(proto, oracle=True)) for h in homes]
        record["ceiling"] = point(known, min(ALPHAS))
    return record


def shipped_ceiling(tuning: Tuning) -> Ceiling:
    """Return the detector's ceilings on a silence as the evaluation scores them."""
    day, night = (None if c is None else c.total_seconds() / 60 for c in (tuning.day_ceiling, tuning.night_ceiling))
    return Ceiling(day, night)


def _ceiling(day_h: float | None, night: timedelta | None) -> Ceiling:
    return Ceiling(None if day_h is None else 60 * day_h, None if night is None else night.total_seconds() / 60)


def by_ceiling(
    runs: Mapping[str, Sequence[HomeRun]],
    setting: str,
    shipped_runs: Sequence[HomeRun],
    alpha: float,
    ceilings: Sequence[Ceiling],
    budget: float,
) -> dict[str, object]:
    """Score each ceiling: at the shipped setting and ``alpha`` (all homes, the worst home, the curve), with the
    setting and ``alpha`` chosen for ``budget`` leaving each home out; then the ceiling `choose_ceiling` ships."""
    table: dict[str, object] = {}
    for c in ceilings:
        at = point(shipped_runs, alpha, c)
        table[c.name] = {
            "day_ceiling_min": c.day_min,
            "night_ceiling_min": c.night_min,
            "at_shipped_alpha": at,
            "worst_home_at_shipped_alpha": worst_home(shipped_runs, alpha, c),
            "leave_one_home_out_worst": leave_one_home_out(runs, budget, c)["worst"],
            "curve": {f"{row['alpha']:g}": row for row in curve(shipped_runs, ceiling=c)},
        }
    choice = choose_ceiling(shipped_runs, alpha, ceilings)
    return {
        "setting": setting,
        "alpha": alpha,
        "ceilings": table,
        "chosen": choice.name,
        "chosen_leaving_each_home_out": ceilings_left_out(shipped_runs, alpha, ceilings),
    }


def run_home(home: Home, settings: SilenceSettings, protocol: Protocol) -> HomeRun:
    """Replay one home day by day with the detector learned the night before; keep what every ``alpha`` raises."""
    everything = observations(home.activations)
    times = [event_time(o) for o in everything]
    first = _day_start(times[0])
    last = min(times[-1], home.annotated[1]) if home.annotated else times[-1]
    day = first + timedelta(days=protocol.learn_days)
    if home.annotated:
        day = max(day, _day_start(home.annotated[0]) + timedelta(days=1))
    rng = random.Random(f"{protocol.seed}:{home.name}")  # noqa: S311 — reproducible incident moments, not a secret
    tally = _Tally()
    while day + timedelta(days=1) <= last and (protocol.score_days is None or tally.days < protocol.score_days):
        learned = _learned(everything, times, day, settings, protocol)
        _score_day(tally, learned, everything[bisect.bisect_left(times, day - protocol.warm_up) :], day, home, protocol)
        for cut, is_day in _cuts(home, day, rng):
            context = observations([a for a in home.activations if cut - protocol.warm_up <= a.start], cut)
            tally.incidents.append(_incident(copy.deepcopy(learned), context, cut, is_day, protocol))
        tally.days += 1
        day += timedelta(days=1)
    return HomeRun(
        home.name,
        tally.days,
        tally.other_alerts,
        np.array(tally.first, dtype=np.float64),
        np.array(tally.lowest, dtype=np.float64),
        tuple(tally.incidents),
        np.array(tally.out, dtype=np.bool_),
        tally.other_alerts_out,
        np.array(tally.first_min, dtype=np.float64),
        np.array(tally.longest_min, dtype=np.float64),
        np.array(tally.daytime, dtype=np.bool_),
    )


@dataclass(slots=True)
class _Tally:
    days: int = 0
    other_alerts: int = 0
    first: list[float] = field(default_factory=list)
    lowest: list[float] = field(default_factory=list)
    incidents: list[Incident] = field(default_factory=list)
    out: list[bool] = field(default_factory=list)  # per silence: the resident was out (annotated) when it ended
    other_alerts_out: int = 0
    first_min: list[float] = field(default_factory=list)
    longest_min: list[float] = field(default_factory=list)
    daytime: list[bool] = field(default_factory=list)

    def close(self, episode: Sequence[tuple[datetime, Silence]], away: Sequence[tuple[datetime, datetime]]) -> None:
        """Keep one silence of a normal day: its first and lowest survival, its first and longest length, when it
        began, and whether the resident was out."""
        if episode:
            first, last = episode[0][1], episode[-1][1]
            self.first.append(first.survival)
            self.lowest.append(min(s.survival for _, s in episode))
            self.first_min.append(first.length.total_seconds() / 60)
            self.longest_min.append(last.length.total_seconds() / 60)
            self.daytime.append(first.daytime)
            self.out.append(_out(episode[-1][0], away))


def _learned(
    everything: Sequence[Observation], times: Sequence[datetime], day: datetime, settings: SilenceSettings, p: Protocol
) -> InactivityDetector:
    """Return the detector as the night before ``day`` left it: learned on the history up to then."""
    # Silences: kept, never raised (neither alpha nor a ceiling); the budget applies them afterwards.
    detector = InactivityDetector(tuning=Tuning(silences=settings, alpha=0.0, day_ceiling=None, night_ceiling=None))
    detector.register_resident(ResidentProfile(RESIDENT, tz=UTC))
    if p.oracle:
        detector.learn(everything)
    else:
        detector.learn(everything[bisect.bisect_left(times, day - p.history) : bisect.bisect_left(times, day)])
    return detector


def _score_day(
    tally: _Tally, learned: InactivityDetector, obs: Sequence[Observation], day: datetime, home: Home, p: Protocol
) -> None:
    """Replay one normal day: count the other kinds' alerts, keep each silence's first and lowest survival."""
    end = day + timedelta(days=1)
    detector = copy.deepcopy(learned)
    episode: list[tuple[datetime, Silence]] = []
    for now, moved, found in _replay(detector, obs, day - p.warm_up, day, end, p):
        raised = [f for f in found if f.kind != "inactivity" and not f.cancels and f.at >= day]
        tally.other_alerts += len(raised)
        tally.other_alerts_out += sum(_out(f.at, home.away) for f in raised)
        if moved:
            tally.close(episode, home.away)
            episode = []
        judged = detector.silence(RESIDENT, now)
        if now >= day and judged is not None:
            episode.append((now, judged))
    tally.close(episode, home.away)


def _out(at: datetime, away: Sequence[tuple[datetime, datetime]]) -> bool:
    return any(a <= at < b for a, b in away)


def _incident(
    detector: InactivityDetector, obs: Sequence[Observation], cut: datetime, is_day: bool, p: Protocol
) -> Incident:
    """Replay the day before the cut and a day after it; keep the silence's running lowest survival and length."""
    minutes: list[float] = []
    lowest: list[float] = []
    lengths: list[float] = []
    daytime: list[bool] = []
    other: float | None = None
    low = 1.0
    for now, _, found in _replay(detector, obs, cut - p.warm_up, cut, cut + timedelta(days=1), p):
        if now < cut:
            continue
        if other is None and any(f.kind != "inactivity" and not f.cancels for f in found):
            other = (now - cut).total_seconds() / 60
        judged = detector.silence(RESIDENT, now)
        low = min(low, 1.0 if judged is None else judged.survival)
        minutes.append((now - cut).total_seconds() / 60)
        lowest.append(low)
        lengths.append(math.nan if judged is None else judged.length.total_seconds() / 60)
        daytime.append(judged is not None and judged.daytime)
    return Incident(
        is_day,
        other,
        np.array(minutes, dtype=np.float64),
        np.array(lowest, dtype=np.float64),
        np.array(lengths, dtype=np.float64),
        np.array(daytime, dtype=np.bool_),
    )


def _replay(
    detector: InactivityDetector,
    obs: Sequence[Observation],
    start: datetime,
    fine_from: datetime,
    end: datetime,
    p: Protocol,
) -> Iterator[tuple[datetime, bool, list[Finding]]]:
    """Feed observations in order and tick, coarsely before ``fine_from``; yield each tick, whether anything
    was observed since the last one, and the findings."""
    i, now = 0, start
    while now < end:
        found: list[Finding] = []
        moved = False
        while i < len(obs) and event_time(obs[i]) <= now:
            found += detector.observe(obs[i])
            moved = True
            i += 1
        found += detector.tick(now)
        yield now, moved, found
        now += p.step if now >= fine_from else min(p.coarse, max(p.step, fine_from - now))


# Sensors a recording's names file leaves out, named from the recording itself. houseB's names give its
# front door as id 7, which never fires; the unnamed id 4 fires within two minutes of an annotated
# leave-house start or end 63 times in 106 — it is the front door (a home's installer knows it).
NAME_FIXES: Final = {"houseB": {"4": "front door"}}


def load_home(stem: Path) -> Home:
    """Read ``<stem>.sensors``, ``.sensor_names`` and, where present, the leave-house annotations."""
    names = dict(_rows(stem.with_suffix(".sensor_names"), 2)) | NAME_FIXES.get(stem.name, {})
    roles = {sid: next(r for r in SENSOR_ROLES if re.search(r.pattern, name.lower())) for sid, name in names.items()}
    rows = _rows(stem.with_suffix(".sensors"), 3)
    # Sensors missing from the names file are still movement somewhere in the home.
    activations = sorted(
        (
            Activation(_utc(t), timedelta(seconds=int(d)), roles.get(sid, SENSOR_ROLES[-1]), f"s{sid}")
            for t, d, sid in rows
        ),
        key=lambda a: a.start,
    )
    away, annotated = _annotations(stem)
    return Home(stem.name, tuple(activations), away, annotated)


def observations(activations: Sequence[Activation], cut: datetime | None = None) -> list[Observation]:
    """Turn activations into hub observations in time order; nothing happens at or after ``cut``."""
    out: list[Observation] = []
    for act in activations:
        if cut is not None and act.start >= cut:
            break
        end = act.start + act.duration
        # A fall ends whatever was going on: the mat is left and the motion sensor goes quiet, but nobody
        # closes the door, so a door open at the cut stays open (it sends no closing event).
        bodies = _bodies(act, min(end, cut) if cut is not None else end, len(out))
        if cut is not None and end > cut and act.role.kind == "door":
            bodies = bodies[:1]
        out += [_observation(body) for body in bodies]
    return sorted(out, key=event_time)


def _cuts(home: Home, day: datetime, rng: random.Random) -> Iterator[tuple[datetime, bool]]:
    """Draw one daytime and one night moment of a day, at home."""
    for window, is_day in ((DAY_WINDOW, True), (NIGHT_WINDOW, False)):
        for _ in range(50):  # redraw while the resident is out
            cut = day.replace(hour=0) + timedelta(hours=rng.uniform(*window))
            if not any(a <= cut < b for a, b in home.away):
                yield cut, is_day
                break


_STATES: Final = {"door": ("open", "closed"), "bed": ("occupied", "vacated"), "bathroom": ("occupied", "vacated")}


def _bodies(act: Activation, end: datetime, seq: int) -> list[Body]:
    role, sid = act.role, act.sensor_id
    if role.kind == "motion":
        times = [act.start, end] if end - act.start > timedelta(minutes=1) else [act.start]
        return [
            MotionEvent(kind="motion", room=role.place, sensor_id=sid, seq=seq + i, ts=t) for i, t in enumerate(times)
        ]
    on, off = _STATES[role.kind]
    return [_state_body(role, sid, state, seq + i, t) for i, (state, t) in enumerate(((on, act.start), (off, end)))]


def _state_body(role: SensorRole, sid: str, state: str, seq: int, at: datetime) -> Body:
    if role.kind == "door":
        return DoorEvent(kind="door", door=role.place, state=state, sensor_id=sid, seq=seq, ts=at)  # type: ignore[arg-type]
    if role.kind == "bed":
        return BedEvent(kind="bed", state=state, sensor_id=sid, seq=seq, ts=at)  # type: ignore[arg-type]
    return BathroomEvent(kind="bathroom", state=state, sensor_id=sid, seq=seq, ts=at)  # type: ignore[arg-type]


def _observation(body: Body) -> Observation:
    return Observation(RESIDENT, Record(HUB, Channel.EVENT, body), body.ts)


def _annotations(stem: Path) -> tuple[tuple[tuple[datetime, datetime], ...], tuple[datetime, datetime] | None]:
    """Return the annotated leave-house periods and the span the annotations cover."""
    names_path, acts_path = stem.with_suffix(".activity_names"), stem.with_suffix(".activities")
    if not (names_path.exists() and acts_path.exists()):
        return (), None
    leave = {aid for aid, name in _rows(names_path, 2) if "leave" in name.lower()}
    spans = [(_utc(start), _utc(start) + timedelta(seconds=int(dur)), aid) for start, dur, aid in _rows(acts_path, 3)]
    if not spans:
        return (), None
    away = tuple((a, b) for a, b, aid in spans if aid in leave)
    return away, (min(a for a, _, _ in spans), max(b for _, b, _ in spans))


def _rows(path: Path, width: int) -> Iterator[list[str]]:
    for line in path.read_text(encoding="utf-8").splitlines():
        parts = [p.strip() for p in line.split("\t")]
        if len(parts) >= width and parts[0]:
            yield parts[:width]


def _utc(epoch: str) -> datetime:
    return datetime.fromtimestamp(int(epoch), tz=UTC)


def _day_start(at: datetime) -> datetime:
    day = routine_day(at, UTC)
    return datetime(day.year, day.month, day.day, tzinfo=UTC) + timedelta(hours=DAY_STARTS)


__all__ = [
    "CEILING",
    "DAY_CEILINGS_H",
    "SETTINGS",
    "Protocol",
    "by_ceiling",
    "evaluate_homes",
    "load_home",
    "observations",
    "run_home",
    "shipped_ceiling",
]
