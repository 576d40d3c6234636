"""The drill's own people and places, registered in the live platform's database and marked as a drill.

A drill never borrows real residents or staff: it registers a drill station, a resident (named 【演练】 so
no one mistakes it), her bracelet and a family contact, two staff members at her door (so they rank
first and second, ahead of every real staff member) and desk accounts for an operator and a supervisor.
Every channel points at the drill's own inbox. Ids carry a run tag, so drills never collide and their
rows can be told apart (and left out of the figures) afterwards.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import psycopg

from dashboard.roles import RoleName
from dashboard.security import hash_password
from dashboard.store.users import create_user
from dispatch.people import ResidentProfile, add_shift, add_staff, add_station, report_location, save_resident_profile
from dispatch.places import AreaType, Point, RiskClass, Role, Station
from gateway.registry import Device, DeviceKind
from ingest.devices import upsert_devices
from notify.contacts import Channel, ChannelKind, Contact, Relation, save_contact

DRILL_PREFIX = "drill-"


@dataclass(frozen=True, slots=True)
class DrillWorld:
    """What one drill registered: ids, accounts and the inbox paths of each person's channel."""

    tag: str
    resident_id: str
    device_id: str
    staff_ids: tuple[str, str]
    operator: str
    supervisor: str
    staff_users: tuple[str, str]
    password: str

    @property
    def family_path(self) -> str:
        """Return the inbox path of the family contact's channel."""
        return f"/family/{self.resident_id}"

    @property
    def supervisor_path(self) -> str:
        """Return the inbox path of the supervisor's channel."""
        return f"/supervisor/{self.tag}"

    def staff_path(self, index: int) -> str:
        """Return the inbox path of a drill staff member's channel."""
        return f"/staff/{self.staff_ids[index]}"


def register_drill(conn: psycopg.Connection[Any], inbox_url: str, where: Point, now: datetime) -> DrillWorld:
    """Register a drill's resident, device, contact, staff and accounts; return what was made."""
    tag = secrets.token_hex(3)
    password = secrets.token_urlsafe(18)
    world = DrillWorld(
        tag=tag,
        resident_id=f"{DRILL_PREFIX}r-{tag}",
        device_id=f"{DRILL_PREFIX}b-{tag}",
        staff_ids=(f"{DRILL_PREFIX}s1-{tag}", f"{DRILL_PREFIX}s2-{tag}"),
        operator=f"{DRILL_PREFIX}operator-{tag}",
        supervisor=f"{DRILL_PREFIX}supervisor-{tag}",
        staff_users=(f"{DRILL_PREFIX}staff1-{tag}", f"{DRILL_PREFIX}staff2-{tag}"),
        password=password,
    )
    station = f"{DRILL_PREFIX}st-{tag}"
    add_station(conn, Station(station, f"演练服务站 {tag}", where, AreaType.CITY), "演练")
    save_resident_profile(
        conn,
        ResidentProfile(
            world.resident_id,
            f"【演练】测试老人{tag}",
            where,
            address="演练地址",
            categories=("living_alone",),
            risk_class=RiskClass.C,
        ),
    )
    upsert_devices(conn, [Device(world.device_id, DeviceKind.BRACELET, world.resident_id)])
    contact = Contact(
        name="【演练】家属",
        relation=Relation.FAMILY,
        channels=(Channel(ChannelKind.WEBHOOK, inbox_url + world.family_path),),
    )
    save_contact(conn, world.resident_id, contact)
    digest = hash_password(password)
    for i, staff_id in enumerate(world.staff_ids):
        add_staff(
            conn, staff_id, f"演练护理员{i + 1}", Role.CAREGIVER, station, notify_url=inbox_url + world.staff_path(i)
        )
        add_shift(conn, staff_id, now - timedelta(minutes=5), now + timedelta(hours=2))
        report_location(conn, staff_id, where, now)  # at her door: they rank first and second
        create_user(conn, world.staff_users[i], f"演练护理员{i + 1}", digest, RoleName.STAFF, staff_id=staff_id)
    create_user(conn, world.operator, "演练调度员", digest, RoleName.OPERATOR)
    supervisor_id = create_user(conn, world.supervisor, "演练主管", digest, RoleName.SUPERVISOR)
    conn.execute("UPDATE users SET notify_url = %s WHERE id = %s", (inbox_url + world.supervisor_path, supervisor_id))
    return world


def retire_drill(conn: psycopg.Connection[Any], world: DrillWorld) -> None:
    """Take the drill's people out of service: accounts deactivated, staff off shift (the records stay)."""
    conn.execute(
        "UPDATE users SET active = false WHERE username = ANY(%s)",
        ([world.operator, world.supervisor, *world.staff_users],),
    )
    conn.execute(
        "UPDATE shifts SET ends_at = now() WHERE staff_id = ANY(%s) AND ends_at > now()", (list(world.staff_ids),)
    )
    conn.execute("UPDATE staff SET status = 'off_shift' WHERE id = ANY(%s)", (list(world.staff_ids),))
