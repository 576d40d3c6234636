"""Supervisor figures: answer and arrival against the targets (failures counted), alerts per kind, devices.

A supervisor of a district sees their district's figures whatever is asked; the city and admins see the
whole city, or one district when they name it.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Query

from dashboard import access
from dashboard.deps import Audit, Conn, FigureViewer, Settings
from dashboard.schemas.figures import Figures, KindDay, ResponseGroup
from dashboard.store import figures

router = APIRouter(prefix="/api/figures", tags=["figures"])


@router.get("")
def get_figures(
    user: FigureViewer,
    conn: Conn,
    settings: Settings,
    log: Audit,
    days: Annotated[int, Query(ge=1, le=366)] = 30,
    district: Annotated[str | None, Query(max_length=100)] = None,
) -> Figures:
    """Compute the figures over the last ``days`` days (of one district, if named or if the user has one)."""
    until = datetime.now(UTC)
    since = until - timedelta(days=days)
    district = access.figures_district(user, district)
    response = figures.response_figures(conn, since, until, settings.timezone, district)
    offline = timedelta(seconds=settings.offline_after_s)
    health = figures.device_health(conn, offline, settings.low_battery_pct, district)
    log("read", "figures", None, {"days": days, "district": district})
    groups = {k: [ResponseGroup(**r) for r in rows] for k, rows in response.items() if k != "overall"}
    return Figures(
        since=since,
        until=until,
        district=district,
        answer_within_s=int(figures.ANSWER_WITHIN.total_seconds()),
        overall=ResponseGroup(**response["overall"]),
        **groups,
        per_kind_day=[KindDay(**r) for r in figures.alerts_per_day(conn, since, until, settings.timezone, district)],
        devices=health["devices"],
        devices_offline=health["offline"],
        devices_low_battery=health["low_battery"],
    )
