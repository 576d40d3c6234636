"""Who is told of an alert, and how its end reads in the all clear: the family side's policy, in words.

Pure: the care wiring (`anxin/care.py`) looks the alert up and sends the notices; what they say and
whom they go to is decided here.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from alerts.kinds import Severity
from alerts.lifecycle import Outcome

SEVERITY_ZH: Final[Mapping[str, str]] = {"critical": "危急", "high": "紧急", "medium": "一般", "low": "提示"}

# How an alert's end reads in the all clear, by outcome (resolved) or by who cancelled it.
OUTCOME_TEXTS: Final[Mapping[str, tuple[str, str]]] = {
    Outcome.FALSE_ALARM: ("经核实为误报，老人平安", "it was a false alarm and they are safe"),
    Outcome.NO_INJURY: ("老人平安，无受伤", "they are safe and unhurt"),
    Outcome.MINOR_INJURY: ("老人受轻伤，已处置", "they had a minor injury, which was treated"),
    Outcome.HOSPITAL: ("老人已送医", "they were taken to hospital"),
    Outcome.OTHER: ("已处理完毕", "it has been dealt with"),
    "cancelled:resident": ("老人按下了“我很好”键，确认平安", "they pressed the I'm OK key"),
    "cancelled:system": ("情况已自行解除", "the condition cleared by itself"),
    "cancelled:desk": ("调度中心核实后已取消", "the dispatch centre checked and cancelled it"),
}
_CANCELLED_BY: Final = {"resident": "cancelled:resident", "system": "cancelled:system"}


def family_told_at_once(severity: Severity) -> bool:
    """Say whether the family hears of a newly raised alert at once (urgent ones) rather than by escalation."""
    return severity >= Severity.HIGH


def how_it_ended(resolved: bool, outcome: str | None, cancelled_by: str) -> tuple[str, str]:
    """Say in both languages how an alert ended: its outcome when resolved, else who cancelled it (a role)."""
    key = str(outcome) if resolved else _CANCELLED_BY.get(cancelled_by, "cancelled:desk")
    return OUTCOME_TEXTS.get(key, OUTCOME_TEXTS[Outcome.OTHER])


def handled_by(staff: str | None) -> tuple[str, str]:
    """Name the staff member who was at the door, in both languages (empty when nobody went)."""
    if not staff:
        return "", ""
    return f"服务站{staff}已上门。", f"{staff} from the service station was with them. "
