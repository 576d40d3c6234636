"""`make bench-latency`: an SOS pressed on a bracelet → the alert on an operator's console, under telemetry load.

The platform runs as in production — `anxin run --no-simulation` in a process of its own, against a
private PostgreSQL and Mosquitto — so that the load generator and the console client do not share its
GIL (``--in-process`` runs it here instead, with `start_platform`). First the ingest capacity is measured
(or given): a telemetry backlog queued for ingest's persistent session while the platform is down is
drained through ingest and detection. Then, at each load level (a share of that capacity, published
with QoS 1 by separate processes over several connections), SOS events are published, one per resident,
and each is timed from publish to the ``raised`` message of its alert arriving on the console's
WebSocket. Stage medians split that time using the stored ``received_at`` of the SOS and the alert
service's clock in the message: broker → ingest, ingest → alert service, alert service → console.

``--protocol watch`` (or ``both``) presses the SOS as a bracelet that speaks the watch protocol: an ``AL``
frame over TCP to `anxin gateway watch` (run here, on its own thread), which publishes it as the bracelet;
the time runs from the frame's sending to the console. Its figures are under ``"watch"`` in the JSON line.
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import httpx
import paho.mqtt.client as paho
import psycopg
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from anxin.commands.common import dead_letter_writer
from anxin.services import LocalMosquitto, LocalPostgres, free_port
from anxin.settings import Settings
from bench.common import loaders, percentile, report, scratch
from bench.console import Console
from bench.processes import Process
from dashboard.roles import RoleName
from dashboard.security import hash_password
from dashboard.store.users import create_user
from gateway.contract import Channel, SosEvent, Telemetry, encode, topic
from gateway.mqtt import BrokerAddress
from gateway.registry import Device, DeviceKind
from gateway.watch import encode_frame
from gateway.watch_server import WatchGateway, mqtt_links, serving
from ingest.database import migrate
from ingest.devices import upsert_devices, upsert_residents

LOG = logging.getLogger("bench.latency")
PREFIX = "ec/v1"
INGEST_ID = "bench-latency-ingest"
GROUP = "ingest"
OPERATOR = ("bench-operator", "bench-operator-password")
SECRETS = {"secret_key": "k", "webhook_secret": "w", "reply_secret": "r"}
WATCH_ZONE = timezone(timedelta(hours=8))  # the bracelets' clocks, as the watch gateway reads them by default


# --- the load generator (a separate process) ----------------------------------------------------------------


def _loader(
    port: int, devices: list[str], rate: float, count: int, seq_base: int, connections: int, stop: Any, sent: Any
) -> None:
    """Publish telemetry with QoS 1 over several connections: ``rate`` msg/s until stopped, or ``count`` at once."""
    clients = []
    for _ in range(connections):
        client = paho.Client(CallbackAPIVersion.VERSION2, protocol=paho.MQTTv311)
        client.max_inflight_messages_set(1000)
        client.max_queued_messages_set(0)
        client.connect("127.0.0.1", port)
        client.loop_start()
        clients.append(client)
    t0 = time.monotonic()
    n = 0
    last: dict[int, paho.MQTTMessageInfo] = {}
    while not stop.is_set() and (rate > 0 or n < count):
        due = count if rate <= 0 else int(rate * (time.monotonic() - t0))
        while n < due:
            device = devices[n % len(devices)]
            body = Telemetry(
                seq=seq_base + n // len(devices),
                ts=datetime.now(UTC),
                heart_rate=60 + n % 30,
                spo2=96 + n % 3,
                steps=n,
                battery=90,
                worn=True,
                skin_temp_c=33.0,
            )
            last[n % connections] = clients[n % connections].publish(
                topic(device, Channel.TELEMETRY, PREFIX), encode(body), qos=1
            )
            n += 1
        with sent.get_lock():
            sent.value = n
        time.sleep(0.01)
    for info in last.values():  # each connection's last message acknowledged: all of its earlier ones are
        with contextlib.suppress(RuntimeError, ValueError):
            info.wait_for_publish(60)
    for client in clients:
        client.disconnect()
        client.loop_stop()


@contextmanager
def _load(
    port: int,
    devices: list[str],
    *,
    rate: float = 0.0,
    count: int = 0,
    seq_base: int = 0,
    procs: int = 2,
    connections: int = 2,
) -> Iterator[Callable[[], int]]:
    """Run the loader in ``procs`` processes; yield a function giving the number published so far."""
    shares = [
        (port, devices[p::procs], rate / procs, count // procs + (p < count % procs), seq_base, connections)
        for p in range(procs)
    ]
    with loaders(_loader, shares, stop_at_exit=rate > 0) as sent:  # a backlog (``count``) is published in full
        yield sent


# --- the platform under test -----------------------------------------------------------------------------


def _environment(db_url: str, mqtt_url: str, http_port: int, data: Path) -> dict[str, str]:
    """Describe the platform's settings as the environment `anxin run` reads."""
    env = {
        "DATABASE_URL": db_url,
        "MQTT_URL": mqtt_url,
        "ANXIN_HTTP_PORT": str(http_port),
        "ANXIN_DATA_DIR": str(data),
        "ANXIN_TOPIC_PREFIX": PREFIX,
        "ANXIN_INGEST_CLIENT_ID": INGEST_ID,
        "ANXIN_INGEST_GROUP": GROUP,
    }
    return env | {f"ANXIN_{k.upper()}": (v * 48) for k, v in SECRETS.items()}


@contextmanager
def _split(env: dict[str, str], logs: Path) -> Iterator[str]:
    """Run `anxin ingest`, `anxin alerts` and `anxin web` as three processes; yield the console's base URL."""
    logs.mkdir(parents=True, exist_ok=True)
    full = os.environ | env
    jobs = [
        Process("ingest", ["ingest", "--client-id", INGEST_ID], full, logs / "ingest.log", "subscribed to"),
        Process("alerts", ["alerts"], full, logs / "alerts.log", "running"),
        Process("web", ["web"], full, logs / "web.log", "running"),
    ]
    try:
        for job in jobs:
            job.start()
        yield f"http://127.0.0.1:{env['ANXIN_HTTP_PORT']}"
    finally:
        for job in reversed(jobs):
            job.stop()


@contextmanager
def _platform(env: dict[str, str], in_process: bool, split: bool = False) -> Iterator[str]:
    """Run the whole platform (in a child process, three of them, or here); yield the console's base URL."""
    base = f"http://127.0.0.1:{env['ANXIN_HTTP_PORT']}"
    if split:
        with _split(env, Path(env["ANXIN_DATA_DIR"]) / "logs") as url:
            yield url
        return
    if in_process:
        from anxin.platform import start_platform  # noqa: PLC0415 - only this mode imports the platform

        settings = Settings.model_validate({k.removeprefix("ANXIN_").lower(): v for k, v in env.items()})
        with start_platform(settings) as running:
            assert running.dashboard_url is not None
            yield base
        return
    child = subprocess.Popen(
        [sys.executable, "-m", "anxin.cli", "--log-level", "WARNING", "run", "--no-simulation"], env=os.environ | env
    )
    try:
        _wait_http(base, child)
        yield base
    finally:
        child.send_signal(signal.SIGTERM)
        try:
            child.wait(30)
        except subprocess.TimeoutExpired:
            child.kill()


def _wait_http(base: str, child: subprocess.Popen[bytes], timeout: float = 60.0) -> None:
    """Wait until the console answers (a 401 from /api/auth/me is an answer)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if child.poll() is not None:
            raise RuntimeError(f"the platform exited with {child.returncode}")
        with contextlib.suppress(httpx.HTTPError):
            httpx.get(f"{base}/api/auth/me", timeout=2)
            return
        time.sleep(0.2)
    raise RuntimeError("the platform's console did not answer")


# --- the measurements ------------------------------------------------------------------------------------


def _seed(db_url: str, load_devices: int, sos_residents: list[str]) -> tuple[str, list[str]]:
    """Register load and SOS residents with bracelets and the operator; return the database mode and load devices."""
    devices = [f"load{i:05d}" for i in range(load_devices)]
    with psycopg.connect(db_url) as conn:
        mode = migrate(conn).value
        upsert_residents(
            conn, [(f"lr{i:05d}", f"Load {i}") for i in range(load_devices)] + [(r, f"SOS {r}") for r in sos_residents]
        )
        upsert_devices(
            conn,
            [Device(d, DeviceKind.BRACELET, f"lr{i:05d}") for i, d in enumerate(devices)]
            + [Device(f"{r}-b", DeviceKind.BRACELET, r) for r in sos_residents],
        )
        create_user(conn, OPERATOR[0], "Bench operator", hash_password(OPERATOR[1]), RoleName.OPERATOR)
    return mode, devices


def _ingest_session(port: int) -> None:
    """Create ingest's persistent session (its telemetry subscription) so that a backlog queues for it."""
    client = paho.Client(CallbackAPIVersion.VERSION2, client_id=INGEST_ID, protocol=paho.MQTTv5)
    props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
    props.SessionExpiryInterval = 3600
    done = threading.Event()
    client.on_subscribe = lambda *_: done.set()
    client.connect("127.0.0.1", port, clean_start=False, properties=props)
    client.loop_start()
    client.subscribe(f"$share/{GROUP}/{PREFIX}/+/telemetry", qos=1)  # the backlog is telemetry only
    done.wait(10)
    client.disconnect()
    client.loop_stop()


def _stored(db_url: str) -> int:
    with psycopg.connect(db_url) as conn:
        row = conn.execute("SELECT count(*) FROM telemetry").fetchone()
    return int(row[0]) if row else 0


class DrainWatch:
    """Sample the stored telemetry count on a thread while a queued backlog drains; give the rate in between."""

    def __init__(self, db_url: str, n: int, timeout: float = 300.0) -> None:
        self._db_url, self._n, self._timeout = db_url, n, timeout
        self.samples: list[tuple[float, int]] = []
        self._thread = threading.Thread(target=self._watch, name="drain-watch", daemon=True)
        self._thread.start()

    def _watch(self) -> None:
        deadline = time.monotonic() + self._timeout
        changed = time.monotonic()
        while time.monotonic() < deadline and (not self.samples or self.samples[-1][1] < self._n):
            with contextlib.suppress(psycopg.Error):
                count = _stored(self._db_url)
                if self.samples and count != self.samples[-1][1]:
                    changed = time.monotonic()
                elif count and time.monotonic() - changed > 5:
                    return  # stalled short of the backlog (messages lost): rate what was drained
                self.samples.append((time.monotonic(), count))
            time.sleep(0.05)

    def rate(self) -> float:
        """Wait for the drain; return msg/s between the first samples past 10 % and 90 % of what was stored."""
        self._thread.join()
        total = self.samples[-1][1] if self.samples else 0
        at10 = next((s for s in self.samples if s[1] >= 0.1 * total), None)
        at90 = next((s for s in self.samples if s[1] >= 0.9 * total), None)
        if not total or at10 is None or at90 is None or at90[0] <= at10[0]:
            raise RuntimeError(f"the backlog drained too fast or not at all ({self.samples[-3:]}): raise --backlog")
        if total < self._n:
            LOG.warning("only %d of the %d queued messages were stored", total, self._n)
        return (at90[1] - at10[1]) / (at90[0] - at10[0])


class MqttPresser:
    """Press SOS as bracelets on MQTT do: one QoS 1 publish on the bracelet's event topic."""

    def __init__(self, port: int, _residents: list[str]) -> None:
        self._client = paho.Client(
            CallbackAPIVersion.VERSION2, client_id=f"bench-sos-{uuid.uuid4().hex[:6]}", protocol=paho.MQTTv311
        )
        self._client.connect("127.0.0.1", port)
        self._client.loop_start()

    def press(self, resident: str) -> None:
        """Publish the resident's bracelet's SOS."""
        body = encode(SosEvent(kind="sos", seq=1, ts=datetime.now(UTC)))
        self._client.publish(topic(f"{resident}-b", Channel.EVENT, PREFIX), body, qos=1)

    def close(self) -> None:
        """Disconnect."""
        self._client.disconnect()
        self._client.loop_stop()


class WatchPresser:
    """Press SOS as watch-protocol bracelets do: an ``AL`` frame over each bracelet's TCP connection to the gateway.

    Each bracelet connects and says ``LK`` first (the gateway signs it in to the broker), so the timing holds
    only the alarm's way, as for a bracelet that has been online all along.
    """

    def __init__(self, port: int, residents: list[str]) -> None:
        self._socks = {r: socket.create_connection(("127.0.0.1", port), timeout=30) for r in residents}
        for resident, sock in self._socks.items():
            sock.sendall(encode_frame("3G", f"{resident}-b", "LK,0,0,90"))
        for sock in self._socks.values():
            answer = b""
            while b"LK]" not in answer:
                chunk = sock.recv(256)
                if not chunk:
                    raise RuntimeError("the watch gateway closed a bracelet's connection")
                answer += chunk

    def press(self, resident: str) -> None:
        """Send the resident's bracelet's alarm with the SOS bit, its clock on Beijing time."""
        when = datetime.now(UTC).astimezone(WATCH_ZONE).strftime("%d%m%y,%H%M%S")
        alarm = f"AL,{when},V,0.0,N,0.0,E,0.00,0.0,0.0,0,80,90,0,0,00010000,1,1,460,0,9360,4082,131"
        self._socks[resident].sendall(encode_frame("3G", f"{resident}-b", alarm))

    def close(self) -> None:
        """Hang up."""
        for sock in self._socks.values():
            sock.close()


PRESSERS: dict[str, Callable[[int, list[str]], MqttPresser | WatchPresser]] = {
    "mqtt": MqttPresser,
    "watch": WatchPresser,
}


def _run_level(
    args: argparse.Namespace,
    port: int,
    devices: list[str],
    console: Console,
    residents: list[str],
    rate: float,
    seq_base: int,
    presser: MqttPresser | WatchPresser,
) -> tuple[dict[str, float], float]:
    """Press SOS under ``rate`` msg/s of telemetry; return press times by resident and the load achieved."""
    published: dict[str, float] = {}
    with (
        _load(port, devices, rate=rate, seq_base=seq_base, procs=args.load_procs, connections=args.connections)
        if rate > 0
        else contextlib.nullcontext(lambda: 0) as sent
    ):
        time.sleep(args.warmup if rate > 0 else 0.5)
        t0, n0 = time.monotonic(), sent()
        for resident in residents:
            published[resident] = time.time()
            presser.press(resident)
            time.sleep(args.spacing)
        achieved = (sent() - n0) / (time.monotonic() - t0)
        deadline = time.monotonic() + args.timeout
        while time.monotonic() < deadline and any(console.arrived(r) is None for r in residents):
            time.sleep(0.05)
    presser.close()
    return published, achieved


def _stages(db_url: str, published: dict[str, float], console: Console) -> dict[str, list[float]]:
    """Split each SOS's latency: publish → ingest received it → alert service took it → console got it."""
    with psycopg.connect(db_url) as conn:
        rows = conn.execute("SELECT device_id, received_at FROM events WHERE kind = 'sos'").fetchall()
    received = {device.removesuffix("-b"): at.timestamp() for device, at in rows}
    parts: dict[str, list[float]] = {"to_ingest": [], "to_alert": [], "to_console": []}
    for resident, t_pub in published.items():
        if (resident, "sos") not in console.raised or resident not in received:
            continue
        arrival, alert_at = console.raised[(resident, "sos")]
        parts["to_ingest"].append(1000 * (received[resident] - t_pub))
        parts["to_alert"].append(1000 * (alert_at.timestamp() - received[resident]))
        parts["to_console"].append(1000 * (arrival - alert_at.timestamp()))
    return parts


def main(argv: list[str] | None = None) -> None:
    """Run the benchmark and print its JSON line."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sos", type=int, default=30, help="SOS events per load level")
    parser.add_argument("--levels", default="0,25,50", help="load levels, %% of the ingest capacity")
    parser.add_argument("--capacity", type=float, default=None, help="ingest capacity, msg/s (default: measure)")
    parser.add_argument("--backlog", type=int, default=40_000, help="messages drained to measure the capacity")
    parser.add_argument("--devices", type=int, default=500, help="bracelets sending the background telemetry")
    parser.add_argument("--spacing", type=float, default=0.5, help="seconds between SOS events")
    parser.add_argument("--warmup", type=float, default=3.0, help="seconds of load before the first SOS")
    parser.add_argument("--timeout", type=float, default=10.0, help="seconds after which an SOS counts as lost")
    parser.add_argument("--load-procs", type=int, default=2)
    parser.add_argument("--connections", type=int, default=2, help="MQTT connections per load process")
    parser.add_argument("--in-process", action="store_true", help="run the platform in this process")
    parser.add_argument("--split", action="store_true", help="anxin ingest, alerts and web as three processes")
    parser.add_argument("--protocol", choices=("mqtt", "watch", "both"), default="mqtt", help="how bracelets press SOS")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    levels = [int(x) for x in args.levels.split(",")]
    protocols = ["mqtt", "watch"] if args.protocol == "both" else [args.protocol]
    tag = {"mqtt": "", "watch": "w"}
    residents = {
        (p, level): [f"{tag[p]}sos{level:03d}-{k:03d}" for k in range(args.sos)] for p in protocols for level in levels
    }
    with (
        scratch("anxin-bench-") as root,
        LocalPostgres(root / "pg") as pg,
        LocalMosquitto(root / "mq") as mq,
        contextlib.ExitStack() as stack,
    ):
        db_url = pg.url()
        mode, devices = _seed(db_url, args.devices, [r for rs in residents.values() for r in rs])
        capacity = args.capacity
        if capacity is None:
            _ingest_session(mq.port)
            with _load(mq.port, devices, count=args.backlog, procs=args.load_procs, connections=args.connections):
                pass
            print(f"queued a backlog of {args.backlog} telemetry messages", flush=True)
        env = _environment(db_url, mq.url, free_port(), root / "data")
        watch = DrainWatch(db_url, args.backlog) if capacity is None else None
        ports = {"mqtt": mq.port}
        if "watch" in protocols:
            bracelets = {f"{r}-b": "-" for (p, _), rs in residents.items() if p == "watch" for r in rs}
            links = mqtt_links(BrokerAddress.from_url(mq.url), bracelets, PREFIX)
            ports["watch"] = stack.enter_context(serving(WatchGateway(links, bracelets, dead_letter_writer(db_url))))
        with _platform(env, args.in_process, args.split) as base:
            if watch is not None:
                capacity = watch.rate()
                print(f"ingest capacity (drain through ingest and detection): {capacity:,.0f} msg/s", flush=True)
            console = Console(base, *OPERATOR)
            results = {p: _Figures() for p in protocols}
            for run, (level, protocol) in enumerate(itertools.product(levels, protocols), start=1):
                presser = PRESSERS[protocol](ports[protocol], residents[(protocol, level)])
                published, achieved = _run_level(
                    args,
                    mq.port,
                    devices,
                    console,
                    residents[(protocol, level)],
                    capacity * level / 100,
                    seq_base=run * 10_000_000,
                    presser=presser,
                )
                results[protocol].add(str(level), published, achieved, console, db_url, args.timeout)
                print(f"{protocol} {results[protocol].line(str(level), level)}", flush=True)
            console.close()
    mqtt = results.get("mqtt", _Figures())
    report(
        {
            "bench": "latency",
            **mqtt.as_json(),
            **({"watch": results["watch"].as_json()} if "watch" in results else {}),
            "sos_per_level": args.sos,
            "capacity_msg_s": round(capacity),
            "platform": "split" if args.split else "in-process" if args.in_process else "subprocess",
            "db_mode": mode,
        }
    )


@dataclass
class _Figures:
    """One protocol's figures: latency percentiles, load and stage medians by load level, SOS lost."""

    p50_ms: dict[str, float | None] = field(default_factory=dict)
    p99_ms: dict[str, float | None] = field(default_factory=dict)
    load_msg_s: dict[str, int] = field(default_factory=dict)
    stages_p50_ms: dict[str, dict[str, float | None]] = field(default_factory=dict)
    stages_p99_ms: dict[str, dict[str, float | None]] = field(default_factory=dict)
    lost: int = 0
    slowest_ms: dict[str, float] = field(default_factory=dict)

    def add(
        self, key: str, published: dict[str, float], achieved: float, console: Console, db_url: str, timeout: float
    ) -> None:
        """Record one level's SOS: from press to the console, late ones counted as lost."""
        times = [1000 * (a - t) for r, t in published.items() if (a := console.arrived(r)) is not None]
        self.lost += len(published) - sum(t <= 1000 * timeout for t in times)
        self.p50_ms[key], self.p99_ms[key] = percentile(times, 0.5), percentile(times, 0.99)
        self.load_msg_s[key] = round(achieved)
        stages = _stages(db_url, published, console)
        self.stages_p50_ms[key] = {k: percentile(v, 0.5) for k, v in stages.items()}
        self.stages_p99_ms[key] = {k: percentile(v, 0.99) for k, v in stages.items()}
        self.slowest_ms[key] = round(max(times, default=0))

    def line(self, key: str, level: int) -> str:
        """Say one level's figures in a line."""
        return (
            f"load {level}% ({self.load_msg_s[key]:,} msg/s): p50 {self.p50_ms[key]} ms, p99 {self.p99_ms[key]} ms,"
            f" max {self.slowest_ms[key]:.0f} ms, stages p50 {self.stages_p50_ms[key]} p99 {self.stages_p99_ms[key]},"
            f" load avg {os.getloadavg()[0]:.1f}"
        )

    def as_json(self) -> dict[str, Any]:
        """Return the figures as the JSON line has them."""
        return {
            "p50_ms": self.p50_ms,
            "p99_ms": self.p99_ms,
            "load_msg_s": self.load_msg_s,
            "stages_p50_ms": self.stages_p50_ms,
            "stages_p99_ms": self.stages_p99_ms,
            "lost": self.lost,
        }


if __name__ == "__main__":
    main()
