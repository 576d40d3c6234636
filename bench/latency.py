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
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import multiprocessing as mp
import os
import signal
import statistics
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import paho.mqtt.client as paho
import psycopg
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from anxin.services import LocalMosquitto, LocalPostgres, free_port
from anxin.settings import Settings
from bench.common import report, scratch
from bench.console import Console
from bench.processes import Process
from dashboard.roles import RoleName
from dashboard.security import hash_password
from dashboard.store.users import create_user
from gateway.contract import Channel, SosEvent, Telemetry, encode, topic
from gateway.registry import Device, DeviceKind
from ingest.database import migrate
from ingest.devices import upsert_devices, upsert_residents

LOG = logging.getLogger("bench.latency")
PREFIX = "ec/v1"
INGEST_ID = "bench-latency-ingest"
GROUP = "ingest"
OPERATOR = ("bench-operator", "bench-operator-password")
SECRETS = {"secret_key": "k", "webhook_secret": "w", "reply_secret": "r"}


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
) -> Iterator[Any]:
    """Run the loader in ``procs`` processes; yield a function giving the number published so far."""
    ctx = mp.get_context("spawn")
    stop = ctx.Event()
    counters = [ctx.Value("q", 0) for _ in range(procs)]
    workers = [
        ctx.Process(
            target=_loader,
            daemon=True,
            args=(
                port,
                devices[p::procs],
                rate / procs,
                count // procs + (p < count % procs),
                seq_base,
                connections,
                stop,
                counters[p],
            ),
        )
        for p in range(procs)
    ]
    for worker in workers:
        worker.start()
    try:
        yield lambda: sum(c.value for c in counters)
    finally:
        if rate > 0:
            stop.set()  # a backlog (``count``) is published in full
        for worker in workers:
            worker.join(300)


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


def _sos_client(port: int) -> paho.Client:
    client = paho.Client(
        CallbackAPIVersion.VERSION2, client_id=f"bench-sos-{uuid.uuid4().hex[:6]}", protocol=paho.MQTTv311
    )
    client.connect("127.0.0.1", port)
    client.loop_start()
    return client


def _run_level(
    args: argparse.Namespace,
    port: int,
    devices: list[str],
    console: Console,
    residents: list[str],
    rate: float,
    seq_base: int,
) -> tuple[dict[str, float], float]:
    """Publish SOS events under ``rate`` msg/s of telemetry; return publish times by resident and the load achieved."""
    published: dict[str, float] = {}
    sos = _sos_client(port)
    with (
        _load(port, devices, rate=rate, seq_base=seq_base, procs=args.load_procs, connections=args.connections)
        if rate > 0
        else contextlib.nullcontext(lambda: 0) as sent
    ):
        time.sleep(args.warmup if rate > 0 else 0.5)
        t0, n0 = time.monotonic(), sent()
        for resident in residents:
            body = encode(SosEvent(kind="sos", seq=1, ts=datetime.now(UTC)))
            published[resident] = time.time()
            sos.publish(topic(f"{resident}-b", Channel.EVENT, PREFIX), body, qos=1)
            time.sleep(args.spacing)
        achieved = (sent() - n0) / (time.monotonic() - t0)
        deadline = time.monotonic() + args.timeout
        while time.monotonic() < deadline and any(console.arrived(r) is None for r in residents):
            time.sleep(0.05)
    sos.disconnect()
    sos.loop_stop()
    return published, achieved


def _percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, max(0, round(q * len(ordered)) - 1))], 1)


def _stages(db_url: str, published: dict[str, float], console: Console) -> dict[str, float | None]:
    """Split the median latency: publish → ingest received it → alert service took it → console got it."""
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
    return {k: round(statistics.median(v), 1) if v else None for k, v in parts.items()}


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
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    levels = [int(x) for x in args.levels.split(",")]
    residents = {level: [f"sos{level:03d}-{k:03d}" for k in range(args.sos)] for level in levels}
    with scratch("anxin-bench-") as root, LocalPostgres(root / "pg") as pg, LocalMosquitto(root / "mq") as mq:
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
        with _platform(env, args.in_process, args.split) as base:
            if watch is not None:
                capacity = watch.rate()
                print(f"ingest capacity (drain through ingest and detection): {capacity:,.0f} msg/s", flush=True)
            console = Console(base, *OPERATOR)
            figures: dict[str, dict[str, Any]] = {"p50_ms": {}, "p99_ms": {}, "load_msg_s": {}, "stages_p50_ms": {}}
            lost = 0
            for i, level in enumerate(levels):
                published, achieved = _run_level(
                    args,
                    mq.port,
                    devices,
                    console,
                    residents[level],
                    capacity * level / 100,
                    seq_base=(i + 1) * 10_000_000,
                )
                times = [1000 * (a - t) for r, t in published.items() if (a := console.arrived(r)) is not None]
                lost += len(published) - sum(t <= 1000 * args.timeout for t in times)  # late counts as lost
                key = str(level)
                figures["p50_ms"][key], figures["p99_ms"][key] = _percentile(times, 0.5), _percentile(times, 0.99)
                figures["load_msg_s"][key] = round(achieved)
                figures["stages_p50_ms"][key] = _stages(db_url, published, console)
                print(
                    f"load {level}% ({achieved:,.0f} msg/s): p50 {figures['p50_ms'][key]} ms, "
                    f"p99 {figures['p99_ms'][key]} ms, max {max(times, default=0):.0f} ms, "
                    f"stages {figures['stages_p50_ms'][key]}, load avg {os.getloadavg()[0]:.1f}",
                    flush=True,
                )
            console.close()
    report(
        {
            "bench": "latency",
            **figures,
            "lost": lost,
            "sos_per_level": args.sos,
            "capacity_msg_s": round(capacity),
            "platform": "split" if args.split else "in-process" if args.in_process else "subprocess",
            "db_mode": mode,
        }
    )


if __name__ == "__main__":
    main()
