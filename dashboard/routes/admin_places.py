"""Administration (admin role only) of devices, stations and staff with their weekly shifts.

A device that signs in to the broker itself gets a secret when it is registered and whenever it is
rotated: the secret is shown once, only its hash is kept (``device_credentials``), and the broker is
told to reload its password and ACL files at once (``Actions.reload_broker``; the local Mosquitto
re-reads them on SIGHUP). A deactivated device loses its credentials. Every change is audited.
"""

from __future__ import annotations

from itertools import pairwise

from fastapi import APIRouter, Request, status

from dashboard.actions import Actions
from dashboard.deps import Admin, Audit, Conn, Settings
from dashboard.errors import refusal
from dashboard.schemas.admin import (
    DeviceAdmin,
    DeviceCreate,
    DeviceIssued,
    DeviceUpdate,
    ShiftIn,
    StaffAdmin,
    StaffCreate,
    StaffFields,
    StaffUpdate,
    StationAdmin,
    StationCreate,
    StationFields,
    StationUpdate,
    WeekUpdate,
)
from dashboard.store import admin as store
from dispatch.people import (
    active_staff_at,
    add_staff,
    add_station,
    set_shift_pattern,
    set_staff_active,
    set_station_active,
    set_station_district,
)
from dispatch.places import Point, StaffStatus, Station
from dispatch.roster import WeeklyShift
from gateway.provisioning import issue
from gateway.registry import Device, DeviceKind
from ingest.credentials import revoke_credential, store_credential_hash
from ingest.devices import set_device_active, upsert_devices

router = APIRouter(prefix="/api/admin", tags=["admin"])
UNPROCESSABLE = status.HTTP_422_UNPROCESSABLE_CONTENT


def _actions(request: Request) -> Actions:
    acts: Actions = request.app.state.actions
    return acts


# Devices ----------------------------------------------------------------------------------------------


def _device(conn: Conn, device_id: str) -> DeviceAdmin:
    row = store.device(conn, device_id)
    if row is None:
        raise refusal(status.HTTP_404_NOT_FOUND, "no_such_device")
    return DeviceAdmin(**row)


def _check_resident(conn: Conn, resident_id: str | None) -> None:
    if resident_id is not None and not store.exists(conn, "residents", resident_id):
        raise refusal(UNPROCESSABLE, "unknown_resident", field="resident_id", resident_id=resident_id)


def _issue(conn: Conn, request: Request, device_id: str) -> DeviceIssued:
    """Make a device's new secret, keep its hash, reload the broker; answer with the secret (shown once)."""
    account, password_hash = issue(device_id)
    store_credential_hash(conn, device_id, password_hash)
    return DeviceIssued(
        device=_device(conn, device_id),
        username=account.username,
        secret=account.password,
        broker_reloaded=_reload(conn, request),
    )


def _reload(conn: Conn, request: Request) -> bool:
    """Commit, then have the broker re-read every device's credentials and ACL; tell whether it could."""
    reload = _actions(request).reload_broker
    conn.commit()  # the broker's files are made from the committed credentials
    if reload is None:
        return False
    reload()
    return True


@router.get("/devices")
def list_devices(_: Admin, conn: Conn) -> list[DeviceAdmin]:
    """List every device, the inactive too."""
    return [DeviceAdmin(**r) for r in store.device_rows(conn)]


@router.post("/devices", status_code=201, responses={409: {}, 422: {}})
def register_device(body: DeviceCreate, _: Admin, conn: Conn, log: Audit, request: Request) -> DeviceIssued:
    """Register a device; one that signs in itself gets its secret now (shown once)."""
    if store.exists(conn, "devices", body.id):
        raise refusal(status.HTTP_409_CONFLICT, "device_id_taken", field="id", id=body.id)
    _check_resident(conn, body.resident_id)
    if body.kind is DeviceKind.SENSOR and (body.parent_id is None or body.sensor_kind is None):
        raise refusal(UNPROCESSABLE, "sensor_needs_hub", field="parent_id" if body.parent_id is None else "sensor_kind")
    if body.parent_id is not None:
        parent = store.device(conn, body.parent_id)
        if parent is None or parent["kind"] != DeviceKind.HUB.value or body.kind is not DeviceKind.SENSOR:
            raise refusal(UNPROCESSABLE, "unknown_hub", field="parent_id", parent_id=body.parent_id)
    device = Device(body.id, body.kind, body.resident_id, body.sensor_kind, body.room, body.parent_id, body.model)
    upsert_devices(conn, [device])
    log("create", "device", body.id, {"resident_id": body.resident_id, "kind": body.kind.value, "model": body.model})
    if body.parent_id is not None:  # relayed by its hub: no account of its own
        return DeviceIssued(device=_device(conn, body.id), username=None, secret=None, broker_reloaded=False)
    return _issue(conn, request, body.id)


@router.put("/devices/{device_id}", responses={404: {}, 422: {}})
def bind_device(device_id: str, body: DeviceUpdate, _: Admin, conn: Conn, log: Audit) -> DeviceAdmin:
    """Bind a device to a resident (or unbind it), or move it to another room."""
    before = _device(conn, device_id)
    _check_resident(conn, body.resident_id)
    model = body.model or before.model  # an empty field keeps the recorded model
    device = Device(
        device_id, DeviceKind(before.kind), body.resident_id, before.sensor_kind, body.room, before.parent_id, model
    )
    upsert_devices(conn, [device])
    log("bind", "device", device_id, {"resident_id": body.resident_id, "before": before.resident_id})
    return _device(conn, device_id)


@router.post("/devices/{device_id}/rotate", responses={404: {}, 409: {}})
def rotate_device(device_id: str, _: Admin, conn: Conn, log: Audit, request: Request) -> DeviceIssued:
    """Give a device a new secret; the old one stops working when the broker reloads (at once, locally)."""
    found = _device(conn, device_id)
    if not found.active:
        raise refusal(status.HTTP_409_CONFLICT, "device_inactive")
    if found.parent_id is not None:
        raise refusal(status.HTTP_409_CONFLICT, "device_has_no_account")
    log("rotate", "device", device_id, {"resident_id": found.resident_id})
    return _issue(conn, request, device_id)


@router.post("/devices/{device_id}/deactivate", responses={404: {}})
def deactivate_device(device_id: str, _: Admin, conn: Conn, log: Audit, request: Request) -> DeviceIssued:
    """Deactivate a device: its credentials are revoked and the broker refuses it from now on."""
    found = _device(conn, device_id)
    set_device_active(conn, device_id, active=False)
    revoke_credential(conn, device_id)
    log("deactivate", "device", device_id, {"resident_id": found.resident_id})
    reloaded = _reload(conn, request)
    return DeviceIssued(device=_device(conn, device_id), username=None, secret=None, broker_reloaded=reloaded)


@router.post("/devices/{device_id}/activate", responses={404: {}})
def activate_device(device_id: str, _: Admin, conn: Conn, log: Audit, request: Request) -> DeviceIssued:
    """Bring a device back with a new secret (the old one was revoked)."""
    found = _device(conn, device_id)
    set_device_active(conn, device_id, active=True)
    log("activate", "device", device_id, {"resident_id": found.resident_id})
    if found.parent_id is not None:
        return DeviceIssued(device=_device(conn, device_id), username=None, secret=None, broker_reloaded=False)
    return _issue(conn, request, device_id)


# Stations ---------------------------------------------------------------------------------------------


def _station(conn: Conn, station_id: str) -> StationAdmin:
    row = store.station(conn, station_id)
    if row is None:
        raise refusal(status.HTTP_404_NOT_FOUND, "no_such_station")
    return StationAdmin(**row)


def _save_station(conn: Conn, station_id: str, body: StationFields) -> None:
    if body.district_id is not None and not store.district_exists(conn, body.district_id):
        raise refusal(UNPROCESSABLE, "unknown_district", field="district_id")
    add_station(conn, Station(station_id, body.name, Point(body.lat, body.lon), body.area_type), body.address)
    set_station_district(conn, station_id, body.district_id)


@router.get("/stations")
def list_stations(_: Admin, conn: Conn) -> list[StationAdmin]:
    """List every station, the inactive too."""
    return [StationAdmin(**r) for r in store.station_rows(conn)]


@router.post("/stations", status_code=201, responses={409: {}, 422: {}})
def create_station(body: StationCreate, _: Admin, conn: Conn, log: Audit) -> StationAdmin:
    """Open a service station."""
    if store.exists(conn, "stations", body.id):
        raise refusal(status.HTTP_409_CONFLICT, "station_id_taken", field="id", id=body.id)
    _save_station(conn, body.id, body)
    log("create", "station", body.id, {"name": body.name, "district_id": body.district_id})
    return _station(conn, body.id)


@router.put("/stations/{station_id}", responses={404: {}, 422: {}})
def update_station(station_id: str, body: StationUpdate, _: Admin, conn: Conn, log: Audit) -> StationAdmin:
    """Change a station."""
    _station(conn, station_id)
    _save_station(conn, station_id, body)
    log("update", "station", station_id, {"name": body.name, "district_id": body.district_id})
    return _station(conn, station_id)


@router.post("/stations/{station_id}/deactivate", responses={404: {}, 409: {}})
def deactivate_station(station_id: str, _: Admin, conn: Conn, log: Audit) -> StationAdmin:
    """Close a station; its staff must be moved or deactivated first."""
    _station(conn, station_id)
    working = active_staff_at(conn, station_id)
    if working:
        raise refusal(status.HTTP_409_CONFLICT, "station_has_staff", count=working)
    set_station_active(conn, station_id, active=False)
    log("deactivate", "station", station_id)
    return _station(conn, station_id)


@router.post("/stations/{station_id}/activate", responses={404: {}})
def activate_station(station_id: str, _: Admin, conn: Conn, log: Audit) -> StationAdmin:
    """Reopen a station."""
    _station(conn, station_id)
    set_station_active(conn, station_id, active=True)
    log("activate", "station", station_id)
    return _station(conn, station_id)


# Staff and their weeks --------------------------------------------------------------------------------


def _staff(conn: Conn, staff_id: str) -> StaffAdmin:
    row = store.staff(conn, staff_id)
    if row is None:
        raise refusal(status.HTTP_404_NOT_FOUND, "no_such_staff")
    return StaffAdmin(**row)


def _save_staff(conn: Conn, staff_id: str, body: StaffFields) -> None:
    if not store.station_exists(conn, body.station_id):
        raise refusal(UNPROCESSABLE, "unknown_station", field="station_id", station_id=body.station_id)
    row = store.staff(conn, staff_id)
    current = row["status"] if row else "available"
    add_staff(
        conn,
        staff_id,
        body.name,
        body.role,
        body.station_id,
        phone=body.phone,
        notify_url=body.notify_url,
        status=StaffStatus(current),
    )


def _save_week(conn: Conn, request: Request, settings: Settings, staff_id: str, week: list[ShiftIn]) -> int:
    """Replace a staff member's week; refuse a weekday that has two overlapping periods."""
    ordered = sorted(week, key=lambda s: (s.weekday, s.starts))
    for a, b in pairwise(ordered):
        if a.weekday == b.weekday and (a.ends <= a.starts or a.ends > b.starts):
            raise refusal(UNPROCESSABLE, "shifts_overlap", field="week", weekday=a.weekday)
    if any(s.starts == s.ends for s in week):
        raise refusal(UNPROCESSABLE, "shift_empty", field="week")
    pattern = [WeeklyShift(s.weekday, s.starts, s.ends) for s in ordered]
    return set_shift_pattern(conn, staff_id, pattern, _actions(request).clock(), settings.timezone)


@router.get("/staff")
def list_staff(_: Admin, conn: Conn) -> list[StaffAdmin]:
    """List every staff member with their week, the inactive too."""
    return [StaffAdmin(**r) for r in store.staff_rows(conn)]


@router.post("/staff", status_code=201, responses={409: {}, 422: {}})
def create_staff(
    body: StaffCreate, _: Admin, conn: Conn, log: Audit, request: Request, settings: Settings
) -> StaffAdmin:
    """Register a staff member at a station with their weekly shifts."""
    if store.exists(conn, "staff", body.id):
        raise refusal(status.HTTP_409_CONFLICT, "staff_id_taken", field="id", id=body.id)
    _save_staff(conn, body.id, body)
    made = _save_week(conn, request, settings, body.id, body.week)
    log("create", "staff", body.id, {"station_id": body.station_id, "week": len(body.week), "shifts_made": made})
    return _staff(conn, body.id)


@router.put("/staff/{staff_id}", responses={404: {}, 422: {}})
def update_staff(staff_id: str, body: StaffUpdate, _: Admin, conn: Conn, log: Audit) -> StaffAdmin:
    """Change a staff member (their week has its own route)."""
    _staff(conn, staff_id)
    _save_staff(conn, staff_id, body)
    log("update", "staff", staff_id, {"station_id": body.station_id})
    return _staff(conn, staff_id)


@router.put("/staff/{staff_id}/week", responses={404: {}, 422: {}})
def set_week(
    staff_id: str, body: WeekUpdate, _: Admin, conn: Conn, log: Audit, request: Request, settings: Settings
) -> StaffAdmin:
    """Replace a staff member's weekly shifts and the coming shifts made from them."""
    _staff(conn, staff_id)
    made = _save_week(conn, request, settings, staff_id, body.week)
    log("update", "shifts", staff_id, {"week": len(body.week), "shifts_made": made})
    return _staff(conn, staff_id)


@router.post("/staff/{staff_id}/deactivate", responses={404: {}})
def deactivate_staff(staff_id: str, _: Admin, conn: Conn, log: Audit, request: Request) -> StaffAdmin:
    """Deactivate a staff member: off shift, no coming shifts, never offered a task."""
    _staff(conn, staff_id)
    set_staff_active(conn, staff_id, False, _actions(request).clock())
    log("deactivate", "staff", staff_id)
    return _staff(conn, staff_id)


@router.post("/staff/{staff_id}/activate", responses={404: {}})
def activate_staff(staff_id: str, _: Admin, conn: Conn, log: Audit, request: Request) -> StaffAdmin:
    """Bring a staff member back (their week makes shifts again at the next planning)."""
    _staff(conn, staff_id)
    set_staff_active(conn, staff_id, True, _actions(request).clock())
    log("activate", "staff", staff_id)
    return _staff(conn, staff_id)
