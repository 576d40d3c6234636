"""Score the inactivity detector on real homes: learn a routine, cut the events off, count the delay.

Each home in the ``homes`` format (van Kasteren et al., UbiComp 2008) is turned into the observations a
home hub would send: reed switches and PIRs become motion, the front door a door event, pressure mats
the bed, the toilet flush the bathroom (`SENSOR_ROLES`). The detector learns on the first ``learn_days``.
On every later day a long lie is injected at a random daytime and a random night moment while the
resident is at home (by the annotated leave-house periods): all events stop there, as if the resident
fell and cannot move, and the replay ticks every ``step`` until the detector raises. False alerts are
counted on the same later days, uncut. The recordings hold local time written as UTC, so UTC is local.
"""

from __future__ import annotations

import copy
import random
import re
import statistics
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Final

from alerts.detectors.base import ResidentProfile, event_time
from alerts.detectors.inactivity import InactivityDetector, Tuning
from alerts.detectors.routine import DAY_STARTS, routine_day
from alerts.detectors.silence import GapSettings
from alerts.findings import Finding, Observation
from gateway.contract import BathroomEvent, BedEvent, Body, Channel, DoorEvent, MotionEvent, Record

HUB: Final = "hub"
RESIDENT: Final = "resident"
EMERGENCY_KINDS: Final = frozenset(InactivityDetector.kinds)
DAY_WINDOW: Final = (8.0, 21.0)  # local hours a daytime incident is drawn from
NIGHT_WINDOW: Final = (22.0, 30.0)  # 22:00 to 06:00 the next morning


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


def evaluate_homes(
    data_dir: Path,
    *,
    learn_days: int = 14,
    step: timedelta = timedelta(minutes=1),
    seed: int = 7,
    tuning: Tuning | None = None,
    score_days: int | None = None,
    ceiling: bool = True,
) -> dict[str, object]:
    """Learn, inject long lies, replay and score every home under ``data_dir`` (or its ``homes/``).

    With ``ceiling`` the record also holds, under ``ceiling``, the same figures for `CEILING`: pauses
    learned from the whole recording, scored days included — what the data allow, not a result.

    The delay figures without a suffix are the daytime incidents' (the target is for the daytime); the
    ``_night`` ones are the night's, and ``_all`` both. ``score_days`` limits scoring to that many days
    after learning: with ``learn_days=10, score_days=4`` a setting is tried on the first 14 days only.
    """
    folder = data_dir / "homes" if (data_dir / "homes").is_dir() else data_dir
    homes = [load_home(p.with_suffix("")) for p in sorted(folder.glob("*.sensors"))]
    rng = random.Random(seed)  # noqa: S311 — a reproducible draw of incident moments, not a secret
    results = [_evaluate_home(home, learn_days, step, rng, tuning=tuning, score_days=score_days) for home in homes]
    record = {"bench": "inactivity", "homes": len(results), **_figures(results)}
    if ceiling:
        rng = random.Random(seed)  # noqa: S311 — the same incident moments as above
        known = [
            _evaluate_home(h, learn_days, step, rng, tuning=CEILING, score_days=score_days, oracle=True) for h in homes
        ]
        record["ceiling"] = {key: value for key, value in _figures(known).items() if key != "per_home"}
    return record


# How far pauses alone can go on these homes: the longest pause of each context, learned from the whole
# recording (the scored days too), with no margin. No false alert by construction; its delays are what
# a detector of this kind reaches only if it already knew the days it is scored on.
CEILING: Final = Tuning(gaps=GapSettings(quantile=1.0, prior=0.0), factor=1.0, floor=timedelta(minutes=1))


def _figures(results: Sequence[_HomeResult]) -> dict[str, object]:
    home_days = sum(r.days for r in results)
    false_alerts = sum(r.false_alerts for r in results)
    return {
        **_delay_figures(results),
        "false_alerts_per_home_day": _round(false_alerts / home_days if home_days else None, 4),
        "false_alerts": false_alerts,
        "home_days": home_days,
        "per_home": {r.name: r.summary() for r in results},
    }


def load_home(stem: Path) -> Home:
    """Read ``<stem>.sensors``, ``.sensor_names`` and, where present, the leave-house annotations."""
    names = dict(_rows(stem.with_suffix(".sensor_names"), 2))
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


@dataclass(frozen=True, slots=True)
class _HomeResult:
    name: str
    delays_min: tuple[float | None, ...]  # per injected incident; None where it was missed
    daytime: tuple[bool, ...]  # per injected incident
    false_alerts: int
    days: int

    def summary(self) -> dict[str, object]:
        return {**_delay_figures([self]), "false_alerts": self.false_alerts, "days": self.days}


def _evaluate_home(
    home: Home,
    learn_days: int,
    step: timedelta,
    rng: random.Random,
    *,
    tuning: Tuning | None,
    score_days: int | None,
    oracle: bool = False,
) -> _HomeResult:
    everything = observations(home.activations)
    learn_end = _day_start(event_time(everything[0])) + timedelta(days=learn_days + 1)
    learned = InactivityDetector(tuning=tuning)
    learned.register_resident(ResidentProfile(RESIDENT, tz=UTC))
    learned.learn(o for o in everything if oracle or event_time(o) < learn_end)
    # Score only where someone labelled the recording: elsewhere a silent day may be a trip or an outage.
    last = min(event_time(everything[-1]), home.annotated[1]) if home.annotated else event_time(everything[-1])
    last = last if score_days is None else min(last, learn_end + timedelta(days=score_days))
    later = [o for o in everything if learn_end <= event_time(o) <= last]
    false_alerts = _count_alerts(copy.deepcopy(learned), later, learn_end, last, step)
    delays, daytime = [], []
    for cut, is_day in list(_cuts(home, learn_end, last, rng)):
        context = observations([a for a in home.activations if cut - timedelta(days=1) <= a.start], cut)
        delays.append(_delay(copy.deepcopy(learned), context, cut, step))
        daytime.append(is_day)
    days = round((last - learn_end) / timedelta(days=1))
    return _HomeResult(home.name, tuple(delays), tuple(daytime), false_alerts, days)


def _cuts(home: Home, start: datetime, last: datetime, rng: random.Random) -> Iterator[tuple[datetime, bool]]:
    """Draw one daytime and one night moment a day, at home, with the recording still running."""
    day = _day_start(start)
    while day + timedelta(days=1) <= last:
        for window, is_day in ((DAY_WINDOW, True), (NIGHT_WINDOW, False)):
            for _ in range(50):  # redraw while the resident is out
                cut = day.replace(hour=0) + timedelta(hours=rng.uniform(*window))
                if cut < last and not any(a <= cut < b for a, b in home.away):
                    yield cut, is_day
                    break
        day += timedelta(days=1)


def _replay(
    detector: InactivityDetector, obs: Sequence[Observation], start: datetime, end: datetime, step: timedelta
) -> Iterator[Finding]:
    i, now = 0, start
    while now <= end:
        while i < len(obs) and event_time(obs[i]) <= now:
            yield from detector.observe(obs[i])
            i += 1
        yield from detector.tick(now)
        now += step


def _count_alerts(
    detector: InactivityDetector, obs: Sequence[Observation], start: datetime, end: datetime, step: timedelta
) -> int:
    return sum(1 for f in _replay(detector, obs, start, end, step) if f.kind in EMERGENCY_KINDS and not f.cancels)


def _delay(detector: InactivityDetector, obs: Sequence[Observation], cut: datetime, step: timedelta) -> float | None:
    start = event_time(obs[0]) if obs else cut
    for f in _replay(detector, obs, start, cut + timedelta(days=1), step):
        if f.kind in EMERGENCY_KINDS and not f.cancels and f.at >= cut:
            return (f.at - cut).total_seconds() / 60
    return None


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


def _delay_figures(results: Sequence[_HomeResult]) -> dict[str, object]:
    """Return incidents, detections and delays: over all incidents, then the daytime's and the night's.

    The plain delay names are the daytime's, where the target applies; ``_night`` and ``_all`` follow.
    """
    pairs = [p for r in results for p in zip(r.delays_min, r.daytime, strict=True)]
    out: dict[str, object] = {}
    for suffix, keep in (("", (True, False)), ("_day", (True,)), ("_night", (False,))):
        subset = [d for d, daytime in pairs if daytime in keep]
        delays = [d for d in subset if d is not None]
        out[f"incidents{suffix}"] = len(subset)
        out[f"detected{suffix}"] = len(delays)
        delay_suffix = {"": "_all", "_day": ""}.get(suffix, suffix)
        out[f"median_delay_min{delay_suffix}"] = _round(statistics.median(delays) if delays else None)
        out[f"p90_delay_min{delay_suffix}"] = _round(_p90(delays))
    return out


def _p90(values: Sequence[float]) -> float | None:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(0.9 * len(ordered)))] if ordered else None


def _round(value: float | None, digits: int = 1) -> float | None:
    return None if value is None else round(value, digits)


__all__ = ["evaluate_homes", "load_home", "observations"]
