"""Load mode: thousands of bracelets from a few processes at a target message rate.

Devices ``load{n:05d}`` are split over worker processes (at least one per 300 devices with
per-device connections, as paho's ``select()`` loop cannot watch more sockets); each worker opens one MQTT
connection per device or one shared connection, waits until every worker is connected, then
publishes QoS 1 telemetry at its share of the rate for the duration, and finally waits (a few
seconds at most) for the broker's PUBACKs. The report is honest: ``achieved_rate`` counts only
messages the broker acknowledged, over the time from the start until the last acknowledgement
arrived (or the drain gave up), and ``within_10pct`` says whether that met the target.
"""

from __future__ import annotations

import math
import multiprocessing as mp
import queue
import resource
import threading
import time
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from typing import Any

from gateway.contract import Channel, Telemetry, encode, topic
from simulators.messages import build
from simulators.transport import MqttTransport, Outgoing

DRAIN_S = 10.0
CONNECT_S = 300.0
CLIENTS_PER_PROCESS = 300  # each paho client holds 3 descriptors; its select() loop stops at 1023
TICK_S = 0.002


@dataclass(frozen=True, slots=True)
class LoadPlan:
    """What to load the broker with."""

    url: str
    devices: int = 2000
    rate: float = 5000.0  # messages a second, all processes together
    duration: float = 30.0
    connections: str = "shared"
    processes: int = 2
    prefix: str = "ec/v1"
    device_prefix: str = "load"


@dataclass(frozen=True, slots=True)
class WorkerReport:
    """One worker's counts and timings."""

    published: int
    puback: int
    publish_s: float
    total_s: float
    connect_s: float


def processes_needed(plan: LoadPlan) -> int:
    """Return enough workers that none holds more sockets than paho's ``select()`` loop can watch."""
    if plan.connections != "per-device":
        return plan.processes
    return max(plan.processes, math.ceil(plan.devices / CLIENTS_PER_PROCESS))


def device_ids(plan: LoadPlan, worker: int) -> list[str]:
    """Return the device ids worker ``worker`` drives."""
    return [f"{plan.device_prefix}{n:05d}" for n in range(worker, plan.devices, plan.processes)]


def run_load(plan: LoadPlan) -> dict[str, Any]:
    """Run the load test and return its summary."""
    plan = replace(plan, processes=processes_needed(plan))
    ctx = mp.get_context("spawn")
    results: mp.Queue[WorkerReport | str] = ctx.Queue()
    ready, go = ctx.Barrier(plan.processes + 1), ctx.Event()
    workers = [
        ctx.Process(target=_worker, args=(plan, i, ready, go, results), daemon=True) for i in range(plan.processes)
    ]
    for w in workers:
        w.start()
    try:
        ready.wait(timeout=CONNECT_S)
        go.set()
        wait = plan.duration + DRAIN_S + CONNECT_S
    except threading.BrokenBarrierError:
        wait = 5.0  # a worker failed or could not connect in time; collect what it said
    reports = []
    for _ in workers:
        try:
            reports.append(results.get(timeout=wait))
        except queue.Empty:
            reports.append("a worker did not report")
    for w in workers:
        w.join(timeout=10)
        if w.is_alive():
            w.terminate()
    errors = [r for r in reports if isinstance(r, str)]
    return summarise(plan, [r for r in reports if isinstance(r, WorkerReport)], errors)


def summarise(plan: LoadPlan, reports: list[WorkerReport], errors: list[str]) -> dict[str, Any]:
    """Add up the workers' reports."""
    published, puback = sum(r.published for r in reports), sum(r.puback for r in reports)
    total_s = max((r.total_s for r in reports), default=0.0)
    publish_s = max((r.publish_s for r in reports), default=0.0)
    achieved = puback / total_s if total_s > 0 else 0.0
    return {
        **asdict(plan),
        "url": plan.url,
        "published": published,
        "puback": puback,
        "publish_s": round(publish_s, 3),
        "total_s": round(total_s, 3),
        "offered_rate": round(published / publish_s, 1) if publish_s else 0.0,
        "achieved_rate": round(achieved, 1),
        "target_rate": plan.rate,
        "within_10pct": abs(achieved - plan.rate) <= 0.1 * plan.rate,
        "connect_s": round(max((r.connect_s for r in reports), default=0.0), 3),
        "errors": errors,
    }


def _worker(plan: LoadPlan, index: int, ready: Any, go: Any, results: Any) -> None:
    try:
        results.put(_drive(plan, index, ready, go))
    except Exception as exc:  # noqa: BLE001 - the parent reports it; a worker must not die silently
        results.put(f"worker {index}: {type(exc).__name__}: {exc}")
        ready.abort()


def _drive(plan: LoadPlan, index: int, ready: Any, go: Any) -> WorkerReport:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, 4096)), hard))
    ids = device_ids(plan, index)
    t0 = time.monotonic()
    transport = MqttTransport(
        plan.url,
        ids,
        prefix=plan.prefix,
        mode=plan.connections,
        client_prefix=f"w{index}-" if plan.connections == "shared" else "",
    )
    transport.connect(timeout=CONNECT_S)
    connect_s = time.monotonic() - t0
    ready.wait(timeout=CONNECT_S)
    go.wait()
    start = time.monotonic()
    sent = _publish_for(transport, ids, plan.rate / plan.processes, plan.duration, start)
    publish_s = time.monotonic() - start
    transport.wait_for_backlog(0, timeout=DRAIN_S)
    total_s = time.monotonic() - start
    report = WorkerReport(sent, transport.stats.puback, publish_s, total_s, connect_s)
    transport.close(goodbye=False)
    return report


def _publish_for(transport: MqttTransport, ids: list[str], rate: float, duration: float, start: float) -> int:
    sent, seq0, total = 0, int(time.time() * 1000), int(duration * rate)
    topics = [topic(d, Channel.TELEMETRY, transport.prefix) for d in ids]
    while sent < total:
        due = min(int((time.monotonic() - start) * rate) + 1, total)
        now = datetime.now(UTC)
        while sent < due:
            k = sent % len(ids)
            transport.publish(Outgoing(ids[k], topics[k], _telemetry(ids[k], seq0 + sent // len(ids), now, sent)))
            sent += 1
        time.sleep(TICK_S)
    return sent


def _telemetry(device_id: str, seq: int, now: datetime, n: int) -> bytes:
    body = build(
        Telemetry,
        {
            "device_id": device_id,
            "seq": seq,
            "ts": now,
            "heart_rate": 60 + n % 40,
            "spo2": 95 + n % 5,
            "steps": n % 200_000,
            "battery": 80,
            "worn": True,
            "skin_temp_c": 33.5,
        },
    )
    return encode(body)
