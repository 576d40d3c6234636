"""Records of people and places, and the tables of their kinds: areas, roles, categories, risk classes."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Final

EARTH_RADIUS_KM: Final = 6371.0088


class AreaType(StrEnum):
    """Where a resident or station is; it sets travel speed and the service promise."""

    CITY = "city"
    COUNTRYSIDE = "countryside"


class Role(StrEnum):
    """What a staff member does."""

    NURSE = "nurse"
    CAREGIVER = "caregiver"
    SOCIAL_WORKER = "social_worker"


class StaffStatus(StrEnum):
    """Whether a staff member can take a task."""

    AVAILABLE = "available"
    ON_TASK = "on_task"
    OFF_SHIFT = "off_shift"


class RiskClass(StrEnum):
    """How closely a resident is watched; A is the most at risk."""

    A = "A"
    B = "B"
    C = "C"


@dataclass(frozen=True, slots=True)
class Category:
    """One category of especially vulnerable older people."""

    code: str
    name_zh: str
    name_en: str


# The same rows as the resident_category_codes table (migration 0020); the database holds the truth.
CATEGORIES: Final[dict[str, Category]] = {
    c.code: c
    for c in (
        Category("living_alone", "独居", "living alone"),
        Category("empty_nest", "空巢", "empty nest"),
        Category("left_behind", "留守", "left behind"),
        Category("disabled", "失能", "disabled (fully dependent)"),
        Category("semi_disabled", "半失能", "semi-disabled"),
        Category("severe_disability", "重残", "severe disability"),
        Category("advanced_age", "高龄", "advanced age (80+)"),
        Category("bereaved_family", "计划生育特殊家庭", "bereaved or disabled only-child family"),
        Category("extreme_poverty", "特困", "extreme poverty (特困供养)"),
        Category("subsistence_allowance", "低保", "subsistence allowance (低保)"),
        Category("low_income", "低收入", "low income"),
        Category("veteran_entitled", "优抚对象", "entitled veteran or martyr family"),
    )
}


@dataclass(frozen=True, slots=True)
class Point:
    """A place on the earth, in degrees."""

    lat: float
    lon: float


@dataclass(frozen=True, slots=True)
class Station:
    """A home-care service station (居家养老服务站)."""

    id: str
    name: str
    location: Point
    area_type: AreaType


@dataclass(frozen=True, slots=True)
class StaffMember:
    """A staff member as ranking sees them: where they are, whether they can go."""

    id: str
    name: str
    role: Role
    station: Station
    status: StaffStatus
    on_shift: bool
    last_location: Point | None = None
    last_seen_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class ResidentPlace:
    """Where a resident lives and the promise that applies there."""

    resident_id: str
    name: str
    location: Point
    area_type: AreaType
    address: str | None = None
    key_holder: str | None = None
    medical_notes: str | None = None


def great_circle_km(a: Point, b: Point) -> float:
    """Return the great-circle (haversine) distance between two points in kilometres."""
    lat1, lat2 = math.radians(a.lat), math.radians(b.lat)
    dlat, dlon = lat2 - lat1, math.radians(b.lon - a.lon)
    h = math.sin(dlat / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin(dlon / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(h)))
