"""Seed the demo neighbourhood for `make run`: the simulated fleet, three stations, twelve staff, demo accounts.

Everything is upserted, so running it again on the kept `.data/` changes nothing. Demo passwords are
generated on first use, stored hashed, and printed with the URL; they are never built into the code.
Every simulated device that connects to the broker (bracelet, hub, directly connected sensor) gets its own
secret the way the admin page issues one: the hash in ``device_credentials``, the secret in
``demo-devices.csv`` in the data folder (mode 600, the format `anxin devices provision` hands the factory),
where the demo's simulator and `anxin trigger` read it.
Everyone in the demo is reached on the platform's own outbox (no mail server, no chat service): the
contacts first on theirs, staff and the supervisor on ``outbox://<name>``; so every notice, offer and
escalation is really delivered offline, and the family page shows the family member's messages.
"""

from __future__ import annotations

import random
import secrets
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Final

import psycopg

from anxin.commands.devices import write_private
from anxin.fleet import fleet_devices
from dashboard.roles import RoleName
from dashboard.security import hash_password
from dashboard.store.users import create_user
from dispatch.people import ResidentProfile, add_shift, add_staff, add_station, save_resident_profile
from dispatch.places import AreaType, Point, RiskClass, Role, Station
from gateway.provisioning import Account, connects_itself, credentials_csv, issue, read_credentials_csv, verify_password
from ingest.credentials import load_credential_hashes, store_credential_hash
from ingest.devices import upsert_devices, upsert_residents
from notify.contacts import Channel, ChannelKind, Contact, Relation, save_contact
from simulators.fleet import Resident, build_fleet
from simulators.scenario import Scenario

_STATION_OFFSETS: Final = ((0.004, -0.006), (-0.005, 0.002), (0.001, 0.008))
_STAFF_NAMES: Final = ("李红", "张伟", "王芳", "刘洋", "陈静", "杨磊", "赵敏", "黄勇", "周丽", "吴强", "徐霞", "孙斌")
_ROLES: Final = (Role.NURSE, Role.CAREGIVER, Role.CAREGIVER, Role.SOCIAL_WORKER)
_CATEGORIES: Final = (
    ("living_alone", "advanced_age"),
    ("empty_nest",),
    ("living_alone", "semi_disabled"),
    ("living_alone", "subsistence_allowance"),
    ("empty_nest", "advanced_age"),
)
DEVICE_SECRETS: Final = "demo-devices.csv"  # in the data folder


def seed_demo(db_url: str, scenario: Scenario, data_dir: Path = Path(".data")) -> list[str]:
    """Register the demo neighbourhood and its people; return lines describing the demo accounts."""
    fleet = build_fleet(scenario.residents, scenario.seed, scenario.neighbourhood)
    rng = random.Random(scenario.seed)  # noqa: S311 - demo data, not secrets
    centre = Point(scenario.neighbourhood.lat, scenario.neighbourhood.lon)
    with psycopg.connect(db_url) as conn:
        upsert_residents(conn, [(r.resident_id, r.name) for r in fleet])
        upsert_devices(conn, fleet_devices(fleet))
        _device_credentials(conn, fleet, data_dir)
        fresh = conn.execute("SELECT count(*) FROM stations").fetchone() == (0,)
        if fresh:
            _people(conn, fleet, rng)
            _stations(conn, centre)
        lines = _accounts(conn, fleet, data_dir, fresh)
        _reach_everyone_offline(conn)
        return lines


def _people(conn: psycopg.Connection, fleet: tuple[Resident, ...], rng: random.Random) -> None:
    for i, r in enumerate(fleet):
        save_resident_profile(
            conn,
            ResidentProfile(
                r.resident_id,
                r.name,
                Point(r.home.lat, r.home.lon),
                AreaType.CITY,
                address=f"幸福路{10 + i}号 {1 + i % 6}单元",
                categories=_CATEGORIES[i % len(_CATEGORIES)],
                assessment_level=i % 4,
                risk_class=(RiskClass.A, RiskClass.B, RiskClass.C)[i % 3],
                medical_notes=rng.choice(("高血压", "糖尿病", "冠心病，服用阿司匹林", "轻度认知障碍", None)),
                key_holder="邻居 (隔壁) 持有钥匙" if i % 2 else "社区网格员持有钥匙",
            ),
        )
        conn.execute(  # the bracelet's SIM: the staff phone and the console call it
            "UPDATE residents SET phone = %s WHERE id = %s AND phone IS NULL", (f"1370000{i:04d}", r.resident_id)
        )
        save_contact(
            conn,
            r.resident_id,
            Contact(
                name=f"{r.name[0]}女士 (女儿)",
                relation=Relation.FAMILY,
                position=1,
                phone=f"1390000{i:04d}",
                channels=(
                    Channel(ChannelKind.OUTBOX, f"family-{r.resident_id}"),
                    Channel(ChannelKind.EMAIL, f"family-{r.resident_id}@example.invalid"),
                ),
            ),
        )


def _stations(conn: psycopg.Connection, centre: Point) -> None:
    now = datetime.now(UTC)
    for s, (dlat, dlon) in enumerate(_STATION_OFFSETS):
        station = Station(
            f"st{s + 1}", f"幸福社区居家养老服务站 {s + 1}", Point(centre.lat + dlat, centre.lon + dlon), AreaType.CITY
        )
        add_station(conn, station, address=f"幸福路{100 + s}号")
        for k in range(4):
            staff_id = f"s{s * 4 + k + 1:02d}"
            add_staff(
                conn,
                staff_id,
                _STAFF_NAMES[s * 4 + k],
                _ROLES[k],
                station.id,
                phone=f"1380000{s * 4 + k:04d}",
                notify_url=f"outbox://{staff_id}",
            )
            add_shift(conn, staff_id, now - timedelta(hours=1), now + timedelta(days=365))


def _accounts(conn: psycopg.Connection, fleet: tuple[Resident, ...], data_dir: Path, fresh: bool) -> list[str]:
    """Create the demo users once; their passwords live in the data folder (mode 600)."""
    path = data_dir / "demo-accounts.txt"
    if not fresh and path.exists():
        return path.read_text().splitlines()
    users = [
        ("operator", "值班调度员", RoleName.OPERATOR, None, ()),
        ("supervisor", "中心主任", RoleName.SUPERVISOR, None, ()),
        ("staff", _STAFF_NAMES[0], RoleName.STAFF, "s01", ()),
        ("family", f"{fleet[0].name}的女儿", RoleName.FAMILY, None, (fleet[0].resident_id,)),
        ("family2", f"{fleet[1].name}的儿子", RoleName.FAMILY, None, (fleet[1].resident_id,)),
    ]
    lines = []
    for username, display, role, staff_id, residents in users:
        password = secrets.token_urlsafe(9)
        contact = conn.execute(
            "SELECT id FROM emergency_contacts WHERE resident_id = ANY(%s) ORDER BY position LIMIT 1",
            (list(residents),),
        ).fetchone()
        create_user(
            conn,
            username,
            display,
            hash_password(password),
            role,
            staff_id=staff_id,
            resident_ids=residents,
            contact_id=contact[0] if contact else None,  # the family member is this contact: their settings
        )
        lines.append(f"{role.value:<10} {username:<10} password {password}")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")
    path.chmod(0o600)
    return lines


def demo_device_secrets(data_dir: Path) -> dict[str, str]:
    """Return the demo devices' secrets (device id → secret), none before the demo is seeded."""
    path = data_dir / DEVICE_SECRETS
    return read_credentials_csv(path.read_text()) if path.exists() else {}


def _device_credentials(conn: psycopg.Connection, fleet: tuple[Resident, ...], data_dir: Path) -> None:
    """Give each connecting demo device a secret, keeping every one that still matches its stored hash."""
    kept, hashes = demo_device_secrets(data_dir), load_credential_hashes(conn)
    accounts = []
    for device in filter(connects_itself, fleet_devices(fleet)):
        secret = kept.get(device.id)  # none for a new device; a secret rotated on the admin page no longer matches
        if secret is None or not verify_password(secret, hashes.get(device.id, "")):
            account, password_hash = issue(device.id)
            store_credential_hash(conn, device.id, password_hash)
            secret = account.password
        accounts.append(Account(device.id, secret, "device"))
    data_dir.mkdir(parents=True, exist_ok=True)
    write_private(data_dir / DEVICE_SECRETS, credentials_csv(accounts))


def _reach_everyone_offline(conn: psycopg.Connection) -> None:
    """Give every demo person the outbox, also on a demo seeded before it existed (idempotent)."""
    conn.execute(
        "INSERT INTO contact_channels (contact_id, position, kind, target)"
        " SELECT c.id, coalesce((SELECT max(position) FROM contact_channels WHERE contact_id = c.id), 0) + 1,"
        " 'outbox', 'family-' || c.resident_id FROM emergency_contacts c"
        " WHERE NOT EXISTS (SELECT 1 FROM contact_channels x WHERE x.contact_id = c.id AND x.kind = 'outbox')"
    )
    conn.execute("UPDATE staff SET notify_url = 'outbox://' || id WHERE notify_url IS NULL")
    conn.execute(
        "UPDATE users SET notify_url = 'outbox://' || username WHERE role = 'supervisor' AND notify_url IS NULL"
    )
    conn.execute(  # a family account linked to no contact row had an empty settings card
        "UPDATE user_residents u SET contact_id = (SELECT c.id FROM emergency_contacts c"
        " WHERE c.resident_id = u.resident_id ORDER BY c.position LIMIT 1)"
        " WHERE u.contact_id IS NULL AND u.user_id IN (SELECT id FROM users WHERE role = 'family')"
    )
