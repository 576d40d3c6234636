"""Vital signs from the bracelet: heart rate outside limits and low blood oxygen, sustained, while worn.

One reading out of range is noise (a loose strap, a sprint to the phone), and so is one reading back in
range: a wrist sensor scatters a few beats either side of the truth. A finding needs the worn readings
of the last ``sustain`` to be beyond the limit in their median (more than half) and in at least
``share`` of them. The episode re-arms once the median is back within the limit (hysteresis: a few
readings back across the line neither end nor restart it); readings taken while the bracelet is off
the wrist say nothing about the resident and end it.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
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
    VitalRule(
        "spo2_low", "%", ("blood oxygen", "血氧"), lambda t: t.spo2, lambda p, d: p.spo2_low or d.spo2_low, above=False
    ),
)


@dataclass(slots=True)
class _Window:
    """The worn readings of one vital sign over the last ``sustain``, with a running count beyond the limit."""

    readings: deque[tuple[datetime, int, bool]] = field(default_factory=deque)
    beyond: int = 0
    fired: bool = False

    def add(self, at: datetime, value: int, beyond: bool, span: timedelta) -> bool:
        """Keep a reading and the ones since ``span`` before it; tell whether they cover the span."""
        self.readings.append((at, value, beyond))
        self.beyond += beyond
        while len(self.readings) >= 2 and self.readings[1][0] <= at - span:
            self.beyond -= self.readings.popleft()[2]
        return at - self.readings[0][0] >= span

    @property
    def share(self) -> float:
        """Return the share of the kept readings that are beyond the limit."""
        return self.beyond / len(self.readings)


class VitalsDetector(Detector):
    """Raise a finding when a vital sign stays beyond its limit for ``sustain`` while the bracelet is worn."""

    kinds = tuple(r.kind for r in RULES)

    def __init__(
        self,
        limits: Limits = Limits(),
        sustain: timedelta = timedelta(minutes=10),
        spo2_sustain: timedelta = timedelta(minutes=5),
        share: float = 0.7,
    ) -> None:
        super().__init__()
        self.limits = limits or Limits()
        self.sustain = {r.kind: spo2_sustain if r.kind == "spo2_low" else sustain for r in RULES}
        self.share = share  # of the window's readings that must be beyond the limit
        self._windows: dict[tuple[str, str], _Window] = {}

    def observe(self, obs: Observation) -> list[Finding]:
        """Update every vital-sign window of the resident with one telemetry reading."""
        body = obs.record.body
        if not isinstance(body, Telemetry):
            return []
        if not body.worn:
            for rule in RULES:
                self._windows.pop((obs.resident_id, rule.kind), None)
            return []
        profile = self.profile(obs.resident_id)
        found = (self._update(rule, obs, body, profile) for rule in RULES)
        return [f for f in found if f is not None]

    def _update(self, rule: VitalRule, obs: Observation, body: Telemetry, profile: ResidentProfile) -> Finding | None:
        value = rule.reading(body)
        if value is None:
            return None
        window = self._windows.setdefault((obs.resident_id, rule.kind), _Window())
        limit = rule.limit(profile, self.limits)
        covered = window.add(event_time(obs), value, _beyond(rule, value, limit), self.sustain[rule.kind])
        share = window.share
        if share <= 0.5:  # the median is back within the limit: the episode is over
            window.fired = False
            return None
        if window.fired or not covered or share < self.share:
            return None
        window.fired = True
        values = sorted(v for _, v, _ in window.readings)
        worst = values[-1] if rule.above else values[0]
        span = window.readings[-1][0] - window.readings[0][0]
        return self._finding(rule, obs, values[len(values) // 2], worst, limit=limit, span=span, share=share)

    def _finding(
        self, rule: VitalRule, obs: Observation, value: int, worst: int, *, limit: int, span: timedelta, share: float
    ) -> Finding:
        en, zh = duration_text(span)
        side_en, side_zh = ("above", "高于") if rule.above else ("below", "低于")
        pct = round(100 * share)
        text = (
            f"{rule.name[0]} {value}{rule.unit}, {side_en} the limit of {limit}{rule.unit} for {en}"
            f" ({pct}% of readings; worst {worst}{rule.unit})",
            f"{rule.name[1]}{value}{rule.unit}，{zh}内{pct}%的读数{side_zh}限值{limit}{rule.unit}"
            f"（最差{worst}{rule.unit}）",
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
            share=round(share, 2),
        )


def _beyond(rule: VitalRule, value: int, limit: int) -> bool:
    """Tell whether a reading is on the abnormal side of the limit."""
    return value > limit if rule.above else value < limit
