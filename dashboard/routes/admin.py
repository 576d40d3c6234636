"""Administration (admin role only): residents with their contacts, user accounts, the audit log.

Every change goes through the package that owns the data (``dispatch.people``, ``notify.contacts``), is
audited with the resident it concerns, and deactivates rather than deletes. A refusal is a code with its
parameters (``unknown_category``, ``station_has_staff`` …), which the admin page translates.
Devices, stations and staff are in ``admin_places``.
"""

from __future__ import annotations

import secrets
from dataclasses import replace
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, status

from alerts.kinds import Severity
from dashboard.deps import Admin, Audit, Conn
from dashboard.errors import refusal
from dashboard.roles import RoleName
from dashboard.schemas.admin import (
    AccountAdmin,
    AccountCreate,
    AccountUpdate,
    AuditRow,
    Choices,
    ContactAdmin,
    ContactCreate,
    ContactFields,
    ContactMove,
    ContactUpdate,
    DistrictPublic,
    ResidentAdmin,
    ResidentCreate,
    ResidentFields,
    ResidentRow,
    ResidentUpdate,
)
from dashboard.security import hash_password
from dashboard.store import admin as store
from dashboard.store.users import create_user
from dispatch.people import (
    ResidentDetails,
    ResidentProfile,
    save_resident_details,
    save_resident_profile,
    set_resident_active,
)
from dispatch.places import Point, Role
from notify.channels import channel_problem
from notify.contacts import (
    Channel,
    ChannelKind,
    Contact,
    Relation,
    next_position,
    order_contacts,
    save_contact,
    set_contact_active,
    update_contact,
)

router = APIRouter(prefix="/api/admin", tags=["admin"])
UNPROCESSABLE = status.HTTP_422_UNPROCESSABLE_CONTENT


@router.get("/choices")
def choices(_: Admin, conn: Conn) -> Choices:
    """Return what the admin forms choose from."""
    return Choices(
        categories=store.categories(conn),
        stations=[{"id": s["id"], "name": s["name"], "active": s["active"]} for s in store.station_rows(conn)],
        districts=[DistrictPublic(**d) for d in store.districts(conn)],
        roles=[r.value for r in RoleName],
        relations=[r.value for r in Relation],
        channel_kinds=[k.value for k in ChannelKind],
        staff_roles=[r.value for r in Role],
    )


# Residents --------------------------------------------------------------------------------------------


def _check_resident(conn: Conn, body: ResidentFields) -> None:
    """Refuse what needs the database to judge: categories, station, crossed limits."""
    unknown = store.unknown_categories(conn, body.categories)
    if unknown:
        raise refusal(UNPROCESSABLE, "unknown_category", field="categories", category=unknown[0])
    if body.station_id and not store.station_exists(conn, body.station_id):
        raise refusal(UNPROCESSABLE, "unknown_station", field="station_id", station_id=body.station_id)
    low, high = body.heart_rate_low, body.heart_rate_high
    if low is not None and high is not None and low >= high:
        raise refusal(UNPROCESSABLE, "heart_rate_limits_crossed", field="heart_rate_low", low=low, high=high)


def _save_resident(conn: Conn, resident_id: str, body: ResidentFields) -> None:
    """Store every field through dispatch (profile, categories, details and personal limits)."""
    profile = ResidentProfile(
        resident_id,
        body.name,
        Point(body.lat, body.lon),
        body.area_type,
        body.address,
        tuple(dict.fromkeys(body.categories)),
        body.assessment_level,
        body.risk_class,
        body.medical_notes,
        body.key_holder,
    )
    save_resident_profile(conn, profile)
    details = ResidentDetails(
        body.phone,
        body.gender,
        body.street,
        body.community,
        body.station_id,
        body.heart_rate_low,
        body.heart_rate_high,
        body.spo2_low,
    )
    save_resident_details(conn, resident_id, details)
    store.set_learning_consent(conn, resident_id, body.learning_consent)


def _resident(conn: Conn, resident_id: str) -> ResidentAdmin:
    row = store.resident(conn, resident_id)
    if row is None:
        raise refusal(status.HTTP_404_NOT_FOUND, "no_such_resident")
    return ResidentAdmin(**row)


@router.get("/residents")
def list_residents(_: Admin, conn: Conn) -> list[ResidentRow]:
    """List every resident, the inactive too."""
    return [ResidentRow(**r) for r in store.resident_rows(conn)]


@router.get("/residents/{resident_id}", responses={404: {}})
def get_resident(resident_id: str, _: Admin, conn: Conn, log: Audit) -> ResidentAdmin:
    """Return a resident with every field, contacts, devices and linked family accounts."""
    found = _resident(conn, resident_id)
    log("read", "resident", resident_id, {"resident_id": resident_id, "admin": True})
    return found


@router.post("/residents", status_code=201, responses={409: {}, 422: {}})
def create_resident(body: ResidentCreate, _: Admin, conn: Conn, log: Audit) -> ResidentAdmin:
    """Register a resident."""
    resident_id = body.id or f"res-{secrets.token_hex(5)}"
    if store.exists(conn, "residents", resident_id):
        raise refusal(status.HTTP_409_CONFLICT, "resident_id_taken", field="id", id=resident_id)
    _check_resident(conn, body)
    _save_resident(conn, resident_id, body)
    log("create", "resident", resident_id, {"resident_id": resident_id, "fields": _filled(body)})
    return _resident(conn, resident_id)


@router.put("/residents/{resident_id}", responses={404: {}, 422: {}})
def update_resident(resident_id: str, body: ResidentUpdate, _: Admin, conn: Conn, log: Audit) -> ResidentAdmin:
    """Change a resident's profile (every field is sent)."""
    before = _resident(conn, resident_id)
    _check_resident(conn, body)
    _save_resident(conn, resident_id, body)
    after = _resident(conn, resident_id)
    changed = [k for k in ResidentFields.model_fields if getattr(before, k) != getattr(after, k)]
    log("update", "resident", resident_id, {"resident_id": resident_id, "fields": changed})
    return after


@router.post("/residents/{resident_id}/deactivate", responses={404: {}})
def deactivate_resident(resident_id: str, _: Admin, conn: Conn, log: Audit) -> ResidentAdmin:
    """Deactivate a resident: kept with their history, no longer on the lists."""
    return _set_resident_active(conn, log, resident_id, active=False)


@router.post("/residents/{resident_id}/activate", responses={404: {}})
def activate_resident(resident_id: str, _: Admin, conn: Conn, log: Audit) -> ResidentAdmin:
    """Bring a deactivated resident back."""
    return _set_resident_active(conn, log, resident_id, active=True)


def _set_resident_active(conn: Conn, log: Audit, resident_id: str, *, active: bool) -> ResidentAdmin:
    _resident(conn, resident_id)
    set_resident_active(conn, resident_id, active)
    log("activate" if active else "deactivate", "resident", resident_id, {"resident_id": resident_id})
    return _resident(conn, resident_id)


def _filled(body: Any) -> list[str]:
    """Name the fields a body sets (for the audit row; never their values, which may be health data)."""
    return sorted(k for k, v in body.model_dump().items() if v not in (None, [], ""))


# Contacts ---------------------------------------------------------------------------------------------


def _contact(body: ContactFields) -> Contact:
    """Check a contact body (quiet hours, each channel) and build the record notify stores."""
    if (body.quiet_start is None) != (body.quiet_end is None):
        raise refusal(UNPROCESSABLE, "quiet_hours_both", field="quiet_end")
    for n, channel in enumerate(body.channels, start=1):
        problem = channel_problem(channel.kind, channel.target)
        if problem:
            raise refusal(UNPROCESSABLE, problem, field="channels", n=n)
    return Contact(
        name=body.name,
        relation=body.relation,
        channels=tuple(Channel(c.kind, c.target) for c in body.channels),
        language=body.language,
        phone=body.phone,
        quiet_start=body.quiet_start,
        quiet_end=body.quiet_end,
        min_severity=Severity(body.min_severity),
        wants_updates=body.wants_updates,
    )


def _contact_of(conn: Conn, contact_id: int) -> str:
    """Return the resident a contact belongs to, or answer 404."""
    found = store.contact_of(conn, contact_id)
    if found is None:
        raise refusal(status.HTTP_404_NOT_FOUND, "no_such_contact")
    return found[0]


def _contact_admin(conn: Conn, resident_id: str, contact_id: int) -> ContactAdmin:
    return next(c for c in _resident(conn, resident_id).contacts if c.id == contact_id)


@router.post("/residents/{resident_id}/contacts", status_code=201, responses={404: {}, 422: {}})
def create_contact(resident_id: str, body: ContactCreate, _: Admin, conn: Conn, log: Audit) -> ContactAdmin:
    """Add a contact at the end of the resident's calling order."""
    _resident(conn, resident_id)
    contact = _contact(body)
    position = next_position(conn, resident_id)
    contact_id = save_contact(conn, resident_id, replace(contact, position=position))
    order_contacts(conn, resident_id, [c.id for c in _resident(conn, resident_id).contacts if c.active])
    log("create", "contact", contact_id, {"resident_id": resident_id, "channels": len(body.channels)})
    return _contact_admin(conn, resident_id, contact_id)


@router.put("/contacts/{contact_id}", responses={404: {}, 422: {}})
def edit_contact(contact_id: int, body: ContactUpdate, _: Admin, conn: Conn, log: Audit) -> ContactAdmin:
    """Change a contact's details, channels and quiet hours."""
    resident_id = _contact_of(conn, contact_id)
    update_contact(conn, contact_id, _contact(body))
    log("update", "contact", contact_id, {"resident_id": resident_id, "channels": len(body.channels)})
    return _contact_admin(conn, resident_id, contact_id)


@router.post("/contacts/{contact_id}/deactivate", responses={404: {}})
def deactivate_contact(contact_id: int, _: Admin, conn: Conn, log: Audit) -> ContactAdmin:
    """Take a contact out of the calling order (kept for the record)."""
    resident_id = _contact_of(conn, contact_id)
    set_contact_active(conn, contact_id, active=False)
    log("deactivate", "contact", contact_id, {"resident_id": resident_id})
    return _contact_admin(conn, resident_id, contact_id)


@router.put("/contacts/{contact_id}/position", responses={404: {}, 409: {}})
def move_contact(contact_id: int, body: ContactMove, _: Admin, conn: Conn, log: Audit) -> list[ContactAdmin]:
    """Move an active contact to another place in the calling order (1: told first); return the order."""
    resident_id = _contact_of(conn, contact_id)
    order = [c.id for c in _resident(conn, resident_id).contacts if c.active]
    if contact_id not in order:
        raise refusal(status.HTTP_409_CONFLICT, "contact_inactive")
    order.remove(contact_id)
    order.insert(min(body.position, len(order) + 1) - 1, contact_id)
    order_contacts(conn, resident_id, order)
    log("order", "contact", contact_id, {"resident_id": resident_id, "position": body.position})
    return [c for c in _resident(conn, resident_id).contacts if c.active]


# Accounts ---------------------------------------------------------------------------------------------


def _check_account(conn: Conn, body: AccountCreate | AccountUpdate) -> None:
    """Refuse links and bindings that do not fit the role or do not exist."""
    if body.role is RoleName.STAFF and not body.staff_id:
        raise refusal(UNPROCESSABLE, "staff_id_required", field="staff_id")
    if body.staff_id and not store.exists(conn, "staff", body.staff_id):
        raise refusal(UNPROCESSABLE, "unknown_staff", field="staff_id", staff_id=body.staff_id)
    if body.district_id is not None and not store.district_exists(conn, body.district_id):
        raise refusal(UNPROCESSABLE, "unknown_district", field="district_id")
    if body.links and body.role is not RoleName.FAMILY:
        raise refusal(UNPROCESSABLE, "links_only_for_family", field="links")
    for link in body.links:
        if not store.exists(conn, "residents", link.resident_id):
            raise refusal(UNPROCESSABLE, "unknown_resident", field="links", resident_id=link.resident_id)
        if link.contact_id is not None and (store.contact_of(conn, link.contact_id) or ("",))[0] != link.resident_id:
            raise refusal(UNPROCESSABLE, "unknown_contact", field="links", contact_id=link.contact_id)


def _account(conn: Conn, user_id: int) -> AccountAdmin:
    row = store.account(conn, user_id)
    if row is None:
        raise refusal(status.HTTP_404_NOT_FOUND, "no_such_user")
    return AccountAdmin(**row)


@router.get("/users")
def list_accounts(_: Admin, conn: Conn) -> list[AccountAdmin]:
    """List every account, the inactive too."""
    return [AccountAdmin(**r) for r in store.account_rows(conn)]


@router.post("/users", status_code=201, responses={409: {}, 422: {}})
def create_account(body: AccountCreate, _: Admin, conn: Conn, log: Audit) -> AccountAdmin:
    """Create an account with its role, links and first password."""
    _check_account(conn, body)
    if conn.execute("SELECT 1 FROM users WHERE username = %s", (body.username,)).fetchone():
        raise refusal(status.HTTP_409_CONFLICT, "username_taken", field="username")
    user_id = create_user(
        conn,
        body.username,
        body.display_name,
        hash_password(body.password),
        body.role,
        staff_id=body.staff_id,
        locale=body.locale,
    )
    store.set_links(conn, user_id, tuple((link.resident_id, link.contact_id) for link in body.links))
    store.set_district(conn, user_id, body.district_id)
    log("create", "user", user_id, {"role": body.role.value, "residents": [link.resident_id for link in body.links]})
    return _account(conn, user_id)


@router.put("/users/{user_id}", responses={404: {}, 422: {}})
def update_account(user_id: int, body: AccountUpdate, user: Admin, conn: Conn, log: Audit) -> AccountAdmin:
    """Change an account's name, role, links or district; reset its password (its sessions end)."""
    before = _account(conn, user_id)
    _check_account(conn, body)
    if user_id == user.id and body.role is not RoleName.ADMIN:
        raise refusal(status.HTTP_409_CONFLICT, "cannot_demote_self")
    change = store.AccountChange(
        body.display_name,
        body.role,
        body.staff_id,
        body.district_id,
        body.locale,
        tuple((link.resident_id, link.contact_id) for link in body.links),
        hash_password(body.password) if body.password else None,
    )
    store.update_account(conn, user_id, change)
    after = _account(conn, user_id)
    fields = ("display_name", "role", "staff_id", "district_id", "locale", "links")
    changed = [k for k in fields if getattr(before, k) != getattr(after, k)] + (["password"] if body.password else [])
    log("update", "user", user_id, {"fields": changed, "role": after.role})
    return after


@router.post("/users/{user_id}/deactivate", responses={404: {}, 409: {}})
def deactivate_account(user_id: int, user: Admin, conn: Conn, log: Audit) -> AccountAdmin:
    """Deactivate an account: it can no longer sign in; its sessions end."""
    _account(conn, user_id)
    if user_id == user.id:
        raise refusal(status.HTTP_409_CONFLICT, "cannot_deactivate_self")
    store.set_account_active(conn, user_id, active=False)
    log("deactivate", "user", user_id)
    return _account(conn, user_id)


@router.post("/users/{user_id}/activate", responses={404: {}})
def activate_account(user_id: int, _: Admin, conn: Conn, log: Audit) -> AccountAdmin:
    """Let a deactivated account sign in again."""
    _account(conn, user_id)
    store.set_account_active(conn, user_id, active=True)
    log("activate", "user", user_id)
    return _account(conn, user_id)


# The audit log ----------------------------------------------------------------------------------------


@router.get("/audit")
def audit_log(
    _: Admin,
    conn: Conn,
    username: str | None = None,
    action: str | None = None,
    object_type: str | None = None,
    resident_id: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> list[AuditRow]:
    """Return audit rows by who, what, when and which resident, newest first."""
    wanted = store.AuditFilter(
        username or None, action or None, object_type or None, resident_id or None, since, until, limit
    )
    return [AuditRow(**r) for r in store.audit_rows(conn, wanted)]
