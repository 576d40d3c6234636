"""Read and write stations, staff, shifts and resident profiles (the thin database layer of dispatch).

Every function takes an open connection and leaves the transaction to the caller, so a caller can
register a station, its staff and their shifts in one commit.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import psycopg

from dispatch.errors import NotFoundError
from dispatch.places import AreaType, Point, ResidentPlace, RiskClass, Role, StaffMember, StaffStatus, Station
from dispatch.roster import WeeklyShift
from dispatch.roster_store import make_shifts

Conn = psycopg.Connection[Any]


@dataclass(frozen=True, slots=True)
class ResidentProfile:
    """What the care team knows about a resident beyond their devices."""

    resident_id: str
    name: str
    location: Point
    area_type: AreaType = AreaType.CITY
    address: str | None = None
    categories: tuple[str, ...] = ()  # codes of dispatch.places.CATEGORIES
    assessment_level: int | None = None  # 老年人能力评估 0 (intact) … 4 (total loss)
    risk_class: RiskClass = RiskClass.C
    medical_notes: str | None = None
    key_holder: str | None = None
    timezone: str = "Asia/Shanghai"


def add_station(conn: Conn, station: Station, address: str | None = None) -> None:
    """Register a service station, or update it."""
    conn.execute(
        "INSERT INTO stations (id, name, address, lat, lon, area_type) VALUES (%s, %s, %s, %s, %s, %s)"
        " ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, address = EXCLUDED.address,"
        " lat = EXCLUDED.lat, lon = EXCLUDED.lon, area_type = EXCLUDED.area_type",
        (station.id, station.name, address, station.location.lat, station.location.lon, station.area_type.value),
    )


def add_staff(
    conn: Conn,
    staff_id: str,
    name: str,
    role: Role,
    station_id: str,
    *,
    phone: str | None = None,
    notify_url: str | None = None,
    status: StaffStatus = StaffStatus.AVAILABLE,
) -> None:
    """Register a staff member at a station, or update them."""
    conn.execute(
        "INSERT INTO staff (id, name, role, station_id, phone, notify_url, status) VALUES (%s, %s, %s, %s, %s, %s, %s)"
        " ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, role = EXCLUDED.role,"
        " station_id = EXCLUDED.station_id, phone = EXCLUDED.phone, notify_url = EXCLUDED.notify_url,"
        " status = EXCLUDED.status",
        (staff_id, name, role.value, station_id, phone, notify_url, status.value),
    )


def add_shift(conn: Conn, staff_id: str, starts_at: datetime, ends_at: datetime) -> int:
    """Put a staff member on a shift; return the shift's id."""
    row = conn.execute(
        "INSERT INTO shifts (staff_id, starts_at, ends_at) VALUES (%s, %s, %s) RETURNING id",
        (staff_id, starts_at, ends_at),
    ).fetchone()
    assert row is not None
    return int(row[0])


def set_staff_status(conn: Conn, staff_id: str, status: StaffStatus) -> None:
    """Set whether a staff member is available, on a task or off shift."""
    if conn.execute("UPDATE staff SET status = %s WHERE id = %s", (status.value, staff_id)).rowcount == 0:
        raise NotFoundError(f"no staff member {staff_id!r}")


def report_location(conn: Conn, staff_id: str, where: Point, at: datetime) -> None:
    """Store a staff member's last known location; an older report never overwrites a newer one."""
    conn.execute(
        "UPDATE staff SET last_lat = %s, last_lon = %s, last_seen_at = %s"
        " WHERE id = %s AND (last_seen_at IS NULL OR last_seen_at <= %s)",
        (where.lat, where.lon, at, staff_id, at),
    )


_STAFF_SQL = """
SELECT s.id, s.name, s.role, s.status, s.last_lat, s.last_lon, s.last_seen_at,
       st.id, st.name, st.lat, st.lon, st.area_type,
       EXISTS (SELECT 1 FROM shifts sh WHERE sh.staff_id = s.id AND sh.starts_at <= %(now)s AND sh.ends_at > %(now)s)
FROM staff s JOIN stations st ON st.id = s.station_id
WHERE s.active AND (
    -- for a resident, the staff of their district (a district's centre sends its own); all when they have none
    %(resident)s::text IS NULL
    OR (SELECT d.district_id FROM resident_districts d WHERE d.resident_id = %(resident)s::text) IS NULL
    OR st.district_id = (SELECT d.district_id FROM resident_districts d WHERE d.resident_id = %(resident)s::text)
)
ORDER BY s.id
"""


def load_staff(conn: Conn, now: datetime, for_resident: str | None = None) -> list[StaffMember]:
    """Load the staff (of a resident's district, if one is named) with their station and whether on shift."""
    return [_staff_member(row) for row in conn.execute(_STAFF_SQL, {"now": now, "resident": for_resident})]


def _staff_member(row: tuple[Any, ...]) -> StaffMember:
    """Build a staff record from a row of ``_STAFF_SQL``."""
    sid, name, role, status, lat, lon, seen, st_id, st_name, st_lat, st_lon, area, on_shift = row
    station = Station(st_id, st_name, Point(st_lat, st_lon), AreaType(area))
    last = Point(lat, lon) if lat is not None and lon is not None else None
    return StaffMember(sid, name, Role(role), station, StaffStatus(status), bool(on_shift), last, seen)


def save_resident_profile(conn: Conn, profile: ResidentProfile) -> None:
    """Create or update a resident's profile and categories."""
    p = profile
    conn.execute(
        "INSERT INTO residents (id, name, address, lat, lon, area_type, assessment_level, risk_class,"
        " medical_notes, key_holder, timezone) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
        " ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, address = EXCLUDED.address, lat = EXCLUDED.lat,"
        " lon = EXCLUDED.lon, area_type = EXCLUDED.area_type, assessment_level = EXCLUDED.assessment_level,"
        " risk_class = EXCLUDED.risk_class, medical_notes = EXCLUDED.medical_notes,"
        " key_holder = EXCLUDED.key_holder, timezone = EXCLUDED.timezone",
        (
            p.resident_id,
            p.name,
            p.address,
            p.location.lat,
            p.location.lon,
            p.area_type.value,
            p.assessment_level,
            p.risk_class.value,
            p.medical_notes,
            p.key_holder,
            p.timezone,
        ),
    )
    _set_categories(conn, p.resident_id, p.categories)


def _set_categories(conn: Conn, resident_id: str, codes: Iterable[str]) -> None:
    """Replace a resident's categories."""
    conn.execute("DELETE FROM resident_categories WHERE resident_id = %s", (resident_id,))
    with conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO resident_categories (resident_id, code) VALUES (%s, %s)",
            [(resident_id, code) for code in codes],
        )


def load_resident_place(conn: Conn, resident_id: str) -> ResidentPlace:
    """Load where a resident lives; a resident without a location cannot be dispatched to."""
    row = conn.execute(
        "SELECT name, lat, lon, area_type, address, key_holder, medical_notes FROM residents WHERE id = %s",
        (resident_id,),
    ).fetchone()
    if row is None:
        raise NotFoundError(f"no resident {resident_id!r}")
    name, lat, lon, area, address, key_holder, notes = row
    if lat is None or lon is None:
        raise NotFoundError(f"resident {resident_id!r} has no location on record")
    return ResidentPlace(resident_id, name, Point(lat, lon), AreaType(area), address, key_holder, notes)


def residents_by_risk(conn: Conn) -> list[tuple[str, RiskClass]]:
    """List every resident with their risk class."""
    return [(rid, RiskClass(risk)) for rid, risk in conn.execute("SELECT id, risk_class FROM residents ORDER BY id")]


@dataclass(frozen=True, slots=True)
class ResidentDetails:
    """The rest of a resident's record: how to reach them, where they belong, their personal vital limits."""

    phone: str | None = None
    gender: str | None = None  # 'M' or 'F'
    street: str | None = None  # 街道
    community: str | None = None  # 社区
    station_id: str | None = None  # their service station; None: the nearest one
    heart_rate_low: int | None = None  # personal limits set by their doctor; None: the clinical default
    heart_rate_high: int | None = None
    spo2_low: int | None = None


def save_resident_details(conn: Conn, resident_id: str, details: ResidentDetails) -> None:
    """Store a resident's contact details, station and personal vital limits."""
    d = details
    updated = conn.execute(
        "UPDATE residents SET phone = %s, gender = %s, street = %s, community = %s, station_id = %s,"
        " heart_rate_low = %s, heart_rate_high = %s, spo2_low = %s WHERE id = %s",
        (
            d.phone,
            d.gender,
            d.street,
            d.community,
            d.station_id,
            d.heart_rate_low,
            d.heart_rate_high,
            d.spo2_low,
            resident_id,
        ),
    )
    if updated.rowcount == 0:
        raise NotFoundError(f"no resident {resident_id!r}")


def set_resident_active(conn: Conn, resident_id: str, active: bool) -> None:
    """Deactivate a resident (their history stays) or bring them back."""
    if conn.execute("UPDATE residents SET active = %s WHERE id = %s", (active, resident_id)).rowcount == 0:
        raise NotFoundError(f"no resident {resident_id!r}")


def set_station_district(conn: Conn, station_id: str, district_id: int | None) -> None:
    """Put a station in a district (or in none)."""
    conn.execute("UPDATE stations SET district_id = %s WHERE id = %s", (district_id, station_id))


def active_staff_at(conn: Conn, station_id: str) -> int:
    """Count the active staff members of a station."""
    row = conn.execute("SELECT count(*) FROM staff WHERE station_id = %s AND active", (station_id,)).fetchone()
    return int(row[0]) if row else 0


def set_station_active(conn: Conn, station_id: str, active: bool) -> None:
    """Deactivate a station or bring it back (the caller checks that no active staff work there)."""
    if conn.execute("UPDATE stations SET active = %s WHERE id = %s", (active, station_id)).rowcount == 0:
        raise NotFoundError(f"no station {station_id!r}")


def set_staff_active(conn: Conn, staff_id: str, active: bool, now: datetime) -> None:
    """Deactivate a staff member (off shift, no coming shifts, never offered a task) or bring them back."""
    status = StaffStatus.AVAILABLE if active else StaffStatus.OFF_SHIFT
    updated = conn.execute(
        "UPDATE staff SET active = %s, status = %s WHERE id = %s", (active, status.value, staff_id)
    ).rowcount
    if updated == 0:
        raise NotFoundError(f"no staff member {staff_id!r}")
    if not active:
        conn.execute("DELETE FROM shifts WHERE staff_id = %s AND starts_at > %s", (staff_id, now))
        conn.execute(
            "UPDATE shifts SET ends_at = %s WHERE staff_id = %s AND ends_at > %s AND starts_at < %s",
            (now, staff_id, now, now),
        )


def load_shift_pattern(conn: Conn, staff_id: str) -> list[WeeklyShift]:
    """Return a staff member's weekly pattern, Monday first."""
    rows = conn.execute(
        "SELECT weekday, starts, ends FROM staff_shift_patterns WHERE staff_id = %s ORDER BY weekday, starts",
        (staff_id,),
    )
    return [WeeklyShift(int(day), starts, ends) for day, starts, ends in rows]


def set_shift_pattern(conn: Conn, staff_id: str, pattern: Iterable[WeeklyShift], now: datetime, zone: str) -> int:
    """Replace a staff member's weekly pattern and its coming shifts; return how many shifts were made."""
    week = list(pattern)
    conn.execute("DELETE FROM staff_shift_patterns WHERE staff_id = %s", (staff_id,))
    with conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO staff_shift_patterns (staff_id, weekday, starts, ends) VALUES (%s, %s, %s, %s)",
            [(staff_id, w.weekday, w.start, w.end) for w in week],
        )
    conn.execute("DELETE FROM shifts WHERE staff_id = %s AND from_pattern AND starts_at > %s", (staff_id, now))
    return make_shifts(conn, staff_id, week, now, ZoneInfo(zone))
