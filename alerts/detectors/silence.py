"""How long this resident's silences last: a survival curve of pauses per context, learned from history.

A silence is judged by what came before it. After a toilet flush or a kitchen cupboard the next sign of
life follows within minutes; after the bedroom door late in the evening, hours of quiet are normal.
`learn_silences` replays a history of home sensor events through `Whereabouts` and keeps, for every
movement at home (not out, not in bed), the pause until the next one, under its context: the sensor and its
state, the sensor's place, and the band of the day in which the pause began. The curves are learned from the
home sensors alone, which watch at every hour; the bracelet comes and goes (charging, forgotten on the
table), so live it only ends a silence (`follow`), and a silence after the bracelet's last sign of life is
judged by the resident's pauses at that time of day.
Only pauses of at least ``min_gap`` count: a motion sensor's bursts say nothing about how long a pause lasts
once it has begun, so every curve is the survival of pauses *given* that they reached ``min_gap``.

`SilenceModel.survival` is the probability that a normal pause after this context lasts at least as long as
the present silence. Each context's curve is the Kaplan–Meier estimate of its own pauses shrunk towards its
parent's curve as the posterior mean under a Dirichlet-process prior would be: ``(n·KM + k·parent) / (n + k)``
with ``k`` pseudo-pauses lent by the parent (population → this resident → band of the day → place → sensor).
A sensor seen a handful of times speaks mostly with its room's voice, a well-seen one with its own; the
population's log-logistic curve gives the far tail a shape where the resident's own pauses run out. The
detector raises when the survival of the present silence falls below ``alpha``, chosen for a false-alert
budget (`evaluation.inactivity_eval`): about ``alpha`` of a resident's normal pauses would be raised.
"""

from __future__ import annotations

import math
from bisect import bisect_left, bisect_right
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, tzinfo
from typing import Final

from alerts.detectors.base import event_time, local_hour
from alerts.detectors.routine import Whereabouts
from alerts.detectors.signals import ACTIVITY_EVENTS, BED_ROOM
from alerts.detectors.wrist import Wrist, WristWatch
from alerts.findings import Observation
from gateway.contract import BathroomEvent, BedEvent, Body, DoorEvent, MotionEvent, Telemetry


@dataclass(frozen=True, slots=True)
class Activity:
    """The context of the last sign of life: which sensor in which state, and where."""

    sensor: str  # "s14" or "s24:open"; a hub that names no sensor gives "door:bedroom:open"
    place: str  # "door:bedroom", "motion:kitchen", "bed:bedroom", "steps:bracelet"


def activity_of(body: Body) -> Activity:
    """Describe the movement a home sensor event shows, for looking up its pauses."""
    kind, room, state = _describe(body)
    place = f"{kind}:{room}"
    sensor = (body.sensor_id if isinstance(body, ACTIVITY_EVENTS) else None) or place
    return Activity(f"{sensor}:{state}" if state else sensor, place)


def _describe(body: Body) -> tuple[str, str, str | None]:
    """Return an event's kind, its place (room, door, or where such a sensor is) and its state."""
    match body:
        case MotionEvent():
            return body.kind, body.room, None
        case DoorEvent():
            return body.kind, body.door, body.state
        case BedEvent():
            return body.kind, BED_ROOM, body.state
        case BathroomEvent():
            return body.kind, "bathroom", body.state
    return "event", "home", None


STEPS_ACTIVITY: Final = Activity("steps", "steps:bracelet")  # walking, seen by the bracelet's step counter
WRIST_ACTIVITY: Final = Activity("wrist", "wrist:bracelet")  # the wrist moved: alive, not necessarily up


def follow(where: Whereabouts, wrist: WristWatch, resident_id: str, body: Body, at: datetime) -> Activity | None:
    """Take one message into the resident's whereabouts; return the sign of life it shows, or None.

    Home sensors and the bracelet are fused here, the same way while learning and live: walking gets the
    resident up, a moving wrist is life (even in bed), an unworn or still bracelet is no evidence at all.
    """
    if isinstance(body, Telemetry):
        match wrist.read(resident_id, body):
            case Wrist.WALKING:
                where.moved(at)  # steps say the resident moves, not whether at home
                return STEPS_ACTIVITY
            case Wrist.MOVING:
                where.alive(at)
                return WRIST_ACTIVITY
        return None
    return activity_of(body) if where.update(body, at) else None


@dataclass(frozen=True, slots=True)
class LogLogistic:
    """The population's pause curve, ``1 / (1 + (t / median)^shape)``: a heavy tail for where data run out."""

    median_s: float = 1200.0
    shape: float = 1.2

    def __call__(self, t_s: float) -> float:
        """Return the probability that a pause lasts at least ``t_s`` seconds."""
        return 1.0 / (1.0 + math.pow(max(t_s, 0.0) / self.median_s, self.shape))

    def quantile(self, q: float) -> float:
        """Return the pause that a share ``q`` of pauses end within."""
        return self.median_s * math.pow(q / (1.0 - q), 1.0 / self.shape)


@dataclass(frozen=True, slots=True)
class KaplanMeier:
    """The Kaplan–Meier survival curve of some pauses, censored ones (still running when seen) included."""

    times: tuple[float, ...]  # the distinct ends of pauses, ascending
    survival: tuple[float, ...]  # the curve just after each of them
    n: int  # pauses it was estimated from

    @classmethod
    def fit(cls, durations: Sequence[float], ended: Sequence[bool] | None = None) -> KaplanMeier:
        """Estimate the curve; ``ended[i]`` False means pause ``i`` was still running when last seen."""
        flags = [True] * len(durations) if ended is None else list(ended)
        order = sorted(zip(durations, flags, strict=True), key=lambda p: (p[0], not p[1]))
        at_risk, s = len(order), 1.0
        times: list[float] = []
        curve: list[float] = []
        i = 0
        while i < len(order):
            t, deaths, leaving = order[i][0], 0, 0
            while i < len(order) and order[i][0] == t:
                deaths += order[i][1]
                leaving += 1
                i += 1
            if deaths:
                s *= 1.0 - deaths / at_risk
                times.append(t)
                curve.append(s)
            at_risk -= leaving
        return cls(tuple(times), tuple(curve), len(order))

    def __call__(self, t_s: float) -> float:
        """Return the estimated probability that a pause lasts at least ``t_s`` seconds."""
        i = bisect_left(self.times, t_s)  # a pause of exactly ``t_s`` lasted as long: the curve just before it
        return 1.0 if i == 0 else self.survival[i - 1]

    def quantile(self, q: float) -> float | None:
        """Return the shortest pause that a share ``q`` of pauses end within (None if the curve never gets there)."""
        i = bisect_right([-s for s in self.survival], -(1.0 - q))
        return self.times[i] if i < len(self.times) else None


@dataclass(frozen=True, slots=True)
class SilenceSettings:
    """How pauses are grouped, how strongly a context borrows from its parent, and what the population lends."""

    bands: tuple[float, ...] = (0.0, 6.0, 10.0, 14.0, 18.0, 22.0)  # local hours where a band of the day begins
    min_gap: timedelta = timedelta(minutes=2)
    prior: float = 50.0  # pseudo-pauses a context borrows from its parent (chosen for the false-alert budget)
    population: LogLogistic = field(default_factory=LogLogistic)
    population_weight: float = 2.0  # pseudo-pauses the resident's own curve borrows from the population
    scale_quantile: float = 0.9  # a context's scale: this quantile of its pauses, shrunk on a log scale
    # No silence shorter than this is raised, whatever the curve says: a bracelet's readings every few minutes
    # make pauses so regular that a quarter of an hour would look impossible.
    shortest: timedelta = timedelta(minutes=30)
    longest: timedelta = timedelta(hours=24)  # no limit is set beyond this

    def band(self, at: datetime, tz: tzinfo) -> int:
        """Return the index of the band of the day a moment falls in."""
        return max(0, bisect_right(self.bands, local_hour(at, tz)) - 1)


@dataclass(frozen=True, slots=True)
class _Level:
    """One context of a chain: its own curve, what its parent lends, and how the parent's curve is stretched."""

    curve: KaplanMeier
    lent: float  # pseudo-pauses borrowed from the parent
    stretch: float  # this context's scale over its parent's: the parent lends its shape, not its scale


_Chain = tuple[_Level, ...]  # the resident's own curve first, the sensor's last


@dataclass(slots=True)
class SilenceModel:
    """One resident's pauses by context, as shrunk survival curves."""

    settings: SilenceSettings
    tz: tzinfo
    _pauses: dict[tuple[str, ...], tuple[list[float], list[bool]]] = field(
        default_factory=lambda: defaultdict(lambda: ([], []))
    )
    _curves: dict[tuple[str, ...], KaplanMeier] = field(default_factory=dict)
    _limits: dict[tuple[Activity, int, float], float] = field(default_factory=dict)
    _chains: dict[tuple[Activity, int], _Chain] = field(default_factory=dict)  # looked up every tick: kept

    def add(self, activity: Activity, start: datetime, end: datetime, *, ended: bool = True) -> None:
        """Record one pause that began after ``activity`` at ``start`` (``ended`` False: still running at ``end``)."""
        gap = (end - start).total_seconds()
        if gap < self.settings.min_gap.total_seconds():
            return
        for key in _keys(activity, self.settings.band(start, self.tz)):
            durations, flags = self._pauses[key]
            durations.append(gap)
            flags.append(ended)
        self._curves.clear()
        self._limits.clear()
        self._chains.clear()

    @property
    def pauses(self) -> int:
        """Return how many pauses were learned."""
        return len(self._pauses[()][0]) if () in self._pauses else 0

    def survival(self, activity: Activity, since: datetime, silence: timedelta) -> float:
        """Return the probability that a normal pause after ``activity`` at ``since`` lasts at least ``silence``."""
        if silence < self.settings.shortest:
            return 1.0
        return self._survival(self._chain(activity, self.settings.band(since, self.tz)), silence.total_seconds())

    def limit(self, activity: Activity, since: datetime, alpha: float) -> timedelta:
        """Return the shortest silence after ``activity`` at ``since`` whose survival is below ``alpha``."""
        return max(self._quantile(activity, since, alpha), self.settings.shortest)

    def usual(self, activity: Activity, since: datetime) -> timedelta | None:
        """Return the median pause after ``activity`` at ``since``, or None with nothing learned."""
        return self._quantile(activity, since, 0.5) if self.pauses else None

    def _quantile(self, activity: Activity, since: datetime, alpha: float) -> timedelta:
        band = self.settings.band(since, self.tz)
        key = (activity, band, alpha)
        if key not in self._limits:
            self._limits[key] = self._invert(self._chain(activity, band), alpha)
        return timedelta(seconds=self._limits[key])

    def _chain(self, activity: Activity, band: int) -> _Chain:
        key = (activity, band)
        if key not in self._chains:
            self._chains[key] = self._build_chain(activity, band)
        return self._chains[key]

    def _build_chain(self, activity: Activity, band: int) -> _Chain:
        s = self.settings
        log_scale = math.log(s.population.quantile(min(s.scale_quantile, 0.99)))  # its own has no longest
        out = []
        for i, key in enumerate(_keys(activity, band)):
            curve = self._curve(key)
            if curve is None:
                continue
            lent = s.population_weight if i == 0 else s.prior
            own = curve.quantile(s.scale_quantile)
            shrunk = log_scale if own is None else (curve.n * math.log(own) + lent * log_scale) / (curve.n + lent)
            out.append(_Level(curve, lent, math.exp(shrunk - log_scale)))
            log_scale = shrunk
        return tuple(out)

    def _curve(self, key: tuple[str, ...]) -> KaplanMeier | None:
        if key not in self._pauses:
            return None
        if key not in self._curves:
            self._curves[key] = KaplanMeier.fit(*self._pauses[key])
        return self._curves[key]

    def _survival(self, chain: _Chain, t_s: float) -> float:
        """Return ``(n·KM(t) + k·parent(t / stretch)) / (n + k)``, down the chain to the population's curve."""
        floor = self.settings.min_gap.total_seconds()
        if t_s < floor:
            return 1.0
        if not chain:
            population = self.settings.population
            return population(t_s) / population(floor)  # given that the pause reached min_gap, like every curve
        *parents, level = chain
        n, k = level.curve.n, level.lent
        return (n * level.curve(t_s) + k * self._survival(tuple(parents), t_s / level.stretch)) / (n + k)

    def _invert(self, chain: _Chain, alpha: float) -> float:
        """Find, by bisection on a log scale, where the (non-increasing) survival first drops below ``alpha``."""
        low, high = self.settings.min_gap.total_seconds(), self.settings.longest.total_seconds()
        if self._survival(chain, high) >= alpha:
            return high
        for _ in range(40):
            mid = math.sqrt(low * high)
            if self._survival(chain, mid) < alpha:
                high = mid
            else:
                low = mid
        return high


def _keys(activity: Activity, band: int) -> tuple[tuple[str, ...], ...]:
    """Return the contexts a pause belongs to, coarsest first: the resident, band, place, sensor."""
    b = str(band)
    return ((), (b,), (b, activity.place), (b, activity.place, activity.sensor))


def learn_silences(history: Sequence[Observation], tz: tzinfo, settings: SilenceSettings | None = None) -> SilenceModel:
    """Learn one resident's pauses by context from their observations (any order)."""
    model = SilenceModel(settings or SilenceSettings(), tz)
    where = Whereabouts()
    last: Activity | None = None
    for obs in sorted(history, key=event_time):
        body, at = obs.record.body, event_time(obs)
        before, resting = where.last_activity, where.resting(at)
        if not where.update(body, at):  # the home sensors only: learned pauses must hold with the bracelet off
            continue
        activity = activity_of(body)
        if last is not None and before is not None and not resting:
            model.add(last, before, at)
        last = activity
    return model
