"""Administration bodies: Create / Update / Public per resource (residents, contacts, devices, stations,
staff and their weeks, user accounts) and the audit log as the viewer reads it.

Bodies say only what fits the field (length, range, pattern); what needs the database (an unknown
category or station, a device already bound) is refused by the route with a code of its own.
"""

from __future__ import annotations

from datetime import datetime, time
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from dashboard.roles import RoleName
from dashboard.schemas.users import Locale
from dispatch.places import AreaType, RiskClass, Role, StaffStatus
from gateway.contract import DEVICE_ID_PATTERN
from gateway.registry import DeviceKind
from notify.contacts import ChannelKind, Relation

Id = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")
Phone = Field(default=None, min_length=3, max_length=30, pattern=r"^\+?[0-9][0-9 -]{2,29}$")
Lat = Field(ge=-90, le=90)
Lon = Field(ge=-180, le=180)


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


# Residents --------------------------------------------------------------------------------------------


class ResidentFields(_Body):
    """Every profile field an admin sets; an update sends them all again (the form shows them all)."""

    name: str = Field(min_length=1, max_length=100)
    gender: Literal["M", "F"] | None = None
    phone: str | None = Phone
    address: str | None = Field(default=None, max_length=300)
    street: str | None = Field(default=None, max_length=100)
    community: str | None = Field(default=None, max_length=100)
    lat: float = Lat
    lon: float = Lon
    area_type: AreaType = AreaType.CITY
    station_id: str | None = Field(default=None, max_length=64)
    categories: list[str] = Field(default=[], max_length=12)
    assessment_level: int | None = Field(default=None, ge=0, le=4)
    risk_class: RiskClass = RiskClass.C
    medical_notes: str | None = Field(default=None, max_length=2000)
    key_holder: str | None = Field(default=None, max_length=200)
    heart_rate_low: int | None = Field(default=None, ge=20, le=200)
    heart_rate_high: int | None = Field(default=None, ge=40, le=250)
    spo2_low: int | None = Field(default=None, ge=50, le=100)
    learning_consent: bool = False  # their closed fall alerts' windows may be kept to learn from (alerts.outcomes)


class ResidentCreate(ResidentFields):
    """A new resident; the id is made from the name when none is given."""

    id: str | None = Field(default=None, min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")


class ResidentUpdate(ResidentFields):
    """A resident's profile as edited."""


class ChannelIn(_Body):
    """One way to reach a contact."""

    kind: ChannelKind
    target: str = Field(min_length=1, max_length=2000)


class ChannelPublic(BaseModel):
    """A contact's channel as the admin sees it."""

    kind: str
    target: str


class ContactFields(_Body):
    """An emergency contact: who, how to reach them, when not to (critical alerts ignore quiet hours)."""

    name: str = Field(min_length=1, max_length=100)
    relation: Relation = Relation.FAMILY
    phone: str | None = Phone
    language: Literal["zh", "en"] = "zh"
    quiet_start: time | None = None
    quiet_end: time | None = None
    min_severity: int = Field(default=1, ge=1, le=4)
    wants_updates: bool = True
    channels: list[ChannelIn] = Field(default=[], max_length=5)


class ContactCreate(ContactFields):
    """A new contact, told after those already in the calling order."""


class ContactUpdate(ContactFields):
    """A contact as edited."""


class ContactMove(_Body):
    """A contact's new place in the calling order (1: told first)."""

    position: int = Field(ge=1, le=20)


class ContactAdmin(BaseModel):
    """A contact with their channels and the family accounts linked to them."""

    id: int
    position: int
    name: str
    relation: str
    phone: str | None
    language: str
    quiet_start: time | None
    quiet_end: time | None
    min_severity: int
    wants_updates: bool
    active: bool
    channels: list[ChannelPublic]


class LinkedAccount(BaseModel):
    """A family account linked to a resident (and to the contact they are in the calling chain)."""

    user_id: int
    username: str
    display_name: str
    contact_id: int | None


class ResidentAdmin(ResidentFields):
    """A resident with every field, their contacts, devices and linked family accounts."""

    id: str
    active: bool
    station_name: str | None = None
    district: str | None = None
    id_masked: str | None = None
    contacts: list[ContactAdmin] = []
    devices: list[str] = []
    family: list[LinkedAccount] = []


class ResidentRow(BaseModel):
    """One line of the admin's resident list."""

    id: str
    name: str
    active: bool
    risk_class: str
    assessment_level: int | None
    station_id: str | None
    station_name: str | None
    categories: list[str]
    phone: str | None
    address: str | None


# Devices ----------------------------------------------------------------------------------------------


class DeviceCreate(_Body):
    """A device to register (a bracelet, a home hub, or a sensor behind a hub)."""

    id: str = Field(pattern=DEVICE_ID_PATTERN)
    kind: DeviceKind
    resident_id: str | None = Field(default=None, max_length=64)
    sensor_kind: str | None = Field(default=None, max_length=30, pattern=r"^[a-z_]+$")
    room: str | None = Field(default=None, max_length=30, pattern=r"^[a-z_]+$")
    parent_id: str | None = Field(default=None, pattern=DEVICE_ID_PATTERN)
    # A bracelet's model: fall detection uses that model's calibration where there is one (docs/detection.md).
    model: str | None = Field(default=None, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9 ._-]{0,63}$")


class DeviceUpdate(_Body):
    """A device bound to another resident (None: unbound), moved to another room, or its model recorded."""

    resident_id: str | None = Field(default=None, max_length=64)
    room: str | None = Field(default=None, max_length=30, pattern=r"^[a-z_]+$")
    # A bracelet's model: fall detection uses that model's calibration where there is one (docs/detection.md).
    model: str | None = Field(default=None, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9 ._-]{0,63}$")


class DeviceAdmin(BaseModel):
    """A registered device as the admin sees it."""

    id: str
    kind: str
    resident_id: str | None
    resident_name: str | None
    sensor_kind: str | None
    room: str | None
    parent_id: str | None
    model: str | None
    active: bool
    has_credentials: bool
    issued_at: datetime | None


class DeviceIssued(BaseModel):
    """A device's new broker credentials: shown once, never stored in clear."""

    device: DeviceAdmin
    username: str | None  # None: a sensor behind a hub has no account of its own
    secret: str | None
    broker_reloaded: bool  # the broker accepts them now (False: reload it, see docs/operations.md)


# Stations, staff and their weeks ---------------------------------------------------------------------


class StationFields(_Body):
    """A service station."""

    name: str = Field(min_length=1, max_length=100)
    address: str | None = Field(default=None, max_length=300)
    lat: float = Lat
    lon: float = Lon
    area_type: AreaType = AreaType.CITY
    district_id: int | None = None


class StationCreate(StationFields):
    """A new station."""

    id: str = Id


class StationUpdate(StationFields):
    """A station as edited."""


class StationAdmin(StationFields):
    """A station as the admin sees it."""

    id: str
    active: bool
    district: str | None
    staff: int


class ShiftIn(_Body):
    """One weekly working period: weekday 0 (Monday) … 6, local start and end (an earlier end: overnight)."""

    weekday: int = Field(ge=0, le=6)
    starts: time
    ends: time


class StaffFields(_Body):
    """A staff member."""

    name: str = Field(min_length=1, max_length=100)
    role: Role = Role.CAREGIVER
    station_id: str = Field(min_length=1, max_length=64)
    phone: str | None = Phone
    notify_url: str | None = Field(default=None, max_length=2000, pattern=r"^[a-z][a-z0-9+.-]*://\S+$")


class StaffCreate(StaffFields):
    """A new staff member, with their weekly shifts."""

    id: str = Id
    week: list[ShiftIn] = Field(default=[], max_length=28)


class StaffUpdate(StaffFields):
    """A staff member as edited."""


class WeekUpdate(_Body):
    """A staff member's whole week (replaces the old one and its coming shifts)."""

    week: list[ShiftIn] = Field(max_length=28)


class StaffAdmin(StaffFields):
    """A staff member as the admin sees them, with their week."""

    id: str
    active: bool
    status: StaffStatus
    station_name: str
    week: list[ShiftIn]
    on_shift: bool


# User accounts ----------------------------------------------------------------------------------------


class ResidentLink(_Body):
    """A family account's link to a resident (and the contact they are)."""

    resident_id: str = Field(min_length=1, max_length=64)
    contact_id: int | None = None


class AccountFields(_Body):
    """A user account."""

    display_name: str = Field(min_length=1, max_length=100)
    role: RoleName
    staff_id: str | None = Field(default=None, max_length=64)
    district_id: int | None = None
    locale: Locale = "zh-CN"
    links: list[ResidentLink] = Field(default=[], max_length=20)


class AccountCreate(AccountFields):
    """A new account with its first password."""

    username: str = Field(min_length=3, max_length=64, pattern=r"^[A-Za-z0-9_.@-]+$")
    password: str = Field(min_length=10, max_length=256)


class AccountUpdate(AccountFields):
    """An account as edited; a password only when it is being reset."""

    password: str | None = Field(default=None, min_length=10, max_length=256)


class AccountAdmin(BaseModel):
    """An account as the admin sees it."""

    id: int
    username: str
    display_name: str
    role: str
    staff_id: str | None
    district_id: int | None
    locale: str
    active: bool
    links: list[ResidentLink]
    created_at: datetime


class DistrictPublic(BaseModel):
    """A district, for choosing one."""

    id: int
    name: str


class Choices(BaseModel):
    """What the admin's forms choose from: categories, stations, districts, roles, relations, channel kinds."""

    categories: list[dict[str, str]]
    stations: list[dict[str, Any]]
    districts: list[DistrictPublic]
    roles: list[str]
    relations: list[str]
    channel_kinds: list[str]
    staff_roles: list[str]


# The audit log ----------------------------------------------------------------------------------------


class AuditRow(BaseModel):
    """One audit row."""

    id: int
    at: datetime
    username: str | None
    role: str | None
    action: str
    object_type: str
    object_id: str | None
    resident_id: str | None
    ip: str | None
    detail: dict[str, Any] | None
