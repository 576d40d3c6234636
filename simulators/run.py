"""Run a scenario: pace the model's stream against the wall clock and send it somewhere.

This is the thin I/O shell around `simulators.model`. Messages go to an MQTT broker
(`transport.MqttTransport`), to a JSON-lines file (one ``{"topic", "payload", "retain"}`` object
per line, the payload as text), or nowhere (counting only). Ground truth goes to its own JSON-lines
file as each incident starts. ``speed`` 1 is real time, 60 or 3600 accelerated, 0 as fast as
possible; the device clocks are the simulated clock, and the default start keeps them from
passing the wall clock (the contract rejects device times more than 5 minutes ahead).

`run_scenario()` is the in-process API (`anxin run` calls it in a thread with a stop event).
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, Any, Protocol

from simulators.faults import FaultInjector
from simulators.messages import Message, Truth, iso
from simulators.model import Simulation
from simulators.scenario import Scenario
from simulators.transport import MqttTransport, Outgoing, outgoing
from simulators.watch import WatchTransport

PROGRESS_EVERY_S = 2.0
DRAIN_S = 10.0


class Publisher(Protocol):
    """Where outgoing messages go."""

    def publish(self, out: Outgoing) -> None:
        """Send one message."""

    def tick(self) -> None:
        """Do periodic work (resends)."""

    def close(self) -> None:
        """Finish sending and let go of resources."""


class FileSink:
    """Write messages as JSON lines: ``{"topic": …, "payload": "<json text>", "retain": bool}``."""

    def __init__(self, path: Path) -> None:
        self._file: IO[str] = path.open("w", encoding="utf-8")

    def publish(self, out: Outgoing) -> None:
        """Append one line."""
        line = {"topic": out.topic, "payload": out.payload.decode("utf-8", "replace"), "retain": out.retain}
        self._file.write(json.dumps(line, ensure_ascii=False, separators=(",", ":")) + "\n")

    def tick(self) -> None:
        """Do nothing: a file acknowledges everything."""

    def close(self) -> None:
        """Close the file."""
        self._file.close()


class NullSink:
    """Discard messages (for measuring the model alone)."""

    def publish(self, out: Outgoing) -> None:
        """Drop one message."""

    def tick(self) -> None:
        """Do nothing."""

    def close(self) -> None:
        """Do nothing."""


@dataclass(slots=True)
class RunSummary:
    """What a run did, for the terminal and for tests."""

    scenario: str
    start: str
    end: str
    residents: int
    messages: int = 0
    sent: int = 0
    by_channel: Counter[str] = field(default_factory=Counter)
    incidents: Counter[str] = field(default_factory=Counter)
    unplaced: list[str] = field(default_factory=list)
    faults: dict[str, int] = field(default_factory=dict)
    wall_s: float = 0.0
    last_t: float | None = None
    stopped: bool = False
    transport: dict[str, int] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        """Return the summary as one JSON-ready mapping."""
        rate = self.messages / self.wall_s if self.wall_s > 0 else 0.0
        return {
            "scenario": self.scenario,
            "start": self.start,
            "end": self.end,
            "residents": self.residents,
            "messages": self.messages,
            "sent": self.sent,
            "by_channel": dict(self.by_channel),
            "incidents": dict(self.incidents),
            "unplaced": self.unplaced,
            "faults": self.faults,
            "wall_s": round(self.wall_s, 3),
            "messages_per_s": round(rate, 1),
            "last_device_time": iso(self.last_t) if self.last_t else None,
            "stopped": self.stopped,
            "transport": self.transport,
        }


class Pacer:
    """Hold each message back until its simulated time comes round at the chosen speed."""

    def __init__(self, speed: float, sim_start: float, wall_start: float) -> None:
        self.speed, self.sim_start, self.wall_start = speed, sim_start, wall_start

    def wait(self, t: float, stop: threading.Event, tick: Callable[[], None]) -> bool:
        """Sleep until ``t`` is due (doing ``tick`` meanwhile); return False if asked to stop."""
        if self.speed <= 0:
            return not stop.is_set()
        target = self.wall_start + (t - self.sim_start) / self.speed
        while (left := target - time.monotonic()) > 0:
            if stop.wait(min(left, 0.25)):
                return False
            tick()
        return not stop.is_set()


def run_scenario(
    scenario: Scenario,
    mqtt_url: str | None = None,
    stop_event: threading.Event | None = None,
    *,
    out: Path | None = None,
    truth: Path | None = None,
    now: datetime | None = None,
    progress: Callable[[str], None] | None = None,
    client_prefix: str = "",
    credentials: Mapping[str, str] | None = None,  # device id → secret: per-device connections sign in as themselves
    watch: tuple[str, int] | None = None,  # the watch gateway: bracelets speak the watch protocol to it over TCP
) -> RunSummary:
    """Run ``scenario`` to its end (or until ``stop_event``), publishing to MQTT (and the watch gateway) or ``out``."""
    sim = Simulation(scenario.world(now or datetime.now(UTC)))
    bracelets = {r.device("bracelet").device_id for r in sim.fleet} if watch is not None else set()
    publisher = _publisher(scenario, sim, mqtt_url, out, client_prefix, credentials, bracelets)
    if watch is not None:
        mqtt = publisher if isinstance(publisher, MqttTransport) else None
        utc_offset = timedelta(hours=scenario.tz_offset_hours)
        publisher = WatchTransport(watch, bracelets, mqtt, utc_offset=utc_offset)
    truth_file = truth.open("w", encoding="utf-8") if truth else None
    try:
        return _loop(
            scenario, sim, publisher, truth_file=truth_file, stop=stop_event or threading.Event(), progress=progress
        )
    finally:
        publisher.close()
        if truth_file:
            truth_file.close()


def _publisher(
    scenario: Scenario,
    sim: Simulation,
    url: str | None,
    out: Path | None,
    client_prefix: str,
    credentials: Mapping[str, str] | None,
    elsewhere: set[str],  # devices that do not speak MQTT (bracelets on the watch protocol)
) -> Publisher:
    if url is not None:
        devices = [d.device_id for r in sim.fleet for d in r.publishers if d.device_id not in elsewhere]
        transport = MqttTransport(
            url,
            devices,
            prefix=scenario.prefix,
            mode=scenario.connections,
            client_prefix=client_prefix,
            credentials=credentials,
        )
        transport.connect()
        return transport
    return FileSink(out) if out is not None else NullSink()


def _loop(
    scenario: Scenario,
    sim: Simulation,
    publisher: Publisher,
    *,
    truth_file: IO[str] | None,
    stop: threading.Event,
    progress: Callable[[str], None] | None,
) -> RunSummary:
    w = sim.world
    summary = RunSummary(scenario.name, iso(w.start), iso(w.end), w.residents, unplaced=list(sim.schedule.unplaced))
    faults = FaultInjector(scenario.faulty, scenario.seed)
    wall0 = time.monotonic()
    pacer, next_report = Pacer(scenario.speed, w.start, wall0), wall0 + PROGRESS_EVERY_S
    for item in sim.stream():
        if isinstance(item, Truth):
            _write_truth(truth_file, item, summary)
            continue
        if not pacer.wait(item.t, stop, publisher.tick):
            summary.stopped = True
            break
        _send(item, scenario.prefix, faults, publisher, summary)
        if summary.messages % 512 == 0 and (now := time.monotonic()) >= next_report:
            publisher.tick()
            next_report = now + PROGRESS_EVERY_S
            if progress:
                progress(_progress_line(summary, item, now - wall0))
    for o in faults.flush():
        publisher.publish(o)
        summary.sent += 1
    summary.wall_s = time.monotonic() - wall0
    summary.faults = dict(faults.counts)
    if isinstance(publisher, MqttTransport):
        publisher.wait_for_backlog(0, timeout=DRAIN_S)
        summary.transport = publisher.stats.as_json(publisher.unconfirmed)
    if isinstance(publisher, WatchTransport):
        publisher.drain(DRAIN_S)
        summary.transport = publisher.as_json()
    return summary


def _send(item: Message, prefix: str, faults: FaultInjector, publisher: Publisher, summary: RunSummary) -> None:
    summary.messages += 1
    summary.by_channel[item.channel.value] += 1
    summary.last_t = item.t
    for o in faults.feed(outgoing(item, prefix)):
        publisher.publish(o)
        summary.sent += 1


def _write_truth(file: IO[str] | None, item: Truth, summary: RunSummary) -> None:
    summary.incidents[item.kind] += 1
    if file is not None:
        file.write(json.dumps(item.as_json(), separators=(",", ":")) + "\n")
        file.flush()


def _progress_line(summary: RunSummary, item: Message, elapsed: float) -> str:
    rate = summary.messages / elapsed if elapsed > 0 else 0.0
    return (
        f"sim {iso(item.t)}  messages {summary.messages}  ({rate:,.0f}/s)  incidents {sum(summary.incidents.values())}"
    )
