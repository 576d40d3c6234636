"""The platform as separate processes, each killed at any moment: 3 `anxin ingest`, 2 `anxin alerts`, 2 `anxin web`.

On a real Mosquitto and PostgreSQL, under telemetry load from simulated bracelets, one process of each
kind is SIGKILLed mid-run while residents press SOS and fall, then one of each is started again (the
ingest worker under its own client id, so that the share of the shared subscription that Mosquitto
kept in its session is delivered). Every SOS and fall is alerted exactly once, no other alert comes
from the handover, and every open console receives every alert change: the one that never went away
all of them, the one started again those raised after it came back.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
import pytest

from anxin.services import LocalMosquitto, free_port
from bench.console import Console
from bench.processes import Process
from ingest.database import migrate
from tests.dashboard.world import PASSWORD, SECRET, seed
from tests.ingest.harness import register_fleet
from tests.reliability.helpers import Load, fleet, scalar, wait_for

RESIDENTS = 18
pytestmark = pytest.mark.xdist_group("processes")  # seven processes: not beside another heavy test


@contextmanager
def _processes(env: dict[str, str], logs: Path) -> Iterator[dict[str, Process]]:
    web_ports = {name: free_port() for name in ("web-1", "web-2")}
    made: dict[str, Process] = {}
    for n in (1, 2, 3):
        made[f"ingest-{n}"] = Process(
            f"ingest-{n}", ["ingest", "--client-id", f"ingest-{n}"], env, logs / f"ingest-{n}.log", "subscribed to"
        )
    for n in (1, 2):
        made[f"alerts-{n}"] = Process(
            f"alerts-{n}", ["alerts"], {**env, "ANXIN_ALERTS_ID": f"alerts-{n}"}, logs / f"alerts-{n}.log", "running"
        )
    for name, port in web_ports.items():
        made[name] = Process(name, ["web"], {**env, "ANXIN_HTTP_PORT": str(port)}, logs / f"{name}.log", "running")
    try:
        for process in made.values():
            process.start()
        yield made
    finally:
        for process in made.values():
            process.stop()


def _env(db_url: str, mqtt_url: str, prefix: str, data: Path) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": db_url,
        "MQTT_URL": mqtt_url,
        "ANXIN_TOPIC_PREFIX": prefix,
        "ANXIN_INGEST_GROUP": f"g{uuid.uuid4().hex[:6]}",
        "ANXIN_DATA_DIR": str(data),
        "ANXIN_SECRET_KEY": SECRET,
        "ANXIN_WEBHOOK_SECRET": "w" * 40,
        "ANXIN_REPLY_SECRET": "r" * 40,
        "ANXIN_BATCH_MAX_MS": "100",
    }


def _holders(url: str) -> dict[str, int]:
    with psycopg.connect(url) as conn:
        rows = conn.execute("SELECT owner, count(*) FROM alert_partitions WHERE lease_until > now() GROUP BY 1")
        return {str(owner): int(n) for owner, n in rows}


def _stored(url: str) -> set[tuple[str, str]]:
    with psycopg.connect(url) as conn:
        rows = conn.execute("SELECT DISTINCT resident_id, kind FROM events WHERE kind IN ('sos', 'fall')")
        return {(r, k) for r, k in rows}


def _alerted(url: str) -> dict[tuple[str, str], int]:
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT resident_id, kind, count(*) FROM alerts WHERE kind IN ('sos', 'fall') GROUP BY 1, 2"
        ).fetchall()
    return {(r, k): int(n) for r, k, n in rows}


def test_every_process_killed_mid_run_loses_no_alert(
    db_url: str, mqtt_broker: LocalMosquitto, topic_prefix: str, tmp_path: Path
) -> None:
    with psycopg.connect(db_url) as conn:
        migrate(conn)
        seed(conn)
    bracelets = register_fleet(db_url, RESIDENTS)
    kinds = {b: ("sos" if i % 2 == 0 else "fall") for i, b in enumerate(bracelets)}
    expected = {(b.removesuffix("-bracelet"), kinds[b]) for b in bracelets}
    env = _env(db_url, mqtt_broker.url, topic_prefix, tmp_path)
    with _processes(env, tmp_path) as running, fleet(mqtt_broker.url, topic_prefix, bracelets) as devices:
        bases = {name: f"http://127.0.0.1:{running[name].env['ANXIN_HTTP_PORT']}" for name in ("web-1", "web-2")}
        staying, leaving = (Console(bases[name], "supervisor", PASSWORD) for name in ("web-1", "web-2"))
        load = Load(devices, bracelets, 100.0).start()
        first, middle, last = bracelets[:6], bracelets[6:12], bracelets[12:]
        for bracelet in first:
            devices.critical(bracelet, kinds[bracelet])
        wait_for(lambda: len(_alerted(db_url)) >= len(first), 60, "the first presses alerted")
        for name in ("ingest-2", "alerts-2", "web-2"):
            running[name].kill()
        for bracelet in middle:  # pressed while a third of ingest, half of detection and a console are dead
            devices.critical(bracelet, kinds[bracelet])
        # The survivor takes the dead process's residents once their leases run out, and alerts every press
        # stored meanwhile (those queued in the dead worker's session wait for it to come back).
        took_over = wait_for(lambda: _holders(db_url) == {"alerts-1": 64}, 40, "alerts-1 holding every partition")
        wait_for(lambda: _stored(db_url) <= set(_alerted(db_url)), 30, "every stored press alerted by the survivor")
        survivor = len(_alerted(db_url))
        for name in ("ingest-2", "alerts-2", "web-2"):
            running[name].start()
        back = Console(bases["web-2"], "supervisor", PASSWORD)
        for bracelet in last:
            devices.critical(bracelet, kinds[bracelet])
        last_press = time.monotonic()
        wait_for(lambda: devices.transport.unconfirmed == 0, 90, "every press stored and confirmed")
        wait_for(lambda: set(_alerted(db_url)) >= expected, 90, "every press alerted")
        took = time.monotonic() - last_press
        load.finish()
        wait_for(lambda: staying.raised.keys() >= expected, 30, "the staying console told of every alert")
        later = {(b.removesuffix("-bracelet"), kinds[b]) for b in last}
        wait_for(lambda: back.raised.keys() >= later, 30, "the console started again told of the later alerts")
        time.sleep(3)  # a late duplicate or a false alert from a handover would show by now
        alerted = _alerted(db_url)
        others = scalar(db_url, "SELECT count(*) FROM alerts WHERE kind NOT IN ('sos', 'fall')")
        for console in (staying, leaving, back):
            console.close()
    print(
        f"\n[processes] {len(expected)} presses, every one alerted once; the survivor held every partition "
        f"{took_over:.1f} s after the kills and alerted {survivor} presses before the "
        f"restarts; the last presses alerted within {took:.1f} s; consoles: staying {len(staying.raised)}, "
        f"restarted {len(back.raised)}, killed {len(leaving.raised)}"
    )
    assert set(alerted) == expected and set(alerted.values()) == {1}, "each SOS and fall alerted exactly once"
    assert others == 0, "no alert of another kind came from the handovers"
