"""Service stations and staff: desk roles see all (of their district, if bound); staff see and update themselves."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request, status

from dashboard import access
from dashboard.actions import Actions, utc_now
from dashboard.deps import AllResidents, Audit, Conn, CurrentUser
from dashboard.schemas.people import StaffPublic, StaffUpdate, StationPublic
from dashboard.store import places
from dispatch.people import report_location, set_staff_status
from dispatch.places import Point, StaffStatus

router = APIRouter(prefix="/api", tags=["stations", "staff"])


@router.get("/stations")
def list_stations(user: AllResidents, conn: Conn) -> list[StationPublic]:
    """List service stations."""
    return [StationPublic(**s) for s in places.stations(conn, access.district_of(user))]


@router.get("/stations/{station_id}", responses={404: {}})
def get_station(station_id: str, user: AllResidents, conn: Conn) -> StationPublic:
    """Return one station."""
    row = places.station(conn, station_id)
    if row is None or not access.may_reach_station(conn, user, station_id):
        raise HTTPException(status.HTTP_404_NOT_FOUND, {"code": "no_such_station"})
    return StationPublic(**row)


@router.get("/staff")
def list_staff(user: AllResidents, conn: Conn) -> list[StaffPublic]:
    """List staff with status, shift and last position."""
    return [StaffPublic(**s) for s in places.staff(conn, district_id=access.district_of(user))]


def _own_or_desk(conn: Conn, user: CurrentUser, staff_id: str) -> None:
    """Let desk roles reach any staff member (of their district, if bound), a staff user only themselves."""
    if access.may_reach_staff(conn, user, staff_id):
        return
    raise HTTPException(status.HTTP_404_NOT_FOUND, {"code": "no_such_staff"})


@router.get("/staff/{staff_id}", responses={404: {}})
def get_staff(staff_id: str, user: CurrentUser, conn: Conn) -> StaffPublic:
    """Return one staff member."""
    _own_or_desk(conn, user, staff_id)
    rows = places.staff(conn, staff_id)
    if not rows:
        raise HTTPException(status.HTTP_404_NOT_FOUND, {"code": "no_such_staff"})
    return StaffPublic(**rows[0])


@router.patch("/staff/{staff_id}", responses={404: {}})
def update_staff(
    staff_id: str, body: StaffUpdate, user: CurrentUser, conn: Conn, log: Audit, request: Request
) -> StaffPublic:
    """Report a staff member's status or position (staff: only their own)."""
    _own_or_desk(conn, user, staff_id)
    if not places.staff(conn, staff_id):
        raise HTTPException(status.HTTP_404_NOT_FOUND, {"code": "no_such_staff"})
    if body.status is not None:
        set_staff_status(conn, staff_id, StaffStatus(body.status))
    if body.lat is not None and body.lon is not None:
        acts: Actions = request.app.state.actions
        if acts.dispatch is not None:  # stored and shown live on every console
            conn.commit()
            acts.dispatch.report_position(staff_id, Point(body.lat, body.lon), utc_now())
        else:
            report_location(conn, staff_id, Point(body.lat, body.lon), utc_now())
    log("update", "staff", staff_id, body.model_dump(exclude_none=True))
    return StaffPublic(**places.staff(conn, staff_id)[0])
