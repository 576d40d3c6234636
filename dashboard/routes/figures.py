"""Supervisor figures: answer and arrival against the targets (failures counted), alerts per kind, devices."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Query

from dashboard.deps import Audit, Conn, FigureViewer, Settings
from dashboard.schemas.figures import Figures, KindDay, ResponseGroup
from dashboard.store import figures

router = APIRouter(prefix="/api/figures", tags=["figures"])


@router.get("")
def get_figures(
    _: FigureViewer, conn: Conn, settings: Settings, log: Audit, days: Annotated[int, Query(ge=1, le=366)] = 30
) -> Figures:
    """Compute the figures over the last ``days`` days."""
    until = datetime.now(UTC)
    since = until - timedelta(days=days)
    response = figures.response_figures(conn, since, until, settings.timezone)
    health = figures.device_health(conn, timedelta(seconds=settings.offline_after_s), settings.low_battery_pct)
    log("read", "figures", None, {"days": days})
    groups = {k: [ResponseGroup(**r) for r in rows] for k, rows in response.items() if k != "overall"}
    return Figures(
        since=since,
        until=until,
        answer_within_s=int(figures.ANSWER_WITHIN.total_seconds()),
        overall=ResponseGroup(**response["overall"]),
        **groups,
        per_kind_day=[KindDay(**r) for r in figures.alerts_per_day(conn, since, until, settings.timezone)],
        devices=health["devices"],
        devices_offline=health["offline"],
        devices_low_battery=health["low_battery"],
    )
