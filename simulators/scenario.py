"""Scenarios: everything that defines a simulation run, from a TOML file or the command line.

A scenario file (see ``scenarios/demo.toml``) has top-level keys named like the fields of
`Scenario`, plus two tables::

    residents = 60
    seed = 7
    speed = 1.0            # 1 real time, 60 or 3600 accelerated, 0 as fast as possible
    days = 30
    start = "now"          # or an ISO-8601 time; "now" starts the run at the wall clock
    connections = "shared" # or "per-device"
    faulty = 0.0           # fraction of messages damaged on purpose (faulty-device mode)

    [neighbourhood]        # fleet.Neighbourhood
    lat = 30.6586
    lon = 104.0648

    [incidents]
    counts = { fall = 2, sos = 1 }
    every_minutes = 4      # and one more incident about every 4 simulated minutes
    weights = { fall = 3, sos = 2 }   # kinds drawn for the rate, by weight (default: all alike)
    around_the_clock = true  # kinds that can happen at night do (default: each in its daily window)
    first_within_minutes = 1 # one first_kind incident (default "sos") within a minute of the start
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field, fields, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Final

from simulators.fleet import Neighbourhood
from simulators.model import World
from simulators.schedule import DAY, IncidentSpec

CONNECTIONS: Final = ("shared", "per-device")
_INCIDENT_KEYS: Final = {"counts", "weights", "every_minutes", "around_the_clock", "first_within_minutes", "first_kind"}


@dataclass(frozen=True, slots=True)
class Scenario:
    """One run: the neighbourhood, its incidents, how fast time goes and how messages leave."""

    residents: int = 20
    seed: int = 7
    speed: float = 0.0  # 0: as fast as possible
    days: float = 1.0
    start: datetime | None = None  # None: chosen so that no device clock runs ahead of the wall clock
    incidents: IncidentSpec = field(default_factory=IncidentSpec)
    neighbourhood: Neighbourhood = field(default_factory=Neighbourhood)
    tz_offset_hours: float = 8.0
    prefix: str = "ec/v1"
    connections: str = "shared"
    faulty: float = 0.0
    name: str = "adhoc"

    def world(self, now: datetime) -> World:
        """Fix the run's span (against ``now`` when no start is given) and return the model's view."""
        start = self.start or default_start(now, self.days, self.speed)
        begin = start.timestamp()
        return World(
            self.residents,
            self.seed,
            begin,
            begin + self.days * DAY,
            self.incidents,
            self.neighbourhood,
            self.tz_offset_hours * 3600,
        )


def default_start(now: datetime, days: float, speed: float) -> datetime:
    """Return the earliest start whose device clocks never pass the wall clock during the run.

    Run paced at ``speed``, simulated time gains ``1 - 1/speed`` on the wall clock; starting that
    much in the past ends the run at "now". As fast as possible, the whole run lies in the past.
    """
    span = timedelta(days=days)
    lead = span if speed <= 0 else span * max(0.0, 1 - 1 / speed)
    return (now - lead).replace(microsecond=0)


def load(path: Path, **overrides: Any) -> Scenario:
    """Read a scenario file; keyword arguments that are not None win over the file."""
    with path.open("rb") as f:
        raw = tomllib.load(f)
    scenario = from_mapping(raw, name=path.stem)
    return replace(scenario, **{k: v for k, v in overrides.items() if v is not None})


def from_mapping(raw: dict[str, Any], name: str = "adhoc") -> Scenario:
    """Build a scenario from parsed TOML."""
    known = {f.name for f in fields(Scenario)}
    unknown = set(raw) - known
    if unknown:
        raise ValueError(f"unknown scenario keys: {', '.join(sorted(unknown))}")
    values: dict[str, Any] = {"name": name, **raw}
    values["start"] = parse_start(raw.get("start"))
    values["incidents"] = _incidents(raw.get("incidents", {}))
    values["neighbourhood"] = Neighbourhood(**raw.get("neighbourhood", {}))
    if values.get("connections", "shared") not in CONNECTIONS:
        raise ValueError(f"connections must be one of {CONNECTIONS}")
    return Scenario(**values)


def parse_start(value: object) -> datetime | None:
    """Parse a start time: None or "now" mean the default, naive times are UTC."""
    if value is None or value == "now":
        return None
    when = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def _incidents(raw: dict[str, Any]) -> IncidentSpec:
    counts = IncidentSpec.parse(",".join(f"{k}:{v}" for k, v in raw.get("counts", {}).items())).counts
    weights = {k: float(v) for k, v in raw.get("weights", {}).items()}
    IncidentSpec.parse(",".join(weights))  # reject unknown kinds
    unknown = set(raw) - _INCIDENT_KEYS
    if unknown:
        raise ValueError(f"unknown [incidents] keys: {', '.join(sorted(unknown))}")
    first_kind = str(raw.get("first_kind", "sos"))
    IncidentSpec.parse(first_kind)
    return IncidentSpec(
        counts=counts,
        every_minutes=raw.get("every_minutes"),
        weights=weights,
        around_the_clock=bool(raw.get("around_the_clock", False)),
        first_within_minutes=raw.get("first_within_minutes"),
        first_kind=first_kind,
    )
