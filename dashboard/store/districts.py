"""Districts: which district a resident, station or staff member belongs to, as SQL the other stores share.

A resident's district is defined once, by the view ``resident_districts`` (migration 0045): the district
of their station (the roster's), else of the station nearest their home. A station names its district;
a staff member belongs to their station's. Every list narrows with `residents_of`, every object check
asks `resident_in`, `station_in` or `staff_in`; a district of None means the whole city.
"""

from __future__ import annotations

from typing import Any

import psycopg


def residents_of(placeholder: str) -> str:
    """Return the SQL set of a district's residents, its id bound at ``placeholder`` (``%s``, ``%(district)s``)."""
    return f"(SELECT resident_id FROM resident_districts WHERE district_id = {placeholder})"


def stations_of(placeholder: str) -> str:
    """Return the SQL set of a district's stations, its id bound at ``placeholder``."""
    return f"(SELECT id FROM stations WHERE district_id = {placeholder})"


def resident_in(conn: psycopg.Connection[Any], resident_id: str, district_id: int) -> bool:
    """Tell whether a resident belongs to the district."""
    found = conn.execute(
        "SELECT 1 FROM resident_districts WHERE resident_id = %s AND district_id = %s", (resident_id, district_id)
    ).fetchone()
    return found is not None


def station_in(conn: psycopg.Connection[Any], station_id: str, district_id: int) -> bool:
    """Tell whether a station belongs to the district."""
    found = conn.execute(
        "SELECT 1 FROM stations WHERE id = %s AND district_id = %s", (station_id, district_id)
    ).fetchone()
    return found is not None


def staff_in(conn: psycopg.Connection[Any], staff_id: str, district_id: int) -> bool:
    """Tell whether a staff member works at a station of the district."""
    found = conn.execute(
        f"SELECT 1 FROM staff WHERE id = %s AND station_id IN {stations_of('%s')}", (staff_id, district_id)
    ).fetchone()
    return found is not None


def residents(conn: psycopg.Connection[Any], district: str) -> frozenset[str]:
    """Return the ids of the residents of the district of this name."""
    rows = conn.execute("SELECT resident_id FROM resident_districts WHERE district = %s", (district,))
    return frozenset(str(r[0]) for r in rows)
