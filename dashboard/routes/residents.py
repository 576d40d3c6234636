"""Residents: the list, the profile panel, 24-hour vitals and activity by room. Every read is audited."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, status

from dashboard import access
from dashboard.deps import Audit, Conn, CurrentUser, ResidentId, Settings
from dashboard.roles import ROLES, RoleName
from dashboard.schemas.people import (
    ActivityPoint,
    ContactPublic,
    DevicePublic,
    ResidentDetail,
    ResidentPublic,
    Today,
    VitalsPoint,
)
from dashboard.store import devices, residents
from dashboard.store.alerts import AlertFilter, list_alerts
from ingest.queries import HOUR, resident_series

router = APIRouter(prefix="/api/residents", tags=["residents"])
VITALS_BUCKET = timedelta(minutes=10)  # the console's heart-rate and SpO2 chart
Hours = Annotated[int, Query(ge=1, le=168)]


def _reach(user: CurrentUser, conn: Conn) -> frozenset[str] | None:
    """Return the residents a user may list (None: all)."""
    if ROLES[user.role].all_residents:
        return None
    if user.role is RoleName.STAFF:
        rows = [a["resident_id"] for a in list_alerts(conn, AlertFilter(staff_id=user.staff_id, limit=500))]
        return frozenset(rows)
    return user.resident_ids  # family: their relatives; the city: nobody


@router.get("")
def list_residents(
    user: CurrentUser,
    conn: Conn,
    log: Audit,
    limit: Annotated[int, Query(ge=1, le=5000)] = 1000,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> list[ResidentPublic]:
    """List the residents the user may see (medical notes only in the detail)."""
    rows = residents.list_residents(conn, _reach(user, conn), limit, offset, access.district_of(user))
    log("list", "resident", None, {"count": len(rows)})
    return [ResidentPublic(**{**r, "medical_notes": None}) for r in rows]


@router.get("/{resident_id}", responses={404: {}})
def get_resident(resident_id: ResidentId, conn: Conn, log: Audit, settings: Settings) -> ResidentDetail:
    """Return a resident's profile, contacts, devices and day so far."""
    row = residents.resident(conn, resident_id)
    if row is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, {"code": "no_such_resident"})
    log("read", "resident", resident_id)
    offline = timedelta(seconds=settings.offline_after_s)
    return ResidentDetail(
        resident=ResidentPublic(**row),
        contacts=[ContactPublic(**c) for c in residents.contacts(conn, resident_id)],
        devices=[
            DevicePublic(**d)
            for d in devices.list_devices(conn, frozenset({resident_id}), offline, settings.low_battery_pct)
        ],
        today=Today(**residents.today(conn, resident_id, settings.timezone)),
    )


@router.get("/{resident_id}/vitals", responses={404: {}})
def get_vitals(resident_id: ResidentId, conn: Conn, log: Audit, hours: Hours = 24) -> list[VitalsPoint]:
    """Return heart rate and SpO2 over the last hours."""
    log("read", "vitals", resident_id, {"hours": hours})
    series = resident_series(conn, resident_id, *_last(hours), VITALS_BUCKET)
    return [
        VitalsPoint(bucket=b.bucket, heart_rate=b.hr_avg, spo2=b.spo2_avg, hr_min=b.hr_min, hr_max=b.hr_max)
        for b in series.vitals
    ]


@router.get("/{resident_id}/activity", responses={404: {}})
def get_activity(resident_id: ResidentId, conn: Conn, log: Audit, hours: Hours = 24) -> list[ActivityPoint]:
    """Return activity events per room and hour over the last hours."""
    log("read", "activity", resident_id, {"hours": hours})
    series = resident_series(conn, resident_id, *_last(hours), HOUR)
    return [ActivityPoint(bucket=b.bucket, room=b.room, events=b.events) for b in series.activity]


def _last(hours: int) -> tuple[datetime, datetime]:
    """Return the range of the last ``hours`` up to now."""
    now = datetime.now(UTC)
    return now - timedelta(hours=hours), now


__all__ = ["router"]
