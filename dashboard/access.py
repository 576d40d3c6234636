"""Who may reach which object: the object-level rules behind `dashboard.deps`, as queries.

A desk user of a district-bound role (operator, supervisor) with a district reaches only that district's
residents, alerts, tasks, visits, stations and staff (`district_of`); admins, and desk users without a
district, reach the whole city.
"""

from __future__ import annotations

from typing import Any

import psycopg

from dashboard.roles import ROLES, RoleName
from dashboard.store import districts
from dashboard.store.users import User

# Residents a staff member reaches: those of their own dispatches.
_STAFF_RESIDENT = (
    "SELECT 1 FROM dispatches d JOIN dispatch_assignments a ON a.dispatch_id = d.id"
    " WHERE a.staff_id = %s AND d.resident_id = %s LIMIT 1"
)
_STAFF_ALERT = (
    "SELECT 1 FROM dispatches d JOIN dispatch_assignments a ON a.dispatch_id = d.id"
    " WHERE a.staff_id = %s AND d.alert_id = %s LIMIT 1"
)


def district_of(user: User) -> int | None:
    """Return the district the user's reach is narrowed to; None for the whole city."""
    return user.district_id if ROLES[user.role].district_bound else None


def figures_district(user: User, asked: str | None) -> str | None:
    """Return the district whose figures the user sees: their own if bound to one, else the one asked."""
    return user.district if district_of(user) is not None else asked


def _in_district(conn: psycopg.Connection[Any], user: User, resident_id: str) -> bool:
    """Tell whether a resident lies within the user's district (always, for a city-wide user)."""
    district = district_of(user)
    return district is None or districts.resident_in(conn, resident_id, district)


def may_reach_station(conn: psycopg.Connection[Any], user: User, station_id: str) -> bool:
    """Tell whether a desk user may see this station (one of their district's, if bound)."""
    district = district_of(user)
    return ROLES[user.role].all_residents and (district is None or districts.station_in(conn, station_id, district))


def may_reach_staff(conn: psycopg.Connection[Any], user: User, staff_id: str) -> bool:
    """Tell whether the user may see this staff member: themselves, or (desk) one of their district's."""
    if user.role is RoleName.STAFF:
        return user.staff_id == staff_id
    district = district_of(user)
    return ROLES[user.role].all_residents and (district is None or districts.staff_in(conn, staff_id, district))


def may_reach_resident(conn: psycopg.Connection[Any], user: User, resident_id: str) -> bool:
    """Tell whether the user may see this resident."""
    if ROLES[user.role].all_residents:
        return _in_district(conn, user, resident_id)
    if user.role is RoleName.FAMILY:
        return resident_id in user.resident_ids
    if user.role is RoleName.STAFF and user.staff_id:
        return conn.execute(_STAFF_RESIDENT, (user.staff_id, resident_id)).fetchone() is not None
    return False


def alert_resident(conn: psycopg.Connection[Any], alert_id: int | str) -> str | None:
    """Return the resident an alert is about."""
    if not str(alert_id).isdigit() or int(alert_id) >= 2**63:
        return None
    row = conn.execute("SELECT resident_id FROM alerts WHERE id = %s", (int(alert_id),)).fetchone()
    return str(row[0]) if row else None


def may_reach_alert(conn: psycopg.Connection[Any], user: User, alert_id: int | str) -> bool:
    """Tell whether the user may see this alert."""
    resident_id = alert_resident(conn, alert_id)
    if resident_id is None:
        return False
    if ROLES[user.role].all_residents:
        return _in_district(conn, user, resident_id)
    if user.role is RoleName.FAMILY:
        return resident_id in user.resident_ids
    if user.role is RoleName.STAFF and user.staff_id:
        return conn.execute(_STAFF_ALERT, (user.staff_id, str(alert_id))).fetchone() is not None
    return False


def may_reach_dispatch(conn: psycopg.Connection[Any], user: User, dispatch_id: int) -> bool:
    """Tell whether the user may see or act on this dispatch (staff: only one they were assigned)."""
    row = conn.execute("SELECT resident_id FROM dispatches WHERE id = %s", (dispatch_id,)).fetchone()
    if row is None:
        return False
    if ROLES[user.role].all_residents:
        return _in_district(conn, user, str(row[0]))
    if user.role is RoleName.FAMILY:
        return str(row[0]) in user.resident_ids
    if user.role is RoleName.STAFF and user.staff_id:
        found = conn.execute(
            "SELECT 1 FROM dispatch_assignments WHERE dispatch_id = %s AND staff_id = %s LIMIT 1",
            (dispatch_id, user.staff_id),
        ).fetchone()
        return found is not None
    return False
