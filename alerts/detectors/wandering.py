"""Night wandering: the front door opens at night and the resident does not come back in.

An opening of the front door inside the night window starts a watch. Any activity indoors other than
the same door swinging shut ends it (the resident came back, or never left); so does the front door
moving again after ``return_gap``, which is the resident coming home. A watch older than
``no_return_after`` raises ``night_wandering`` once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from alerts.detectors.base import Detector, clock_text, duration_text, event_time, finding, in_window, local_hour
from alerts.detectors.signals import is_activity_event, is_front_door
from alerts.findings import Finding, Observation
from gateway.contract import DoorEvent


@dataclass(frozen=True, slots=True)
class _Watch:
    opened_at: datetime
    last_door_at: datetime
    device_id: str
    fired: bool = False


class NightWanderingDetector(Detector):
    """Raise ``night_wandering`` when the front door opens at night and nobody comes back in."""

    kinds = ("night_wandering",)

    def __init__(
        self,
        night: tuple[float, float] = (22.0, 6.0),
        no_return_after: timedelta = timedelta(minutes=30),
        return_gap: timedelta = timedelta(minutes=2),
    ) -> None:
        super().__init__()
        self.night = night
        self.no_return_after = no_return_after
        self.return_gap = return_gap  # door movements closer than this are one leaving
        self._watches: dict[str, _Watch] = {}

    def observe(self, obs: Observation) -> list[Finding]:
        """Start a watch when the front door opens at night; end it when the resident is inside."""
        body, at, rid = obs.record.body, event_time(obs), obs.resident_id
        watch = self._watches.get(rid)
        if is_front_door(body):
            if watch is None:
                opened = isinstance(body, DoorEvent) and body.state == "open"
                if opened and in_window(local_hour(at, self.profile(rid).tz), *self.night):
                    self._watches[rid] = _Watch(at, at, obs.record.device_id)
            elif at - watch.last_door_at >= self.return_gap:
                del self._watches[rid]
            else:
                self._watches[rid] = _Watch(watch.opened_at, at, watch.device_id, watch.fired)
        elif watch is not None and is_activity_event(body):
            del self._watches[rid]
        return []

    def tick(self, now: datetime) -> list[Finding]:
        """Raise ``night_wandering`` for every night-time leaving without return since ``no_return_after``."""
        out = []
        for rid, watch in self._watches.items():
            if watch.fired or now - watch.opened_at < self.no_return_after:
                continue
            self._watches[rid] = _Watch(watch.opened_at, watch.last_door_at, watch.device_id, fired=True)
            en, zh = duration_text(now - watch.opened_at)
            when = clock_text(watch.opened_at, self.profile(rid).tz)
            text = (
                f"front door opened at {when} at night; no sign of return for {en}",
                f"夜间{when}大门打开，已{zh}未见返回",
            )
            out.append(
                finding(
                    "night_wandering", rid, now, text, device_id=watch.device_id, opened_at=watch.opened_at.isoformat()
                )
            )
        return out
