"""The monthly report as a workbook for the bureau (openpyxl): the numbers of `dashboard.store.reports`, labelled.

One sheet per table: the overview, response per district and per station (answer within 60 s and arrival
within the promise, failures counted: never answered, never dispatched, never arrived), alerts by kind and
outcome, welfare visits, device outages, residents by risk class and by category. Labels exist in Chinese
(the bureau's) and English; a share is a percentage cell, a time is minutes with one decimal.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from io import BytesIO
from typing import Any, Final

from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from alerts.kinds import ALERT_KINDS
from dispatch.places import CATEGORIES

LABELS: Final[Mapping[str, Mapping[str, str]]] = {
    "zh": {
        "overview": "概览",
        "by_district": "各区响应",
        "by_station": "各服务站响应",
        "kinds": "告警类型与结果",
        "visits": "探访",
        "outages_sheet": "设备离线",
        "risk": "老人风险等级",
        "categories": "老人类别",
        "month": "月份",
        "district": "区",
        "station": "服务站",
        "all": "全部",
        "alerts": "告警数",
        "answer_needed": "需应答",
        "answered_in_time": "60秒内应答",
        "answer_share": "60秒应答率",
        "never_answered": "始终无人应答",
        "answer_median_min": "应答中位数(分钟)",
        "answer_p90_min": "应答P90(分钟)",
        "arrival_needed": "需上门",
        "arrived_in_time": "承诺时限内到场",
        "arrival_share": "按时到场率",
        "arrived_late": "超时到场",
        "never_arrived": "派遣未到场",
        "never_dispatched": "未派遣",
        "arrival_median_min": "到场中位数(分钟)",
        "arrival_p90_min": "到场P90(分钟)",
        "promise_min": "承诺(分钟)",
        "kind": "告警类型",
        "outcome": "结果",
        "due": "应探访",
        "done": "已探访",
        "overdue": "逾期未探访",
        "trend": "因趋势新增",
        "outages": "离线次数",
        "devices": "涉及设备",
        "hours": "离线时长(小时)",
        "risk_class": "风险等级",
        "category": "类别",
        "residents": "老人数",
        "not_reached": "未达到",
    },
    "en": {
        "overview": "Overview",
        "by_district": "By district",
        "by_station": "By station",
        "kinds": "Alerts by kind",
        "visits": "Visits",
        "outages_sheet": "Device outages",
        "risk": "Residents by risk",
        "categories": "By category",
        "month": "Month",
        "district": "District",
        "station": "Station",
        "all": "All",
        "alerts": "Alerts",
        "answer_needed": "Needed an answer",
        "answered_in_time": "Answered within 60 s",
        "answer_share": "Answered within 60 s (share)",
        "never_answered": "Never answered",
        "answer_median_min": "Answer median (min)",
        "answer_p90_min": "Answer p90 (min)",
        "arrival_needed": "Needed a visit",
        "arrived_in_time": "On site within the promise",
        "arrival_share": "On site in time (share)",
        "arrived_late": "On site late",
        "never_arrived": "Sent, never arrived",
        "never_dispatched": "Never sent",
        "arrival_median_min": "Arrival median (min)",
        "arrival_p90_min": "Arrival p90 (min)",
        "promise_min": "Promise (min)",
        "kind": "Kind",
        "outcome": "Outcome",
        "due": "Due",
        "done": "Done",
        "overdue": "Overdue",
        "trend": "Added by trend",
        "outages": "Outages",
        "devices": "Devices",
        "hours": "Hours offline",
        "risk_class": "Risk class",
        "category": "Category",
        "residents": "Residents",
        "not_reached": "not reached",
    },
}
OUTCOMES: Final = {
    "zh": {"false_alarm": "误报", "no_injury": "无伤", "minor_injury": "轻伤", "hospital": "送医", "other": "其他",
           "cancelled": "已取消", "raised": "未处理", "acknowledged": "已确认", "dispatched": "已派遣",
           "en_route": "在途", "on_site": "已到场"},
    "en": {"false_alarm": "false alarm", "no_injury": "no injury", "minor_injury": "minor injury",
           "hospital": "hospital", "other": "other", "cancelled": "cancelled", "raised": "open, unanswered",
           "acknowledged": "acknowledged", "dispatched": "dispatched", "en_route": "en route", "on_site": "on site"},
}  # fmt: skip
_RESPONSE: Final = (
    "alerts", "answer_needed", "answered_in_time", "answer_share", "never_answered", "answer_median_min",
    "answer_p90_min", "arrival_needed", "arrived_in_time", "arrival_share", "arrived_late", "never_arrived",
    "never_dispatched", "arrival_median_min", "arrival_p90_min",
)  # fmt: skip


def _minutes(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds / 60, 1)


def _response_row(group: Mapping[str, Any]) -> list[Any]:
    """One group's response figures in report order (times in minutes, shares as fractions)."""
    values = {
        **group,
        "answer_median_min": _minutes(group.get("answer_median_s")),
        "answer_p90_min": _minutes(group.get("answer_p90_s")),
        "arrival_median_min": _minutes(group.get("arrival_median_s")),
        "arrival_p90_min": _minutes(group.get("arrival_p90_s")),
    }
    return [values.get(k) for k in _RESPONSE]


def _sheet(book: Workbook, title: str, headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> Worksheet:
    sheet: Worksheet = book.create_sheet(title)
    sheet.append(list(headers))
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for row in rows:
        sheet.append(list(row))
    for index, header in enumerate(headers, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = max(10, min(40, 1.6 * len(header) + 4))
        if header.endswith(("率", "(share)")):
            for (cell,) in sheet.iter_rows(min_row=2, min_col=index, max_col=index):
                cell.number_format = "0.0%"
    sheet.freeze_panes = "A2"
    return sheet


def monthly_workbook(report: Mapping[str, Any], language: str = "zh") -> bytes:
    """Render the monthly report as .xlsx bytes in ``language`` (zh or en)."""
    lab = LABELS.get(language, LABELS["zh"])
    outcome = OUTCOMES.get(language, OUTCOMES["zh"])
    zh = language != "en"

    def kind(code: str) -> str:
        k = ALERT_KINDS.get(code)
        return (k.title_zh if zh else k.title_en) if k else code

    def category(code: str) -> str:
        c = CATEGORIES.get(code)
        return (c.name_zh if zh else c.name_en) if c else code

    book = Workbook()
    assert book.active is not None
    book.remove(book.active)
    response = report["response"]
    head = [lab[k] for k in _RESPONSE]
    _sheet(
        book,
        lab["overview"],
        [lab["month"], lab["district"], *head],
        [[report["month"], report["district"] or lab["all"], *_response_row(response["overall"])]],
    )
    _sheet(
        book,
        lab["by_district"],
        [lab["district"], *head],
        [[g["key"], *_response_row(g)] for g in response["per_district"]],
    )
    _sheet(
        book,
        lab["by_station"],
        [lab["station"], lab["promise_min"], *head],
        [
            [g["name"] or g["key"], ",".join(map(str, g["promise_minutes"])), *_response_row(g)]
            for g in response["per_station"]
        ],
    )
    _sheet(
        book,
        lab["kinds"],
        [lab["district"], lab["station"], lab["kind"], lab["outcome"], lab["alerts"]],
        [
            [r["district"], r["station"], kind(r["kind"]), outcome.get(r["outcome"], r["outcome"]), r["alerts"]]
            for r in report["alerts_by_kind"]
        ],
    )
    _sheet(
        book,
        lab["visits"],
        [lab["district"], lab["station"], lab["due"], lab["done"], lab["overdue"], lab["trend"]],
        [[r["district"], r["station"], r["due"], r["done"], r["overdue"], r["trend"]] for r in report["visits"]],
    )
    _sheet(
        book,
        lab["outages_sheet"],
        [lab["district"], lab["station"], lab["outages"], lab["devices"], lab["hours"]],
        [
            [r["district"], r["station"], r["outages"], r["devices"], round(r["hours"], 1)]
            for r in report["device_outages"]
        ],
    )
    _sheet(
        book,
        lab["risk"],
        [lab["district"], lab["station"], lab["risk_class"], lab["residents"]],
        [[r["district"], r["station"], r["risk_class"], r["residents"]] for r in report["residents_by_risk"]],
    )
    _sheet(
        book,
        lab["categories"],
        [lab["district"], lab["station"], lab["category"], lab["residents"]],
        [
            [r["district"], r["station"], category(r["category"]), r["residents"]]
            for r in report["residents_by_category"]
        ],
    )
    out = BytesIO()
    book.save(out)
    return out.getvalue()
