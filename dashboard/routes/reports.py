"""The bureau's monthly report: JSON for the printable page, or the .xlsx workbook (supervisors, admins, the city).

A supervisor of a district gets their district's report whatever is asked; the city and admins any district's.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal
from urllib.parse import quote

from fastapi import APIRouter, HTTPException, Query, status
from fastapi.responses import Response

from dashboard import access
from dashboard.deps import Audit, Conn, FigureViewer, Settings
from dashboard.reports import monthly_workbook
from dashboard.store.reports import monthly_report

router = APIRouter(prefix="/api/reports", tags=["reports"])
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def parse_month(text: str) -> date:
    """Read ``YYYY-MM`` as the first day of that month."""
    try:
        year, month = (int(part) for part in text.split("-"))
        return date(year, month, 1)
    except ValueError:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, {"code": "month_invalid", "month": text}) from None


@router.get("/monthly", responses={200: {"content": {XLSX: {}}}, 422: {}})
def monthly(
    user: FigureViewer,
    conn: Conn,
    settings: Settings,
    log: Audit,
    month: Annotated[str, Query(pattern=r"^\d{4}-\d{2}$")],
    district: Annotated[str | None, Query(max_length=100)] = None,
    format: Literal["json", "xlsx"] = "json",
    lang: Literal["zh", "en"] = "zh",
) -> Any:
    """Return one month's report (of one district, if named or if the user has one), as JSON or as the workbook."""
    district = access.figures_district(user, district)
    report = monthly_report(conn, parse_month(month), settings.timezone, district)
    log("read", "report", month, {"district": district, "format": format})
    if format == "json":
        return report
    body = monthly_workbook(report, lang)
    name = f"anxin-{month}{'-' + district if district else ''}.xlsx"
    headers = {"Content-Disposition": f"attachment; filename*=UTF-8''{quote(name)}"}
    return Response(body, media_type=XLSX, headers=headers)
