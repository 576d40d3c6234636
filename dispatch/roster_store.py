"""Apply a checked roster to the database: stations and districts, staff and their weeks, residents.

Everything runs in the caller's transaction, so a dry run is the same work rolled back and reports the
same figures. Each kind is matched to what is already stored by its natural key — a station by its name,
a staff member by phone (else name and station), a resident by the keyed hash of their ID number — so a
second import of the same file changes nothing and says so (``unchanged``), and an edited row is updated
in place: contacts keep their position and channels, a family account linked to a contact stays linked.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import psycopg

from dispatch.roster import Parsed, ResidentRow, RowError, StaffRow, StationRow, WeeklyShift

Conn = psycopg.Connection[Any]
SHIFT_HORIZON_DAYS = 14  # concrete shifts made ahead from each weekly pattern


@dataclass
class Tally:
    """What happened to one sheet's rows."""

    rows: int = 0
    imported: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)

    def refuse(self, error: RowError) -> None:
        """Count a refused row and keep its reason."""
        self.rejected += 1
        entry = {"row": error.row, "column": error.column, "reason": error.reason}
        self.errors.append(entry | ({"repeats_row": error.repeats_row} if error.repeats_row else {}))

    def as_dict(self) -> dict[str, Any]:
        """Return the tally as the report prints it."""
        return {
            "rows": self.rows,
            "imported": self.imported,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "rejected": self.rejected,
            "errors": self.errors,
        }


def _key(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:10]


def apply_roster(conn: Conn, parsed: Parsed, now: datetime, zone: str = "Asia/Shanghai") -> dict[str, Tally]:
    """Store every row that passed; return a tally per sheet (stations, staff, residents)."""
    tallies = {"stations": Tally(), "staff": Tally(), "residents": Tally()}
    for sheet, name in (("服务站", "stations"), ("护理员", "staff"), ("老人", "residents")):
        tallies[name].rows = parsed.rows.get(sheet, 0)
        for error in parsed.errors:
            if error.sheet == sheet:
                tallies[name].refuse(error)
    stations = _stations(conn, parsed.stations, tallies["stations"])
    for row, staff in parsed.staff:
        _staff(conn, row, staff, stations, tallies["staff"], now, ZoneInfo(zone))
    for row, resident in parsed.residents:
        _resident(conn, row, resident, stations, tallies["residents"])
    for tally in tallies.values():
        tally.errors.sort(key=lambda e: (e["row"], e["column"]))
    return tallies


def _stations(conn: Conn, rows: Iterable[tuple[int, StationRow]], tally: Tally) -> dict[str, str]:
    """Upsert the stations (and their districts); return every known station's id by name."""
    for _, s in rows:
        district = conn.execute(
            "INSERT INTO districts (name) VALUES (%s) ON CONFLICT (name) DO UPDATE SET name = EXCLUDED.name"
            " RETURNING id",
            (s.district,),
        ).fetchone()
        assert district is not None
        values = (s.address, s.lat, s.lon, s.area_type, district[0])
        existing = conn.execute(
            "SELECT id, address, lat, lon, area_type, district_id FROM stations WHERE name = %s", (s.name,)
        ).fetchone()
        if existing is None:
            conn.execute(
                "INSERT INTO stations (id, name, address, lat, lon, area_type, district_id)"
                " VALUES (%s, %s, %s, %s, %s, %s, %s)",
                (f"st-{_key(s.name)}", s.name, *values),
            )
            tally.imported += 1
        elif tuple(existing[1:]) == values:
            tally.unchanged += 1
        else:
            conn.execute(
                "UPDATE stations SET address = %s, lat = %s, lon = %s, area_type = %s, district_id = %s WHERE id = %s",
                (*values, existing[0]),
            )
            tally.updated += 1
    return {str(name): str(sid) for sid, name in conn.execute("SELECT id, name FROM stations")}


def _staff(
    conn: Conn, row: int, s: StaffRow, stations: dict[str, str], tally: Tally, now: datetime, zone: ZoneInfo
) -> None:
    station = stations.get(s.station)
    if station is None:
        tally.refuse(RowError("护理员", row, "服务站", "station_unknown"))
        return
    staff_id = f"sf-{_key(s.phone or s.name + '|' + s.station)}"
    values = (s.name, station, s.phone, s.notify_url)
    existing = conn.execute(
        "SELECT name, station_id, phone, notify_url FROM staff WHERE id = %s", (staff_id,)
    ).fetchone()
    pattern = sorted((w.weekday, w.start, w.end) for w in s.shifts)
    stored = sorted(
        (d, a, b)
        for d, a, b in conn.execute(
            "SELECT weekday, starts, ends FROM staff_shift_patterns WHERE staff_id = %s", (staff_id,)
        )
    )
    if existing is not None and tuple(existing) == values and stored == pattern:
        tally.unchanged += 1
        return
    conn.execute(
        "INSERT INTO staff (id, name, role, station_id, phone, notify_url) VALUES (%s, %s, 'caregiver', %s, %s, %s)"
        " ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, station_id = EXCLUDED.station_id,"
        " phone = EXCLUDED.phone, notify_url = EXCLUDED.notify_url",
        (staff_id, *values),
    )
    conn.execute("DELETE FROM staff_shift_patterns WHERE staff_id = %s", (staff_id,))
    with conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO staff_shift_patterns (staff_id, weekday, starts, ends) VALUES (%s, %s, %s, %s)"
            " ON CONFLICT DO NOTHING",
            [(staff_id, w.weekday, w.start, w.end) for w in s.shifts],
        )
    conn.execute("DELETE FROM shifts WHERE staff_id = %s AND from_pattern AND starts_at > %s", (staff_id, now))
    make_shifts(conn, staff_id, s.shifts, now, zone)
    tally.imported += existing is None
    tally.updated += existing is not None


def make_shifts(
    conn: Conn,
    staff_id: str,
    pattern: Iterable[WeeklyShift],
    now: datetime,
    zone: ZoneInfo,
    days: int = SHIFT_HORIZON_DAYS,
) -> int:
    """Make the concrete shifts of a weekly pattern for the coming ``days`` (each once); return how many."""
    today = now.astimezone(zone).date()
    made = 0
    for offset in range(-1, days):
        day = today + timedelta(days=offset)
        for w in pattern:
            if day.weekday() != w.weekday:
                continue
            starts = datetime.combine(day, w.start, tzinfo=zone)
            ends = datetime.combine(day + timedelta(days=w.end <= w.start), w.end, tzinfo=zone)
            if ends <= now:
                continue
            made += conn.execute(
                "INSERT INTO shifts (staff_id, starts_at, ends_at, from_pattern) VALUES (%s, %s, %s, true)"
                " ON CONFLICT DO NOTHING",
                (staff_id, starts, ends),
            ).rowcount
    return made


def extend_shifts(conn: Conn, now: datetime, zone: str = "Asia/Shanghai") -> int:
    """Keep every weekly pattern's shifts made for the coming weeks (run daily or hourly); return how many new."""
    patterns: dict[str, list[WeeklyShift]] = {}
    for staff_id, weekday, starts, ends in conn.execute(
        "SELECT staff_id, weekday, starts, ends FROM staff_shift_patterns"
    ):
        patterns.setdefault(staff_id, []).append(WeeklyShift(weekday, starts, ends))
    return sum(make_shifts(conn, sid, p, now, ZoneInfo(zone)) for sid, p in patterns.items())


def known_categories(conn: Conn) -> dict[str, str]:
    """Map each category's Chinese name to its code, from the table that holds the truth."""
    return {str(name): str(code) for code, name in conn.execute("SELECT code, name_zh FROM resident_category_codes")}


def _resident(conn: Conn, row: int, r: ResidentRow, stations: dict[str, str], tally: Tally) -> None:
    station = stations.get(r.station)
    if station is None:
        tally.refuse(RowError("老人", row, "服务站", "station_unknown"))
        return
    fingerprint = r.fingerprint()
    existing = conn.execute("SELECT id, roster_fingerprint FROM residents WHERE id_key = %s", (r.id_key,)).fetchone()
    if existing is not None and existing[1] == fingerprint:
        tally.unchanged += 1
        return
    resident_id = str(existing[0]) if existing else f"res-{r.id_key[:12]}"
    area = conn.execute("SELECT area_type FROM stations WHERE id = %s", (station,)).fetchone()
    conn.execute(
        "INSERT INTO residents (id, name, gender, id_key, id_masked, birth_date, phone, address, street, community,"
        " station_id, assessment_level, risk_class, lat, lon, area_type, roster_fingerprint)"
        " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
        " ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, gender = EXCLUDED.gender,"
        " birth_date = EXCLUDED.birth_date, phone = EXCLUDED.phone, address = EXCLUDED.address,"
        " street = EXCLUDED.street, community = EXCLUDED.community, station_id = EXCLUDED.station_id,"
        " assessment_level = EXCLUDED.assessment_level, risk_class = EXCLUDED.risk_class,"
        " lat = coalesce(EXCLUDED.lat, residents.lat), lon = coalesce(EXCLUDED.lon, residents.lon),"
        " area_type = EXCLUDED.area_type, roster_fingerprint = EXCLUDED.roster_fingerprint",
        (
            resident_id,
            r.name,
            r.gender,
            r.id_key,
            r.id_masked,
            r.birth_date,
            r.phone,
            r.address,
            r.street,
            r.community,
            station,
            r.assessment_level,
            r.risk_class,
            r.lat,
            r.lon,
            area[0] if area else "city",
            fingerprint,
        ),
    )
    conn.execute("DELETE FROM resident_categories WHERE resident_id = %s", (resident_id,))
    with conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO resident_categories (resident_id, code) VALUES (%s, %s)",
            [(resident_id, code) for code in r.categories],
        )
    for position, contact in enumerate(r.contacts, start=1):
        conn.execute(
            "INSERT INTO emergency_contacts (resident_id, position, relation, relation_label, name, phone)"
            " VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (resident_id, position) DO UPDATE SET"
            " relation = EXCLUDED.relation, relation_label = EXCLUDED.relation_label, name = EXCLUDED.name,"
            " phone = EXCLUDED.phone",
            (resident_id, position, contact.relation_code, contact.relation or None, contact.name, contact.phone),
        )
    if r.bracelet:
        conn.execute(
            "INSERT INTO devices (id, kind, resident_id) VALUES (%s, 'bracelet', %s)"
            " ON CONFLICT (id) DO UPDATE SET resident_id = EXCLUDED.resident_id",
            (r.bracelet, resident_id),
        )
    tally.imported += existing is None
    tally.updated += existing is not None
