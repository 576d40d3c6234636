"""Alert kinds and severities, as a table: what each kind is, how urgent, which incident it joins."""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from typing import Final


class Severity(IntEnum):
    """How urgent an alert is; a larger number is more urgent."""

    LOW = 1
    MEDIUM = 2
    HIGH = 3
    CRITICAL = 4


@dataclass(frozen=True, slots=True)
class AlertKind:
    """One kind of alert: its default severity, the incident group it joins, and its titles."""

    name: str
    severity: Severity
    group: str  # findings of one group for one resident join one incident (fall + SOS + no movement)
    title_en: str
    title_zh: str
    cancellable: bool = False  # the resident's "I'm OK" key may cancel it


ALERT_KINDS: Final[dict[str, AlertKind]] = {
    k.name: k
    for k in (
        AlertKind("sos", Severity.CRITICAL, "emergency", "SOS pressed", "紧急呼叫", cancellable=True),
        AlertKind("fall", Severity.CRITICAL, "emergency", "Fall detected", "跌倒", cancellable=True),
        AlertKind("long_lie", Severity.CRITICAL, "emergency", "Fall and no movement since", "跌倒后长时间未动"),
        AlertKind("inactivity", Severity.HIGH, "emergency", "Unusually long inactivity", "长时间无活动"),
        AlertKind("not_up", Severity.HIGH, "emergency", "Not up by the usual time", "未按时起床"),
        AlertKind("bathroom_too_long", Severity.HIGH, "emergency", "In the bathroom too long", "如厕时间过长"),
        AlertKind("no_activity_today", Severity.HIGH, "emergency", "No activity today", "今日无活动"),
        AlertKind("heart_rate_high", Severity.HIGH, "vitals", "Heart rate too high", "心率过高"),
        AlertKind("heart_rate_low", Severity.HIGH, "vitals", "Heart rate too low", "心率过低"),
        AlertKind("spo2_low", Severity.HIGH, "vitals", "Blood oxygen low", "血氧过低"),
        AlertKind("night_wandering", Severity.HIGH, "wandering", "Left home at night", "夜间外出未归"),
        AlertKind("smoke", Severity.CRITICAL, "environment", "Smoke alarm", "烟雾报警"),
        AlertKind("gas", Severity.CRITICAL, "environment", "Gas alarm", "燃气报警"),
        AlertKind("water_leak", Severity.HIGH, "environment", "Water leak", "漏水报警"),
        AlertKind("device_offline", Severity.MEDIUM, "device", "Device offline", "设备离线"),
        AlertKind("battery_low", Severity.LOW, "device", "Battery low", "电量低"),
        AlertKind("not_worn", Severity.MEDIUM, "device", "Bracelet not worn", "手环未佩戴"),
    )
}
