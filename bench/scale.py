"""`make bench-scale`: the platform as separate processes under a neighbourhood's message mix, with kills.

`anxin ingest` ×N, `anxin alerts` ×M and `anxin web` run as child processes against a private
PostgreSQL and Mosquitto. Load processes play ``--residents`` homes, each a bracelet (telemetry every
minute) and a hub (a motion event every two minutes, a heartbeat every five), ``--speed`` times faster
than life, so that one resident here stands for ``speed`` residents. Meanwhile residents of their own
press SOS every ``--sos-every`` seconds, each timed from the publish to the ``raised`` message on a
supervisor's console (a WebSocket on `anxin web`). A third of the way in one alert process is SIGKILLed
(it comes back two thirds in), halfway one ingest worker is SIGKILLed and restarted under its own id.
At the end: every SOS alerted once? every acknowledged telemetry message stored? any other alert from
the handovers? The last line is JSON.
"""

from __future__ import annotations

import argparse
import logging
import os
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import paho.mqtt.client as paho
import psycopg
from paho.mqtt.enums import CallbackAPIVersion

from anxin.services import LocalMosquitto, LocalPostgres, free_port
from bench.common import loaders, percentile, report, scratch
from bench.console import Console
from bench.processes import Process
from dashboard.roles import RoleName
from dashboard.security import hash_password
from dashboard.store.users import create_user
from gateway.contract import Channel, MotionEvent, SosEvent, Status, Telemetry, encode, topic
from gateway.registry import Device, DeviceKind
from ingest.database import migrate
from ingest.devices import upsert_devices, upsert_residents

LOG = logging.getLogger("bench.scale")
PREFIX = "ec/v1"
SUPERVISOR = ("bench-supervisor", "bench-supervisor-password")
PER_MINUTE = {"telemetry": 1.0, "motion": 0.5, "status": 0.2}  # one resident's messages per minute of life


def _home(i: int) -> tuple[str, str, str]:
    """Name a load home's resident, bracelet and hub."""
    return f"h{i:05d}", f"h{i:05d}-b", f"h{i:05d}-hub"


def _seed(db_url: str, residents: int, sos: list[str]) -> str:
    """Register the homes, the SOS residents and the supervisor; return the database mode."""
    homes = [_home(i) for i in range(residents)]
    devices = [Device(b, DeviceKind.BRACELET, r) for r, b, _ in homes]
    devices += [Device(h, DeviceKind.HUB, r) for r, _, h in homes]
    devices += [Device(f"{r}-motion", DeviceKind.SENSOR, r, "motion", "living", h) for r, _, h in homes]
    devices += [Device(f"{r}-b", DeviceKind.BRACELET, r) for r in sos]
    with psycopg.connect(db_url) as conn:
        mode = migrate(conn).value
        upsert_residents(conn, [(r, f"Home {r}") for r, _, _ in homes] + [(r, f"SOS {r}") for r in sos])
        upsert_devices(conn, devices)
        create_user(conn, SUPERVISOR[0], "Bench supervisor", hash_password(SUPERVISOR[1]), RoleName.SUPERVISOR)
    return mode


# --- the neighbourhood (separate processes) --------------------------------------------------------------------


def _message(n: int, homes: list[tuple[str, str, str]], kinds: list[str]) -> tuple[str, bytes]:
    """Return the topic and payload of the ``n``-th message of a loader (its sequence number is ``n``)."""
    resident, bracelet, hub = homes[n % len(homes)]
    kind, now = kinds[(n // len(homes)) % len(kinds)], datetime.now(UTC)
    if kind == "telemetry":
        body: Any = Telemetry(seq=n, ts=now, heart_rate=60 + n % 30, spo2=97, battery=90, worn=True, steps=n % 500)
        return topic(bracelet, Channel.TELEMETRY, PREFIX), encode(body)
    if kind == "motion":
        body = MotionEvent(kind="motion", seq=n, ts=now, room="living", sensor_id=f"{resident}-motion")
        return topic(hub, Channel.EVENT, PREFIX), encode(body)
    return topic(hub, Channel.STATUS, PREFIX), encode(Status(seq=n, ts=now, state="online", battery=90))


def _kinds() -> list[str]:
    """Spread the mix over a cycle of 10 slots in proportion to ``PER_MINUTE`` (6 telemetry, 3 motion, 1 status)."""
    total = sum(PER_MINUTE.values())
    slots = {k: max(1, round(10 * v / total)) for k, v in PER_MINUTE.items()}
    return [k for k, n in slots.items() for _ in range(n)]


def _loader(port: int, homes: list[tuple[str, str, str]], rate: float, stop: Any, sent: Any) -> None:
    """Publish the mix with QoS 1 at ``rate`` msg/s until stopped; count what the broker acknowledged."""
    client = paho.Client(CallbackAPIVersion.VERSION2, protocol=paho.MQTTv311)
    client.max_inflight_messages_set(1000)
    client.max_queued_messages_set(0)
    acked = [0]
    client.on_publish = lambda *_a: acked.__setitem__(0, acked[0] + 1)
    client.connect("127.0.0.1", port)
    client.loop_start()
    kinds, t0, n = _kinds(), time.monotonic(), 0
    while not stop.is_set():
        while n < int(rate * (time.monotonic() - t0)):
            client.publish(*_message(n, homes, kinds), qos=1)
            n += 1
        sent.value = acked[0]
        time.sleep(0.01)
    deadline = time.monotonic() + 60
    while acked[0] < n and time.monotonic() < deadline:
        time.sleep(0.05)
    sent.value = acked[0]
    client.disconnect()
    client.loop_stop()


@contextmanager
def _neighbourhood(port: int, residents: int, rate: float, procs: int) -> Iterator[Callable[[], int]]:
    """Run the loaders; yield a function giving the number of messages the broker acknowledged."""
    homes = [_home(i) for i in range(residents)]
    with loaders(_loader, [(port, homes[p::procs], rate / procs) for p in range(procs)], join_s=120) as acked:
        yield acked


# --- the operators' side ---------------------------------------------------------------------------------------


def _processes(args: argparse.Namespace, env: dict[str, str], logs: Path, http_port: int) -> dict[str, Process]:
    made = {
        f"ingest-{n}": Process(
            f"ingest-{n}", ["ingest", "--client-id", f"ingest-{n}"], env, logs / f"ingest-{n}.log", "subscribed to"
        )
        for n in range(1, args.ingest + 1)
    }
    for n in range(1, args.alerts + 1):
        made[f"alerts-{n}"] = Process(
            f"alerts-{n}", ["alerts"], {**env, "ANXIN_ALERTS_ID": f"alerts-{n}"}, logs / f"alerts-{n}.log", "running"
        )
    made["web"] = Process("web", ["web"], {**env, "ANXIN_HTTP_PORT": str(http_port)}, logs / "web.log", "running")
    return made


def _kill_plan(args: argparse.Namespace) -> list[tuple[float, str, str]]:
    """When (share of the run) to do what to which process."""
    plan = []
    if args.alerts > 1:
        plan += [(1 / 3, "kill", "alerts-2"), (2 / 3, "start", "alerts-2")]
    if args.ingest > 1:
        plan += [(1 / 2, "kill", "ingest-2"), (1 / 2 + 5 / args.duration, "start", "ingest-2")]
    return sorted(plan)


def _run(
    args: argparse.Namespace, port: int, running: dict[str, Process], sos: list[str]
) -> tuple[dict[str, float], list[dict[str, Any]], int, float]:
    """Play the neighbourhood, press SOS, kill and restart; return publish times, kills, messages acked, rate."""
    rate = args.residents * args.speed * sum(PER_MINUTE.values()) / 60
    presser = Presser(port)
    published: dict[str, float] = {}
    kills: list[dict[str, Any]] = []
    plan, t0 = _kill_plan(args), time.monotonic()
    with _neighbourhood(port, args.residents, rate, args.load_procs) as acked:
        next_sos = 0
        while (elapsed := time.monotonic() - t0) < args.duration:
            while plan and elapsed >= plan[0][0] * args.duration:
                _, what, name = plan.pop(0)
                getattr(running[name], "kill" if what == "kill" else "start")()
                kills.append({"at_s": round(elapsed, 1), "what": what, "process": name})
            if next_sos < len(sos) and elapsed >= next_sos * args.sos_every:
                published[sos[next_sos]] = presser.press(f"{sos[next_sos]}-b")
                next_sos += 1
            presser.resend()
            time.sleep(0.02)
        deadline = time.monotonic() + 30
        while presser.pending and time.monotonic() < deadline:
            presser.resend()
            time.sleep(0.05)
    presser.close()
    return published, kills, acked(), rate


class Presser:
    """Bracelets pressing SOS as the device contract says: resent (same seq and time) until the ``ack`` arrives."""

    RESEND_S = 3.0

    def __init__(self, port: int) -> None:
        self.pending: dict[str, tuple[bytes, float]] = {}  # device → (payload, last sent)
        self._lock = threading.Lock()
        self._client = paho.Client(CallbackAPIVersion.VERSION2, client_id=f"bench-sos-{uuid.uuid4().hex[:6]}")
        self._client.on_message = lambda _c, _u, m: self._acked(m.topic)
        self._client.connect("127.0.0.1", port)
        self._client.subscribe(f"{PREFIX}/+/{Channel.CMD.value}", qos=1)
        self._client.loop_start()

    def press(self, device: str) -> float:
        """Publish an SOS; return when (wall clock)."""
        payload = encode(SosEvent(kind="sos", seq=1, ts=datetime.now(UTC)))
        with self._lock:
            self.pending[device] = (payload, time.monotonic())
        self._client.publish(topic(device, Channel.EVENT, PREFIX), payload, qos=1)
        return time.time()

    def resend(self) -> None:
        """Send again each SOS unconfirmed for a few seconds (a live ingest worker takes the copy)."""
        now = time.monotonic()
        with self._lock:
            due = [(d, p) for d, (p, at) in self.pending.items() if now - at >= self.RESEND_S]
            for device, payload in due:
                self.pending[device] = (payload, now)
        for device, payload in due:
            self._client.publish(topic(device, Channel.EVENT, PREFIX), payload, qos=1)

    def _acked(self, cmd_topic: str) -> None:
        with self._lock:
            self.pending.pop(cmd_topic.split("/")[-2], None)

    def close(self) -> None:
        """Disconnect."""
        self._client.disconnect()
        self._client.loop_stop()


def _env(db_url: str, mqtt_url: str, data: Path) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": db_url,
        "MQTT_URL": mqtt_url,
        "ANXIN_DATA_DIR": str(data),
        "ANXIN_SECRET_KEY": "k" * 40,
        "ANXIN_WEBHOOK_SECRET": "w" * 40,
        "ANXIN_REPLY_SECRET": "r" * 40,
    }


def _figures(db_url: str, sent: int) -> dict[str, int]:
    """Count what the database holds: telemetry and hub messages stored, SOS alerts, and any other alert."""
    with psycopg.connect(db_url) as conn:
        row = conn.execute(
            "SELECT (SELECT count(*) FROM telemetry) + (SELECT count(*) FROM events WHERE kind = 'motion')"
            " + (SELECT count(*) FROM device_status)"
        ).fetchone()
        stored = int(row[0]) if row else 0
        per = conn.execute("SELECT resident_id, count(*) FROM alerts WHERE kind = 'sos' GROUP BY 1").fetchall()
        others = conn.execute("SELECT count(*) FROM alerts WHERE kind <> 'sos'").fetchone()
    return {
        "stored": stored,
        "lost": max(0, sent - stored),
        "sos_alerted": len(per),
        "duplicated": sum(int(n) - 1 for _, n in per),
        "handover_false_alerts": int(others[0]) if others else 0,
    }


def main(argv: list[str] | None = None) -> None:
    """Run the benchmark and print its figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--residents", type=int, default=1500)
    parser.add_argument(
        "--speed", type=float, default=10.0, help="times faster than life (a resident stands for this many)"
    )
    parser.add_argument("--duration", type=float, default=90.0, help="seconds of load")
    parser.add_argument("--ingest", type=int, default=2)
    parser.add_argument("--alerts", type=int, default=2)
    parser.add_argument("--sos-every", type=float, default=1.0)
    parser.add_argument("--load-procs", type=int, default=1)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    sos = [f"sos{i:04d}" for i in range(int(args.duration / args.sos_every))]
    with (
        scratch("anxin-bench-scale-") as root,
        LocalPostgres(root / "pg", durable=False) as pg,
        LocalMosquitto(root / "mq") as mq,
    ):
        mode = _seed(pg.url(), args.residents, sos)
        http_port = free_port()
        running = _processes(args, _env(pg.url(), mq.url, root), root, http_port)
        try:
            for process in running.values():
                process.start()
            console = Console(f"http://127.0.0.1:{http_port}", *SUPERVISOR)
            published, kills, sent, rate = _run(args, mq.port, running, sos)
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and any(console.arrived(r) is None for r in published):
                time.sleep(0.1)
            time.sleep(3)
            figures = _figures(pg.url(), sent)
            console_closed = console.closed  # by the web process during the run (it should not be)
            console.close()
        finally:
            for process in running.values():
                process.stop()
    arrived = {r: a for r in published if (a := console.arrived(r)) is not None}
    latencies = [(arrived[r] - t) * 1000 for r, t in published.items() if r in arrived]
    start = min(published.values(), default=0.0)
    slow = [  # when (into the run) each SOS slower than a second was pressed, and how slow it was
        [round(t - start, 1), round((arrived[r] - t) * 1000)]
        for r, t in published.items()
        if r in arrived and arrived[r] - t > 1.0
    ]
    report(
        {
            "bench": "scale",
            "db_mode": mode,
            "ingest_workers": args.ingest,
            "alert_workers": args.alerts,
            "web": 1,
            "residents": int(args.residents * args.speed),
            "msg_s": round(rate, 1),
            "sos_sent": len(published),
            "sos_on_console": len(latencies),
            "console_closed": console_closed,
            **figures,
            "sos_p50_ms": percentile(latencies, 0.5),
            "sos_p99_ms": percentile(latencies, 0.99),
            "sos_over_1s": slow,
            "kills": kills,
            "residents_per_core": round(args.residents * args.speed / (os.cpu_count() or 1)),
        }
    )


if __name__ == "__main__":
    main()
