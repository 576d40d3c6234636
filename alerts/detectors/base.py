"""The one detector interface, the resident profile detectors share, and the set that runs them all.

A detector is a small object with a few verbs, in the manner of River's anomaly detectors:

* ``register_resident(profile)`` — tell it who exists (time zone, personal limits, devices);
* ``learn(history)`` — fit a per-resident baseline from past observations (a no-op for most); ``fit``
  does the fitting apart from the live state and returns how to adopt it, so a running platform can
  re-learn every night without holding detection up while it fits;
* ``observe(obs)`` — take one observation, return the findings it causes;
* ``tick(now)`` — let time pass; return findings that silence or absence causes.

Detectors are pure: they never read a clock, a socket or the database. Time arrives as ``now`` or as
the device timestamp of an observation, so a test can run a week in a second. Hyperparameters are
constructor arguments; a detector that has seen nothing yet raises nothing. Each detector emits a
finding once per episode and re-arms when the condition clears; the alert service de-duplicates the rest.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone, tzinfo
from typing import ClassVar, Final

from alerts.findings import Finding, Observation
from alerts.kinds import Severity
from gateway.registry import Device, DeviceKind

CHINA_TIME: Final = timezone(timedelta(hours=8), "CST")

Adopt = Callable[[], None]  # puts baselines fitted apart from the live state into it


@dataclass(frozen=True, slots=True)
class ResidentProfile:
    """What detectors need to know about one resident: local time zone, devices, personal limits."""

    resident_id: str
    tz: tzinfo = CHINA_TIME
    bracelet_id: str | None = None
    devices: tuple[str, ...] = ()  # every device of the home, the bracelet included
    heart_rate_low: int | None = None  # personal limits set by the resident's doctor, if any
    heart_rate_high: int | None = None
    spo2_low: int | None = None
    bracelet_model: str | None = None  # fall detection uses this model's calibration where one exists


@dataclass(frozen=True, slots=True)
class PersonalLimits:
    """A resident's own vital limits (None: the detector's clinical default)."""

    heart_rate_low: int | None = None
    heart_rate_high: int | None = None
    spo2_low: int | None = None


def profiles_for(
    resident_ids: Iterable[str], devices: Iterable[Device], limits: Mapping[str, PersonalLimits] | None = None
) -> list[ResidentProfile]:
    """Build each resident's profile from the registered devices (the registry is the one source) and limits."""
    owned: dict[str, list[Device]] = {rid: [] for rid in resident_ids}
    personal = limits or {}
    for device in devices:
        if device.resident_id in owned:
            owned[device.resident_id].append(device)
    bracelets = {rid: next((d for d in mine if d.kind is DeviceKind.BRACELET), None) for rid, mine in owned.items()}
    return [
        ResidentProfile(
            resident_id=rid,
            bracelet_id=getattr(bracelets[rid], "id", None),
            bracelet_model=getattr(bracelets[rid], "model", None),
            devices=tuple(sorted(d.id for d in mine)),
            heart_rate_low=personal.get(rid, PersonalLimits()).heart_rate_low,
            heart_rate_high=personal.get(rid, PersonalLimits()).heart_rate_high,
            spo2_low=personal.get(rid, PersonalLimits()).spo2_low,
        )
        for rid, mine in owned.items()
    ]


class Detector(ABC):
    """Turn a resident's observations and the passing of time into findings."""

    kinds: ClassVar[tuple[str, ...]] = ()  # the alert kinds this detector may emit

    def __init__(self) -> None:
        self._profiles: dict[str, ResidentProfile] = {}

    def register_resident(self, profile: ResidentProfile) -> None:
        """Make a resident known, or replace what is known about them."""
        self._profiles[profile.resident_id] = profile

    def profile(self, resident_id: str) -> ResidentProfile:
        """Return the resident's profile, or defaults for a resident nobody registered."""
        return self._profiles.get(resident_id) or ResidentProfile(resident_id)

    @property
    def residents(self) -> Sequence[str]:
        """Return the ids of the registered residents."""
        return tuple(self._profiles)

    def fit(self, history: Sequence[Observation]) -> Adopt | None:
        """Fit per-resident baselines without touching live state; return how to adopt them (None: none)."""
        del history
        return None

    def learn(self, history: Iterable[Observation]) -> None:
        """Fit per-resident baselines from past observations and adopt them at once."""
        adopt = self.fit(list(history))
        if adopt is not None:
            adopt()

    @abstractmethod
    def observe(self, obs: Observation) -> list[Finding]:
        """Take one observation and return the findings it causes."""

    def tick(self, now: datetime) -> list[Finding]:
        """Let time pass until ``now`` and return the findings that silence causes."""
        del now
        return []


@dataclass(slots=True)
class DetectorSet:
    """Fan every observation and tick out to all detectors and collect their findings."""

    detectors: Sequence[Detector]
    profiles: Mapping[str, ResidentProfile] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for profile in self.profiles.values():
            self.register_resident(profile)

    def register_resident(self, profile: ResidentProfile) -> None:
        """Make a resident known to every detector."""
        for detector in self.detectors:
            detector.register_resident(profile)

    def fit(self, history: Iterable[Observation]) -> Adopt:
        """Fit every detector on the same history; return how to adopt all of it at once."""
        observations = list(history)
        adopts = [a for a in (d.fit(observations) for d in self.detectors) if a is not None]

        def adopt() -> None:
            for one in adopts:
                one()

        return adopt

    def learn(self, history: Iterable[Observation]) -> None:
        """Give the same history to every detector and adopt what they learned."""
        self.fit(history)()

    def observe(self, obs: Observation) -> list[Finding]:
        """Pass one observation to every detector."""
        return [f for detector in self.detectors for f in detector.observe(obs)]

    def tick(self, now: datetime) -> list[Finding]:
        """Let time pass for every detector."""
        return [f for detector in self.detectors for f in detector.tick(now)]


def event_time(obs: Observation) -> datetime:
    """Return when the observed thing happened, by the device clock."""
    return obs.record.body.ts


def finding(
    kind: str,
    resident_id: str,
    at: datetime,
    text: tuple[str, str],
    *,
    device_id: str | None = None,
    severity: Severity | None = None,
    cancels: bool = False,
    details: Mapping[str, object] | None = None,
    **more: object,
) -> Finding:
    """Build a finding from its kind, an English and a Chinese explanation, and details."""
    return Finding(
        kind=kind,
        resident_id=resident_id,
        at=at,
        explanation=text[0],
        explanation_zh=text[1],
        device_id=device_id,
        severity=severity,
        details={**(details or {}), **more},
        cancels=cancels,
    )


def duration_text(span: timedelta) -> tuple[str, str]:
    """Say a duration the way an operator reads it: ``3 h 10 min`` and ``3小时10分钟``."""
    minutes = max(0, round(span.total_seconds() / 60))
    hours, mins = divmod(minutes, 60)
    if hours and mins:
        return f"{hours} h {mins} min", f"{hours}小时{mins}分钟"
    if hours:
        return f"{hours} h", f"{hours}小时"
    return f"{mins} min", f"{mins}分钟"


def clock_text(at: datetime, tz: tzinfo) -> str:
    """Say a moment as local wall-clock time, ``07:45``."""
    return at.astimezone(tz).strftime("%H:%M")


def local_hour(at: datetime, tz: tzinfo) -> float:
    """Return the local time of day in hours, 0 ≤ h < 24."""
    local = at.astimezone(tz)
    return local.hour + local.minute / 60 + local.second / 3600


def in_window(hour: float, start: float, end: float) -> bool:
    """Tell whether a local hour falls in a daily window, which may wrap past midnight."""
    return start <= hour < end if start <= end else hour >= start or hour < end
