"""Vital signs from the bracelet: heart rate outside limits and low blood oxygen, sustained, while worn.

One reading out of range is noise (a loose strap, a sprint to the phone); a finding needs every worn
reading for ``sustain`` to be out of range. A reading back in range ends the episode and re-arms it;
readings taken while the bracelet is off the wrist say nothing about the resident and end it too.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from alerts.detectors.base import Detector, ResidentProfile, duration_text, event_time, finding
from alerts.findings import Finding, Observation
from gateway.contract import Telemetry


@dataclass(frozen=True, slots=True)
class Limits:
    """Clinical defaults, used where the resident's profile sets no personal limit."""

    heart_rate_low: int = 40
    heart_rate_high: int = 120
    spo2_low: int = 90


@dataclass(frozen=True, slots=True)
class VitalRule:
    """One vital-sign condition: which reading, what limit, which side of it is abnormal."""

    kind: str
    unit: str
    name: tuple[str, str]
    reading: Callable[[Telemetry], int | None]
    limit: Callable[[ResidentProfile, Limits], int]
    above: bool  # abnormal above the limit (else below it)


RULES: Final = (
    VitalRule(
        "heart_rate_high",
        " bpm",
        ("heart rate", "心率"),
        lambda t: t.heart_rate,
        lambda p, d: p.heart_rate_high or d.heart_rate_high,
        above=True,
    ),
    VitalRule(
        "heart_rate_low",
        " bpm",
        ("heart rate", "心率"),
        lambda t: t.heart_rate,
        lambda p, d: p.heart_rate_low or d.heart_rate_low,
        above=False,
    ),
    VitalRule("spo2_low", "%", ("blood oxygen", "血氧"), lambda t: t.spo2, lambda p, d: d.spo2_low, above=False),
)


@dataclass(frozen=True, slots=True)
class _Episode:
    since: datetime
    worst: int
    fired: bool = False


class VitalsDetector(Detector):
    """Raise a finding when a vital sign stays beyond its limit for ``sustain`` while the bracelet is worn."""

    kinds = tuple(r.kind for r in RULES)

    def __init__(
        self,
        limits: Limits = Limits(),
        sustain: timedelta = timedelta(minutes=10),
        spo2_sustain: timedelta = timedelta(minutes=5),
    ) -> None:
        super().__init__()
        self.limits = limits or Limits()
        self.sustain = {r.kind: spo2_sustain if r.kind == "spo2_low" else sustain for r in RULES}
        self._episodes: dict[tuple[str, str], _Episode] = {}

    def observe(self, obs: Observation) -> list[Finding]:
        """Update every vital-sign episode of the resident with one telemetry reading."""
        body = obs.record.body
        if not isinstance(body, Telemetry):
            return []
        profile = self.profile(obs.resident_id)
        found = (self._update(rule, obs, body, profile) for rule in RULES)
        return [f for f in found if f is not None]

    def _update(self, rule: VitalRule, obs: Observation, body: Telemetry, profile: ResidentProfile) -> Finding | None:
        key = (obs.resident_id, rule.kind)
        value = rule.reading(body)
        if not body.worn:
            self._episodes.pop(key, None)
            return None
        if value is None:
            return None
        limit = rule.limit(profile, self.limits)
        if not (value > limit if rule.above else value < limit):
            self._episodes.pop(key, None)
            return None
        at = event_time(obs)
        old = self._episodes.get(key) or _Episode(at, value)
        worst = max(old.worst, value) if rule.above else min(old.worst, value)
        due = not old.fired and at - old.since >= self.sustain[rule.kind]
        self._episodes[key] = _Episode(old.since, worst, old.fired or due)
        return self._finding(rule, obs, value, worst, limit=limit, span=at - old.since) if due else None

    def _finding(
        self, rule: VitalRule, obs: Observation, value: int, worst: int, *, limit: int, span: timedelta
    ) -> Finding:
        en, zh = duration_text(span)
        side_en, side_zh = ("above", "高于") if rule.above else ("below", "低于")
        text = (
            f"{rule.name[0]} {value}{rule.unit}, {side_en} the limit of {limit}{rule.unit} for {en}"
            f" (worst {worst}{rule.unit})",
            f"{rule.name[1]}{value}{rule.unit}，已持续{zh}{side_zh}限值{limit}{rule.unit}（最差{worst}{rule.unit}）",
        )
        return finding(
            rule.kind,
            obs.resident_id,
            event_time(obs),
            text,
            device_id=obs.record.device_id,
            value=value,
            worst=worst,
            limit=limit,
            sustained_s=span.total_seconds(),
        )
