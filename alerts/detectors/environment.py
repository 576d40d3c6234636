"""Home safety alarms: smoke, gas and water leak raise at once; the detector's own "clear" cancels."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from alerts.detectors.base import Detector, event_time, finding
from alerts.findings import Finding, Observation
from alerts.kinds import Severity
from gateway.contract import Body, GasEvent, SmokeEvent, WaterLeakEvent


@dataclass(frozen=True, slots=True)
class HazardKind:
    """One alarm sensor kind: the event it sends, the alert it raises, and what to tell the operator."""

    event: type[SmokeEvent | GasEvent | WaterLeakEvent]
    alert: str
    raised: tuple[str, str]
    cleared: tuple[str, str]


HAZARDS: Final[dict[type[Body], HazardKind]] = {
    h.event: h
    for h in (
        HazardKind(
            SmokeEvent, "smoke", ("smoke detector alarm", "烟雾探测器报警"), ("smoke alarm cleared", "烟雾报警已解除")
        ),
        HazardKind(GasEvent, "gas", ("gas detector alarm", "燃气探测器报警"), ("gas alarm cleared", "燃气报警已解除")),
        HazardKind(
            WaterLeakEvent,
            "water_leak",
            ("water leak detected", "检测到漏水"),
            ("water leak alarm cleared", "漏水报警已解除"),
        ),
    )
}


class EnvironmentDetector(Detector):
    """Raise a critical finding when a hazard sensor alarms, and a cancelling one when it clears."""

    kinds = tuple(h.alert for h in HAZARDS.values())

    def __init__(self) -> None:
        super().__init__()
        self._alarmed: set[tuple[str, str, str]] = set()  # (resident, alert kind, sensor) in alarm

    def observe(self, obs: Observation) -> list[Finding]:
        """Raise on the first alarm of a sensor, cancel on its clear; repeats in between say nothing."""
        body = obs.record.body
        hazard = HAZARDS.get(type(body))  # by class: the hot path sees every telemetry reading
        if hazard is None or not isinstance(body, hazard.event):
            return []
        sensor = body.sensor_id or obs.record.device_id
        key = (obs.resident_id, hazard.alert, sensor)
        alarm = body.state == "alarm"
        if alarm == (key in self._alarmed):
            return []
        if alarm:
            self._alarmed.add(key)
        else:
            self._alarmed.discard(key)
        return [
            finding(
                hazard.alert,
                obs.resident_id,
                event_time(obs),
                hazard.raised if alarm else hazard.cleared,
                device_id=obs.record.device_id,
                severity=Severity.CRITICAL if alarm else None,
                cancels=not alarm,
                sensor_id=sensor,
            )
        ]
