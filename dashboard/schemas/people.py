"""Residents, contacts, devices, stations and staff as the API shows them (a family's own side: ``family``)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

CLOCK_TIME = r"^([01]\d|2[0-3]):[0-5]\d$"  # HH:MM on a 24-hour clock: "22:60" is no time of day


class ResidentPublic(BaseModel):
    """A resident's profile."""

    id: str
    name: str
    address: str | None
    lat: float | None
    lon: float | None
    area_type: str
    assessment_level: int | None
    risk_class: str
    categories: list[str]
    medical_notes: str | None = None
    key_holder: str | None = None


class ContactPublic(BaseModel):
    """An emergency contact in calling order."""

    id: int
    position: int
    relation: str
    name: str
    phone: str | None
    language: str


class DevicePublic(BaseModel):
    """A device with its state (dashboard.store.devices.DeviceState) and battery."""

    id: str
    resident_id: str | None
    kind: str
    sensor_kind: str | None
    room: str | None
    hub_id: str | None = None  # the hub a sensor reports through
    state: Literal["online", "offline", "hub_offline", "not_worn", "unknown"]
    status: str | None  # the device's own last status message, online or offline
    status_at: datetime | None
    battery: int | None
    worn: bool | None
    last_seen_at: datetime | None  # its own last report (a relayed sensor's, not its hub's)
    offline: bool  # state is offline or hub_offline
    low_battery: bool


class VitalsPoint(BaseModel):
    """Heart rate and SpO2 in one 10-minute bucket."""

    bucket: datetime
    heart_rate: float | None
    spo2: float | None
    hr_min: int | None
    hr_max: int | None


class ActivityPoint(BaseModel):
    """Activity events in one room in one hour."""

    bucket: datetime
    room: str
    events: int


class Today(BaseModel):
    """How the resident's day is going."""

    steps: int | None
    heart_rate_avg: float | None
    last_activity_at: datetime | None
    open_alerts: int
    alerts_today: int  # raised since local midnight, handled or not: a handled day is not "all well"
    seen_today: bool  # moved before a home sensor, or steps on the bracelet, since local midnight


class ResidentDetail(BaseModel):
    """Everything the resident panel shows."""

    resident: ResidentPublic
    contacts: list[ContactPublic]
    devices: list[DevicePublic]
    today: Today


class StationPublic(BaseModel):
    """A service station."""

    id: str
    name: str
    address: str | None
    lat: float
    lon: float
    area_type: str
    staff_total: int
    staff_available: int


class StaffPublic(BaseModel):
    """A staff member and where they were last seen."""

    id: str
    name: str
    role: str
    station_id: str
    status: str
    phone: str | None
    last_lat: float | None
    last_lon: float | None
    last_seen_at: datetime | None
    on_shift: bool


class StaffUpdate(BaseModel):
    """A staff member's own report: status or position."""

    model_config = ConfigDict(extra="forbid")

    status: str | None = Field(default=None, pattern="^(available|off_shift)$")
    lat: float | None = Field(default=None, ge=-90, le=90)
    lon: float | None = Field(default=None, ge=-180, le=180)
