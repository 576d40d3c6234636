"""Simulated bracelets speak the watch protocol to the real gateway over TCP; home sensors stay on MQTT."""

from __future__ import annotations

import json
import threading
import uuid
from collections import Counter
from datetime import UTC, datetime

from anxin.commands.common import dead_letter_writer
from anxin.services import LocalMosquitto
from gateway.contract import command_ack
from gateway.mqtt import BrokerAddress, MqttConnection
from gateway.watch_server import WatchGateway, mqtt_links, serving
from simulators.fleet import build_fleet
from simulators.run import run_scenario
from simulators.scenario import Scenario
from simulators.schedule import IncidentSpec

# One SOS whatever the hour the test runs at: an SOS is otherwise placed in the residents' daytime (07-22 local).
_SOS_ANY_HOUR = IncidentSpec(counts={"sos": 1}, around_the_clock=True)


def test_a_neighbourhood_runs_its_bracelets_through_the_watch_gateway(
    mqtt_broker: LocalMosquitto, db_url: str, topic_prefix: str
) -> None:
    scenario = Scenario(residents=3, days=0.05, seed=11, incidents=_SOS_ANY_HOUR, prefix=topic_prefix)
    bracelets = {r.device("bracelet").device_id for r in build_fleet(3, 11, scenario.neighbourhood)}
    secrets = dict.fromkeys(bracelets, "secret")
    address = BrokerAddress.from_url(mqtt_broker.url)
    seen: Counter[tuple[str, str]] = Counter()
    lock = threading.Lock()
    platform = MqttConnection(address, f"sim-watch-{uuid.uuid4().hex[:8]}", persistent=False)

    def on_message(topic: str, payload: bytes) -> None:  # as ingest does: store (count) and confirm events
        device, channel = topic.split("/")[-2:]
        with lock:
            seen[(device, channel)] += 1
        if channel == "event" and device in bracelets:
            ack = command_ack(json.loads(payload)["seq"], datetime.now(UTC))
            platform.publish(f"{topic_prefix}/{device}/cmd", ack)

    platform.connect()
    platform.route(f"{topic_prefix}/+/+", on_message)
    gateway = WatchGateway(
        mqtt_links(address, secrets, topic_prefix), secrets, dead_letter_writer(db_url), prefix=topic_prefix
    )
    try:
        with serving(gateway) as port:
            summary = run_scenario(scenario, mqtt_broker.url, watch=("127.0.0.1", port), client_prefix="simw-")
    finally:
        platform.close()
    assert summary.incidents["sos"] == 1
    transport = summary.transport
    assert transport["unconfirmed"] == 0 and transport["answer_AL"] >= 1, transport
    assert gateway.stats["sos"] >= 1 and gateway.stats["position"] > 0 and gateway.stats.get("rejected_invalid", 0) == 0
    with lock:
        from_bracelets = {d for d, c in seen if d in bracelets and c == "telemetry"}
        others = {d for d, c in seen if d not in bracelets and c in ("event", "status")}
    assert from_bracelets == bracelets, "every bracelet's telemetry came through the gateway"
    assert others, "the homes' hubs and sensors kept publishing on MQTT"
