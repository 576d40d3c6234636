"""Factories for the dashboard tests: a small neighbourhood, its people and accounts, and a wired platform."""

from __future__ import annotations

import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import uvicorn
from psycopg_pool import ConnectionPool

from alerts.findings import Finding
from alerts.lifecycle import AlertState
from alerts.messages import TOPIC_ROOT
from alerts.service import AlertService
from dashboard.actions import Actions
from dashboard.roles import RoleName
from dashboard.security import hash_password
from dashboard.settings import DashboardSettings
from dashboard.store.users import create_user
from dispatch.flow import DISPATCH_OUTCOMES, DispatchFlow, StaffTask
from dispatch.people import ResidentProfile, add_shift, add_staff, add_station, save_resident_profile
from dispatch.places import AreaType, Point, Role, Station
from dispatch.ranking import RankingPolicy
from gateway.contract import DeviceCommand
from gateway.mqtt import BrokerAddress, MqttConnection

PASSWORD = "correct horse battery"
SECRET = "test-secret-key-0123456789abcdef-0123456789"
PASSWORD_HASH = hash_password(PASSWORD)  # once: scrypt is slow on purpose
ROSTER_KEY = b"roster-id-key-for-tests-0123456789"

# username → (role, staff id, residents)
ACCOUNTS: dict[str, tuple[RoleName, str | None, tuple[str, ...]]] = {
    "admin": (RoleName.ADMIN, None, ()),
    "supervisor": (RoleName.SUPERVISOR, None, ()),
    "operator": (RoleName.OPERATOR, None, ()),
    "staff1": (RoleName.STAFF, "s1", ()),
    "staff2": (RoleName.STAFF, "s2", ()),
    "family1": (RoleName.FAMILY, None, ("r1",)),
    "family2": (RoleName.FAMILY, None, ("r2",)),
    "operator2": (RoleName.OPERATOR, None, ()),
    "city": (RoleName.CITY, None, ()),
}
# Two districts: st1, st2 and their people (r1, r2, s1–s3) are 东湖区's; st3, s4 and r4 are 北岗区's.
DISTRICTS = {"东湖区": ("st1", "st2"), "北岗区": ("st3",)}
DISTRICT_OF = {"operator": "东湖区", "operator2": "北岗区"}  # desk users bound to a district; others city-wide

# Stage names of dispatch.flow → alert states; staff outcomes → alert outcomes (the composition root's job).
STAGES = {
    "dispatched": AlertState.DISPATCHED,
    "en_route": AlertState.EN_ROUTE,
    "on_site": AlertState.ON_SITE,
    "resolved": AlertState.RESOLVED,
}
OUTCOMES = DISPATCH_OUTCOMES  # dispatch's table: the test wiring maps outcomes as the platform does


@contextmanager
def serve(app: Any) -> Iterator[str]:
    """Serve a dashboard app with uvicorn on a free loopback port for the block; yield its base URL."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started and thread.is_alive():
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


def settings(**overrides: Any) -> DashboardSettings:
    """Build dashboard settings for tests (plain http on loopback)."""
    return DashboardSettings(secret_key=SECRET, cookie_secure=False, **overrides)  # type: ignore[arg-type]


def seed(conn: psycopg.Connection[Any]) -> None:
    """Store two districts, three stations, four staff on shift, three residents with contacts and devices, and
    every account (r4, s4 and st3 are the second district's)."""
    now = datetime.now(UTC)
    add_station(conn, Station("st1", "东湖服务站", Point(31.2300, 121.4700), AreaType.CITY), "东湖路 1 号")
    add_station(conn, Station("st2", "西山服务站", Point(31.3000, 121.3000), AreaType.COUNTRYSIDE))
    add_station(conn, Station("st3", "北岗服务站", Point(31.6000, 121.4700), AreaType.CITY))
    district_ids: dict[str, int] = {}
    for district, stations in DISTRICTS.items():
        row = conn.execute("INSERT INTO districts (name) VALUES (%s) RETURNING id", (district,)).fetchone()
        assert row is not None
        district_ids[district] = row[0]
        conn.execute("UPDATE stations SET district_id = %s WHERE id = ANY(%s)", (row[0], list(stations)))
    staff_members = (("s1", "王护理", "st1"), ("s2", "李护理", "st1"), ("s3", "张社工", "st2"), ("s4", "周护理", "st3"))
    for sid, name, station in staff_members:
        add_staff(conn, sid, name, Role.CAREGIVER, station, phone="13800000000")
        add_shift(conn, sid, now - timedelta(hours=4), now + timedelta(hours=8))
    conn.execute("UPDATE staff SET last_lat = 31.2310, last_lon = 121.4710, last_seen_at = now() WHERE id = 's1'")
    for rid, name, lat in (("r1", "陈奶奶", 31.2320), ("r2", "赵爷爷", 31.2400), ("r4", "钱奶奶", 31.6010)):
        save_resident_profile(
            conn,
            ResidentProfile(
                rid,
                name,
                Point(lat, 121.4720),
                address=f"{name}家",
                categories=("living_alone", "advanced_age"),
                assessment_level=2,
                medical_notes="高血压",
                key_holder="邻居",
            ),
        )
        conn.execute("INSERT INTO devices (id, resident_id, kind) VALUES (%s, %s, 'bracelet')", (f"b-{rid}", rid))
        conn.execute(
            "INSERT INTO emergency_contacts (resident_id, position, relation, name, phone)"
            " VALUES (%s, 1, 'family', %s, '13900000000')",
            (rid, f"{name}的女儿"),
        )
    for username, (role, staff_id, residents) in ACCOUNTS.items():
        contact = (
            conn.execute("SELECT id FROM emergency_contacts WHERE resident_id = ANY(%s)", (list(residents),)).fetchone()
            if residents
            else None
        )
        create_user(
            conn,
            username,
            username.title(),
            PASSWORD_HASH,
            role,
            staff_id=staff_id,
            resident_ids=residents,
            contact_id=contact[0] if contact else None,
            district_id=district_ids[DISTRICT_OF[username]] if username in DISTRICT_OF else None,
        )


class RootedBroker:
    """The real broker (the session's Mosquitto), seen through a topic root of this test's own.

    Tests and the app use the platform's topic names (``anxin/v1/alerts/r1``, ``ec/v1/b-r1/status``);
    on the wire they live under ``{root}/…``, so tests running in parallel never see each other's messages.
    """

    def __init__(self, connection: MqttConnection, root: str) -> None:
        self._connection = connection
        self._root = root
        self.sent: list[tuple[str, bytes]] = []

    @classmethod
    @contextmanager
    def connect(cls, port: int, root: str) -> Iterator[RootedBroker]:
        """Connect to the broker on ``port`` for the duration of the block."""
        connection = MqttConnection(BrokerAddress("127.0.0.1", port), f"dash-{uuid.uuid4().hex[:8]}", persistent=False)
        connection.connect()
        try:
            yield cls(connection, root)
        finally:
            connection.close()

    def subscribe(self, topic_filter: str, on_message: Callable[[str, bytes], None]) -> None:
        cut = len(self._root) + 1
        self._connection.route(f"{self._root}/{topic_filter}", lambda topic, payload: on_message(topic[cut:], payload))

    def unsubscribe(self, topic_filter: str) -> None:
        self._connection.unroute(f"{self._root}/{topic_filter}")

    def publish(self, topic: str, payload: bytes) -> None:
        self.sent.append((topic, payload))
        self._connection.publish(f"{self._root}/{topic}", payload, qos=1)


@dataclass
class Platform:
    """The services a dashboard acts through, over one database."""

    pool: ConnectionPool[Any]
    alerts: AlertService
    flow: DispatchFlow
    told: list[StaffTask] = field(default_factory=list)
    commands: list[tuple[str, DeviceCommand]] = field(default_factory=list)  # asked of bracelets (not sent)

    def actions(self) -> Actions:
        """Bundle the services for `create_app` (bracelet commands kept here; the desk tests send them)."""
        return Actions(
            alerts=self.alerts,
            dispatch=self.flow,
            roster_key=ROSTER_KEY,
            command_device=lambda device, command: self.commands.append((device, command)),
        )

    def raise_alert(self, resident_id: str = "r1", kind: str = "sos") -> int:
        """Raise an alert as a detector would; return its id."""
        finding = Finding(
            kind=kind,
            resident_id=resident_id,
            at=datetime.now(UTC),
            explanation=f"{kind} pressed",
            explanation_zh="紧急呼叫",
            device_id=f"b-{resident_id}",
        )
        (change,) = self.alerts.handle([finding])
        return change.alert_id


def platform(pool: ConnectionPool[Any], publish: Callable[[str, bytes], None], **alert_options: Any) -> Platform:
    """Wire the alert service and the dispatch flow as the composition root does."""
    alerts = AlertService(pool.connection, publish, lambda: datetime.now(UTC), **alert_options)

    def on_stage(
        alert_id: str, stage: str, actor: str, at: datetime, *, note: str = "", outcome: str | None = None
    ) -> None:
        del at
        alerts.transition(
            int(alert_id), STAGES[stage], actor, note=note or None, outcome=OUTCOMES[outcome] if outcome else None
        )

    told: list[StaffTask] = []

    def notify_staff(task: StaffTask) -> bool:
        told.append(task)
        return True

    flow = DispatchFlow(
        pool.connection,
        policy=RankingPolicy(),
        notify_staff=notify_staff,
        on_stage=on_stage,
        publish=publish,
        topic_root=alert_options.get("topic_root", TOPIC_ROOT),
    )
    return Platform(pool, alerts, flow, told)
