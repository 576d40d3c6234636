"""Devices with their latest status and battery."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, status

from dashboard import access
from dashboard.deps import Audit, Conn, CurrentUser, Settings
from dashboard.roles import ROLES
from dashboard.schemas.people import DevicePublic
from dashboard.store import devices, districts

router = APIRouter(prefix="/api/devices", tags=["devices"])


@router.get("")
def list_devices(
    user: CurrentUser,
    conn: Conn,
    log: Audit,
    settings: Settings,
    *,
    resident_id: str | None = None,
    limit: Annotated[int, Query(ge=1, le=10000)] = 1000,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> list[DevicePublic]:
    """List devices the user may see, optionally of one resident."""
    if resident_id is not None:
        if not access.may_reach_resident(conn, user, resident_id):
            raise HTTPException(status.HTTP_404_NOT_FOUND, {"code": "no_such_resident"})
        only: frozenset[str] | None = frozenset({resident_id})
    elif ROLES[user.role].all_residents:
        only = None if access.district_of(user) is None else districts.residents(conn, user.district or "")
    else:
        only = user.resident_ids
    rows = devices.list_devices(
        conn, only, timedelta(seconds=settings.offline_after_s), settings.low_battery_pct, limit=limit, offset=offset
    )
    log("list", "device", resident_id, {"count": len(rows)})
    return [DevicePublic(**r) for r in rows]


@router.get("/{device_id}", responses={404: {}})
def get_device(device_id: str, user: CurrentUser, conn: Conn, log: Audit, settings: Settings) -> DevicePublic:
    """Return one device the user may see."""
    row = devices.device(conn, device_id, timedelta(seconds=settings.offline_after_s), settings.low_battery_pct)
    city_wide = ROLES[user.role].all_residents and access.district_of(user) is None
    if row is None or (row["resident_id"] is None and not city_wide):  # a device of nobody: the city's desk
        raise HTTPException(status.HTTP_404_NOT_FOUND, {"code": "no_such_device"})
    if row["resident_id"] is not None and not access.may_reach_resident(conn, user, row["resident_id"]):
        raise HTTPException(status.HTTP_404_NOT_FOUND, {"code": "no_such_device"})
    log("read", "device", device_id)
    return DevicePublic(**row)
