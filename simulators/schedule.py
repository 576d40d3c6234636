"""When incidents happen and to whom: a fixed number of each kind over the run, or a steady rate.

`IncidentSpec` says what to inject (``fall:2,sos:1`` on the command line, or a rate such as one
incident every four minutes with kinds drawn by weight, as in the demo scenario); `Schedule` draws
the incidents for each local day from the seed alone, so a day's incidents are the same whichever
order the days are asked for in.

Two settings make a demo alive at any hour (both off unless a scenario turns them on):
``around_the_clock`` lets every kind with an ``any_hour`` placer start at any local hour, not only in
its daily window; ``first_within_minutes`` puts one ``first_kind`` incident (an SOS by default) within
that many minutes of the run's start, so that someone opening the console sees an emergency at once.
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final

from simulators.incidents import INCIDENT_KINDS, Incident, IncidentKind
from simulators.rand import seeded
from simulators.routine import HOUR, poisson

DAY: Final = 24 * HOUR


@dataclass(frozen=True, slots=True)
class IncidentSpec:
    """What to inject: exact counts over the run, and optionally one every ``every_minutes``."""

    counts: Mapping[str, int] = field(default_factory=dict)
    every_minutes: float | None = None
    weights: Mapping[str, float] = field(default_factory=dict)  # empty: every kind alike
    around_the_clock: bool = False  # kinds with an any-hour placement may start at any local hour
    first_within_minutes: float | None = None  # one first_kind incident this soon after the start
    first_kind: str = "sos"

    @classmethod
    def parse(cls, text: str) -> IncidentSpec:
        """Parse ``kind:count,kind:count`` (a bare kind counts once)."""
        counts: dict[str, int] = {}
        for item in filter(None, (p.strip() for p in text.split(","))):
            name, _, n = item.partition(":")
            if name not in INCIDENT_KINDS:
                raise ValueError(f"unknown incident kind {name!r}; known: {', '.join(INCIDENT_KINDS)}")
            counts[name] = counts.get(name, 0) + int(n or 1)
        return cls(counts=counts)


def local_midnight(t: float, tz_offset_s: float) -> float:
    """Return the local midnight at or before ``t``."""
    return math.floor((t + tz_offset_s) / DAY) * DAY - tz_offset_s


class Schedule:
    """The incidents of a run, day by day."""

    def __init__(
        self, spec: IncidentSpec, residents: tuple[str, ...], *, start: float, end: float, tz_offset_s: float, seed: int
    ) -> None:
        self._spec, self._residents, self._start, self._end = spec, residents, start, end
        self._tz, self._seed = tz_offset_s, seed
        self._counted: dict[float, list[Incident]] = {}
        self._days: dict[float, dict[str, list[Incident]]] = {}
        self.unplaced: list[str] = []
        self._place_counts(seeded(seed, "counts"))
        if spec.first_within_minutes is not None and residents:
            self._place_first(seeded(seed, "first"), spec.first_within_minutes * 60)

    def for_day(self, day_start: float) -> dict[str, list[Incident]]:
        """Return the day's incidents by resident, in time order."""
        if day_start not in self._days:
            for old in [d for d in self._days if d < day_start - DAY]:
                del self._days[old]  # a long real-time run must not keep every day
            self._days[day_start] = _by_resident(self._draw_day(day_start))
        return self._days[day_start]

    def _draw_day(self, day_start: float) -> tuple[Incident, ...]:
        incidents = list(self._counted.get(day_start, []))
        if self._spec.every_minutes and self._residents:
            incidents += self._rate_day(day_start, seeded(self._seed, "rate", f"{day_start:.0f}"))
        return tuple(sorted(incidents, key=lambda i: i.start))

    def _place_counts(self, rng: random.Random) -> None:
        for name, n in sorted(self._spec.counts.items()):
            kind = INCIDENT_KINDS[name]
            for _ in range(n):
                t = self._time_for(kind, rng)
                if t is None or not self._residents:
                    self.unplaced.append(name)
                    continue
                day = local_midnight(t, self._tz)
                busy = self._counted.setdefault(day, [])
                busy.append(self._incident(kind, t, busy, rng))

    def _place_first(self, rng: random.Random, within_s: float) -> None:
        """Put the first incident a few seconds to ``within_s`` after the start, whatever the hour."""
        kind = INCIDENT_KINDS[self._spec.first_kind]
        t = self._start + rng.uniform(0.2, 0.8) * within_s
        incident = Incident(kind.name, rng.choice(self._residents), t, rng.uniform(*kind.duration_s))
        self._counted.setdefault(local_midnight(t, self._tz), []).insert(0, incident)

    def _window(self, kind: IncidentKind) -> tuple[float, float]:
        """Return the local hours in which ``kind`` may start in this run."""
        return (0.0, 24.0) if self._spec.around_the_clock and kind.any_hour is not None else kind.window_h

    def _time_for(self, kind: IncidentKind, rng: random.Random) -> float | None:
        """Pick a start inside the kind's daily window with room to finish before the run ends."""
        spans = []
        window = self._window(kind)
        day = local_midnight(self._start, self._tz)
        while day < self._end:
            lo = max(day + window[0] * HOUR, self._start)
            latest = min(self._end - HOUR, day + DAY) - kind.duration_s[1]
            hi = min(day + window[1] * HOUR, latest)
            if hi > lo:
                spans.append((lo, hi))
            day += DAY
        if not spans:
            return None
        lo, hi = rng.choices(spans, weights=[b - a for a, b in spans])[0]
        return rng.uniform(lo, hi)

    def _rate_day(self, day_start: float, rng: random.Random) -> list[Incident]:
        lo, hi = max(day_start, self._start), min(day_start + DAY, self._end)
        every = (self._spec.every_minutes or 0) * 60
        count = poisson(rng, max(hi - lo, 0) / every) if every > 0 else 0
        out: list[Incident] = []
        for t in sorted(rng.uniform(lo, hi) for _ in range(count)):
            kinds = self._kinds_at(t, day_start)
            if kinds:
                weights = [self._spec.weights.get(k.name, 1.0) if self._spec.weights else 1.0 for k in kinds]
                out.append(self._incident(rng.choices(kinds, weights=weights)[0], t, out, rng))
        return out

    def _kinds_at(self, t: float, day_start: float) -> list[IncidentKind]:
        h = (t - day_start) / HOUR
        allowed = self._spec.weights or dict.fromkeys(INCIDENT_KINDS, 1.0)
        return [
            k
            for k in INCIDENT_KINDS.values()
            if allowed.get(k.name, 0) > 0
            and self._window(k)[0] <= h < self._window(k)[1]
            and t + k.duration_s[1] < min(self._end, day_start + DAY)
        ]

    def _incident(self, kind: IncidentKind, t: float, taken: list[Incident], rng: random.Random) -> Incident:
        duration = rng.uniform(*kind.duration_s)
        busy = {i.resident for i in taken if abs(i.start - t) < 6 * HOUR}
        free = [r for r in self._residents if r not in busy] or list(self._residents)
        return Incident(kind.name, rng.choice(free), t, duration)


def _by_resident(incidents: tuple[Incident, ...]) -> dict[str, list[Incident]]:
    out: dict[str, list[Incident]] = {}
    for i in incidents:
        out.setdefault(i.resident, []).append(i)
    return out
