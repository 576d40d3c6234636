"""Device health: offline devices, flat batteries (with a forecast of when), a bracelet left off the wrist.

* Offline: a ``Status`` of ``offline`` (the last will the broker publishes for a dead connection), or
  silence from a device that reports periodically — a bracelet's telemetry, a hub's retained status
  heartbeat — for ``missed`` of its own usual intervals (the median of its recent ones), never less
  than ``offline_floor``. A power cut sends no last will; only the missing heartbeats tell. The first
  message after that cancels the finding.
* Battery low: at or below ``battery_low`` percent, once per discharge; the drain rate is a least-squares
  slope over the last ``drain_window`` of readings, which gives the forecast.
* Not worn: the bracelet reports ``worn: false`` for ``not_worn_for`` inside the daytime window; charging
  at night is expected, so only daytime counts.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta, tzinfo
from typing import Final

from alerts.detectors.base import Detector, clock_text, duration_text, event_time, finding, in_window, local_hour
from alerts.findings import Finding, Observation
from gateway.contract import Status, Telemetry


@dataclass(slots=True)
class _DeviceState:
    resident_id: str
    last_seen: datetime
    last_beat: datetime | None = None  # last periodic message: telemetry or an online status
    intervals: deque[float] = field(default_factory=lambda: deque(maxlen=INTERVALS_KEPT))
    usual_s: float | None = None  # the median interval, once enough are seen
    offline: bool = False
    battery: deque[tuple[datetime, int]] = field(default_factory=deque)
    battery_fired: bool = False
    off_wrist_since: datetime | None = None
    not_worn_fired: bool = False


INTERVALS_KEPT: Final = 9  # recent heartbeat intervals whose median is the device's usual one
MIN_INTERVALS: Final = 3  # before this many, a device's rhythm is unknown and its silence says nothing


def _beat(state: _DeviceState, at: datetime) -> None:
    """Record a periodic message and update the device's usual interval."""
    if state.last_beat is not None and not state.offline and at > state.last_beat:
        state.intervals.append((at - state.last_beat).total_seconds())
        if len(state.intervals) >= MIN_INTERVALS:
            state.usual_s = sorted(state.intervals)[len(state.intervals) // 2]
    state.last_beat = at if state.last_beat is None else max(state.last_beat, at)


class DeviceHealthDetector(Detector):
    """Raise ``device_offline``, ``battery_low`` and ``not_worn`` once per episode."""

    kinds = ("device_offline", "battery_low", "not_worn")

    def __init__(
        self,
        *,
        missed: float = 3.0,
        offline_floor: timedelta = timedelta(minutes=10),
        battery_low: int = 20,
        battery_recharged: int = 30,
        drain_window: timedelta = timedelta(hours=12),
        not_worn_for: timedelta = timedelta(hours=3),
        daytime: tuple[float, float] = (8.0, 21.0),
    ) -> None:
        super().__init__()
        self.missed = missed  # usual intervals without a message before a device counts as offline
        self.offline_floor = offline_floor
        self.battery_low = battery_low
        self.battery_recharged = battery_recharged  # hysteresis: re-arm only after a real charge
        self.drain_window = drain_window
        self.not_worn_for = not_worn_for
        self.daytime = daytime
        self._devices: dict[str, _DeviceState] = {}

    def observe(self, obs: Observation) -> list[Finding]:
        """Update the device's health with one message of any kind."""
        body, at, device_id = obs.record.body, event_time(obs), obs.record.device_id
        state = self._devices.setdefault(device_id, _DeviceState(obs.resident_id, at))
        state.last_seen = max(state.last_seen, at)
        if isinstance(body, Status) and body.state == "offline":
            return self._went_offline(state, device_id, at, f"device reported offline ({body.reason or 'last will'})")
        if isinstance(body, Telemetry | Status):
            _beat(state, at)
        out = self._back_online(state, device_id, at)
        if isinstance(body, Telemetry):
            self._track_wrist(state, body.worn, at)
            out += self._not_worn(device_id, state, at)
        level = body.battery if isinstance(body, Telemetry | Status) else None
        if level is not None:
            out += self._battery(device_id, state, at, level)
        return out

    def tick(self, now: datetime) -> list[Finding]:
        """Raise ``device_offline`` for silent devices and ``not_worn`` for bracelets left off all day."""
        out: list[Finding] = []
        for device_id, state in self._devices.items():
            silent = now - state.last_seen
            timeout = self._timeout(state)
            if timeout is not None and silent >= timeout:
                en, zh = duration_text(silent)
                out += self._went_offline(state, device_id, now, f"no message for {en}", f"已{zh}未收到消息")
            out += self._not_worn(device_id, state, now)
        return out

    def _timeout(self, state: _DeviceState) -> timedelta | None:
        """Return how long this device may be silent, or None while its rhythm is unknown."""
        if state.usual_s is None:
            return None
        return max(self.offline_floor, timedelta(seconds=state.usual_s * self.missed))

    def _went_offline(
        self, state: _DeviceState, device_id: str, at: datetime, why: str, why_zh: str = ""
    ) -> list[Finding]:
        if state.offline:
            return []
        state.offline = True
        text = (f"device {device_id} is offline: {why}", f"设备{device_id}离线：{why_zh or '设备上报离线'}")
        return [finding("device_offline", state.resident_id, at, text, device_id=device_id)]

    def _back_online(self, state: _DeviceState, device_id: str, at: datetime) -> list[Finding]:
        if not state.offline:
            return []
        state.offline = False
        text = (f"device {device_id} is back online", f"设备{device_id}已恢复在线")
        return [finding("device_offline", state.resident_id, at, text, device_id=device_id, cancels=True)]

    def _battery(self, device_id: str, state: _DeviceState, at: datetime, level: int) -> list[Finding]:
        state.battery.append((at, level))
        while state.battery and at - state.battery[0][0] > self.drain_window:
            state.battery.popleft()
        if level >= self.battery_recharged:
            state.battery_fired = False
        if state.battery_fired or level > self.battery_low:
            return []
        state.battery_fired = True
        text = _battery_text(level, drain_per_hour(state.battery), at, self.profile(state.resident_id).tz)
        return [finding("battery_low", state.resident_id, at, text, device_id=device_id, battery=level)]

    def _track_wrist(self, state: _DeviceState, worn: bool, at: datetime) -> None:
        if worn:
            state.off_wrist_since, state.not_worn_fired = None, False
        elif state.off_wrist_since is None:
            state.off_wrist_since = at

    def _not_worn(self, device_id: str, state: _DeviceState, now: datetime) -> list[Finding]:
        if state.off_wrist_since is None or state.not_worn_fired or state.offline:
            return []
        tz = self.profile(state.resident_id).tz
        if not in_window(local_hour(now, tz), *self.daytime):
            return []
        day_start = now.astimezone(tz).replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(
            hours=self.daytime[0]
        )
        off = now - max(state.off_wrist_since, day_start)
        if off < self.not_worn_for:
            return []
        state.not_worn_fired = True
        en, zh = duration_text(off)
        text = (f"bracelet not worn for {en} in the daytime", f"白天已{zh}未佩戴手环")
        return [finding("not_worn", state.resident_id, now, text, device_id=device_id, not_worn_s=off.total_seconds())]


def drain_per_hour(readings: deque[tuple[datetime, int]]) -> float | None:
    """Return the battery's drain in percent per hour by least squares, or None while unknown."""
    if len(readings) < 2 or readings[-1][0] - readings[0][0] < timedelta(minutes=30):
        return None
    t0 = readings[0][0]
    xs = [(t - t0).total_seconds() / 3600 for t, _ in readings]
    ys = [float(v) for _, v in readings]
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    sxx = sum((x - mx) ** 2 for x in xs)
    slope = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / sxx
    return -slope if slope < 0 else None


def _battery_text(level: int, drain: float | None, at: datetime, tz: tzinfo) -> tuple[str, str]:
    if drain is None:
        return (f"battery {level}%; drain rate not yet known", f"电量{level}%，耗电速度暂未知")
    left = timedelta(hours=level / drain)
    en, zh = duration_text(left)
    when = clock_text(at + left, tz)
    return (
        f"battery {level}%, falling {drain:.1f}%/h; empty in about {en} (around {when})",
        f"电量{level}%，每小时下降{drain:.1f}%，约{zh}后耗尽（约{when}）",
    )
