"""The Zigbee2MQTT mapping on the payloads the zigbee2mqtt.io device pages describe (exposes sections)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from anxin.cli import main
from gateway.contract import (
    BathroomEvent,
    BedEvent,
    Channel,
    DoorEvent,
    GasEvent,
    MotionEvent,
    SmokeEvent,
    Status,
    WaterLeakEvent,
    decode,
    encode,
    topic,
)
from gateway.errors import ContractError
from gateway.registry import Device, DeviceKind, Registry
from gateway.zigbee import (
    HomeMapper,
    Outgoing,
    TopicKind,
    ZigbeeConfigError,
    classify,
    parse_availability,
    parse_config,
    registry_problems,
)

T0 = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
CONFIG = """
hub = "r7-hub"
resident = "r7"

[sensors]
"hall motion" = { device = "r7-motion-hall", kind = "motion", room = "hall" }
"kitchen/p1" = { device = "r7-motion-kitchen", kind = "motion", room = "kitchen" }
"front door" = { device = "r7-door-front", kind = "door", room = "front" }
"bath leak" = { device = "r7-water-leak", kind = "water_leak", room = "bathroom" }
"smoke" = { device = "r7-smoke", kind = "smoke", room = "kitchen" }
"gas" = { device = "r7-gas", kind = "gas", room = "kitchen" }
"bed mat" = { device = "r7-bed", kind = "bed", room = "bedroom" }
"bath fp1" = { device = "r7-bathroom", kind = "bathroom", room = "bathroom" }
"chair" = { device = "r7-chair", kind = "vibration", room = "living_room" }
"""

# Real state messages, as the device pages' exposes list them (values made up, names and types theirs).
RTCGQ11LM = {  # Aqara motion sensor
    "battery": 100,
    "voltage": 3045,
    "illuminance": 12,
    "illuminance_lux": 12,
    "device_temperature": 25,
    "power_outage_count": 3,
    "linkquality": 87,
}
RTCGQ14LM = {  # Aqara motion sensor P1
    "illuminance": 35,
    "motion_sensitivity": "high",
    "detection_interval": 30,
    "trigger_indicator": False,
    "device_temperature": 26,
    "battery": 100,
    "voltage": 3100,
    "linkquality": 120,
}
MCCGQ11LM = {"battery": 91, "temperature": 22, "voltage": 2985, "linkquality": 60}  # door & window contact
SJCGQ11LM = {"battery": 100, "battery_low": False, "voltage": 3015, "temperature": 21, "linkquality": 40}
JTYJ_GD_01LM = {  # Mijia Honeywell smoke detector
    "battery_low": False,
    "tamper": False,
    "battery": 100,
    "sensitivity": "medium",
    "smoke_density": 0,
    "voltage": 3100,
    "test": False,
    "device_temperature": 25,
    "power_outage_count": 1,
    "linkquality": 90,
}
JTQJ_BF_01LM = {"gas_density": 0, "sensitivity": "medium", "linkquality": 100}  # Mijia gas leak detector
DJT11LM = {  # Aqara vibration sensor
    "strength": 20,
    "sensitivity": "medium",
    "angle_x": 3,
    "angle_y": -1,
    "angle_z": 87,
    "battery": 100,
    "voltage": 3025,
    "linkquality": 70,
}
RTCZCGQ11LM = {"presence_event": "enter", "device_temperature": 30, "power_outage_count": 2, "linkquality": 150}


def _mapper() -> HomeMapper:
    return HomeMapper(parse_config(CONFIG))


def _send(mapper: HomeMapper, name: str, state: dict[str, Any], at: datetime = T0, **kw: Any) -> list[Outgoing]:
    return list(mapper.handle(f"zigbee2mqtt/{name}", json.dumps(state).encode(), at, **kw).records)


def _events(out: list[Outgoing]) -> list[Any]:
    return [o.body for o in out if o.channel is Channel.EVENT]


def _statuses(out: list[Outgoing]) -> list[tuple[str, Status]]:
    return [(o.device_id, o.body) for o in out if isinstance(o.body, Status)]


def test_every_record_passes_the_wire_contract_on_its_topic() -> None:
    mapper = _mapper()
    out = _send(mapper, "hall motion", {**RTCGQ11LM, "occupancy": True})
    out += _send(mapper, "front door", {**MCCGQ11LM, "contact": False})
    out += [mapper.hub_status(T0, "boot"), *mapper.heartbeats(T0)]
    assert out
    for o in out:
        record = decode(topic(o.device_id, o.channel), encode(o.body), T0)
        assert record.body == o.body


def test_motion_fires_on_occupancy_true_and_not_on_the_timeout() -> None:
    mapper = _mapper()
    first = _send(mapper, "hall motion", {**RTCGQ11LM, "occupancy": True})
    (event,) = _events(first)
    assert isinstance(event, MotionEvent)
    assert (event.room, event.sensor_id) == ("hall", "r7-motion-hall")
    assert all(o.device_id == "r7-hub" for o in first if o.channel is Channel.EVENT)  # relayed by the hub
    assert _statuses(first)[0][1].reason == "seen"  # the sensor is heard for the first time: online
    cleared = _send(mapper, "hall motion", {**RTCGQ11LM, "occupancy": False}, T0 + timedelta(seconds=90))
    assert _events(cleared) == []  # occupancy false is Zigbee2MQTT's timeout, not something that happened
    again = _send(mapper, "kitchen/p1", {**RTCGQ14LM, "occupancy": True}, T0 + timedelta(seconds=95))
    assert [e.room for e in _events(again)] == ["kitchen"]


def test_motion_still_true_is_new_movement_only_after_the_sensor_s_blind_minute() -> None:
    mapper = _mapper()
    _send(mapper, "hall motion", {**RTCGQ11LM, "occupancy": True})
    assert _events(_send(mapper, "hall motion", {**RTCGQ11LM, "occupancy": True}, T0 + timedelta(seconds=5))) == []
    later = _send(mapper, "hall motion", {**RTCGQ11LM, "occupancy": True}, T0 + timedelta(seconds=65))
    assert len(_events(later)) == 1


def test_contact_false_is_an_open_door_and_repeats_are_not_news() -> None:
    mapper = _mapper()
    (opened,) = _events(_send(mapper, "front door", {**MCCGQ11LM, "contact": False}))
    assert isinstance(opened, DoorEvent)
    assert (opened.door, opened.state) == ("front", "open")
    assert _events(_send(mapper, "front door", {**MCCGQ11LM, "contact": False, "battery": 90})) == []
    (closed,) = _events(_send(mapper, "front door", {**MCCGQ11LM, "contact": True}, T0 + timedelta(seconds=4)))
    assert closed.state == "closed"


def test_a_first_report_of_rest_is_the_baseline_not_an_event() -> None:
    mapper = _mapper()
    assert _events(_send(mapper, "front door", {**MCCGQ11LM, "contact": True})) == []  # an hourly check-in
    assert _events(_send(mapper, "hall motion", {**RTCGQ11LM, "occupancy": False})) == []
    assert _events(_send(mapper, "smoke", {**JTYJ_GD_01LM, "smoke": False})) == []
    assert _events(_send(mapper, "bed mat", {"occupancy": True, "battery": 90})) == []  # lay down before we knew
    (opened,) = _events(_send(mapper, "front door", {**MCCGQ11LM, "contact": False}, T0 + timedelta(minutes=1)))
    assert opened.state == "open"


def test_a_retained_state_is_only_the_baseline() -> None:
    mapper = _mapper()
    assert _events(_send(mapper, "front door", {**MCCGQ11LM, "contact": False}, retained=True)) == []
    assert _events(_send(mapper, "smoke", {**JTYJ_GD_01LM, "smoke": True}, retained=True)) == []
    (closed,) = _events(_send(mapper, "front door", {**MCCGQ11LM, "contact": True}, T0 + timedelta(seconds=9)))
    assert closed.state == "closed"


@pytest.mark.parametrize(
    ("name", "state", "key", "model"),
    [
        ("bath leak", SJCGQ11LM, "water_leak", WaterLeakEvent),
        ("smoke", JTYJ_GD_01LM, "smoke", SmokeEvent),
        ("gas", JTQJ_BF_01LM, "gas", GasEvent),
    ],
)
def test_alarms_are_raised_and_cleared(name: str, state: dict[str, Any], key: str, model: type[Any]) -> None:
    mapper = _mapper()
    (raised,) = _events(_send(mapper, name, {**state, key: True}))
    assert isinstance(raised, model)
    assert raised.state == "alarm"
    assert _events(_send(mapper, name, {**state, key: True}, T0 + timedelta(seconds=30))) == []
    (cleared,) = _events(_send(mapper, name, {**state, key: False}, T0 + timedelta(minutes=3)))
    assert cleared.state == "clear"


def test_bed_mat_and_bathroom_presence_follow_both_edges() -> None:
    mapper = _mapper()
    _send(mapper, "bed mat", {"occupancy": False, "battery": 90})
    _send(mapper, "bath fp1", {**RTCZCGQ11LM, "presence": False})
    (lay,) = _events(_send(mapper, "bed mat", {"occupancy": True}, T0 + timedelta(hours=1)))
    assert isinstance(lay, BedEvent)
    assert lay.state == "occupied"
    (went,) = _events(_send(mapper, "bath fp1", {**RTCZCGQ11LM, "presence": True}, T0 + timedelta(hours=2)))
    assert isinstance(went, BathroomEvent)
    assert went.state == "occupied"
    (left,) = _events(_send(mapper, "bath fp1", {**RTCZCGQ11LM, "presence": False}, T0 + timedelta(hours=3)))
    assert left.state == "vacated"


def test_vibration_and_tilt_are_movement_where_the_sensor_is() -> None:
    mapper = _mapper()
    (moved,) = _events(_send(mapper, "chair", {**DJT11LM, "action": "vibration"}))
    assert isinstance(moved, MotionEvent)
    assert moved.room == "living_room"
    assert len(_events(_send(mapper, "chair", {**DJT11LM, "action": "tilt"}, T0 + timedelta(seconds=2)))) == 1
    assert _events(_send(mapper, "chair", {**DJT11LM, "action": "drop"}, T0 + timedelta(seconds=3))) == []
    assert _events(_send(mapper, "chair", DJT11LM, T0 + timedelta(minutes=5))) == []  # the strength report


def test_availability_both_forms_become_the_sensor_s_status_on_a_change() -> None:
    mapper = _mapper()
    legacy = mapper.handle("zigbee2mqtt/front door/availability", b"offline", T0).records
    assert [(o.device_id, o.body.state, o.retain) for o in legacy] == [("r7-door-front", "offline", True)]  # type: ignore[attr-defined]
    assert mapper.handle("zigbee2mqtt/front door/availability", b'{"state":"offline"}', T0).records == ()
    back = mapper.handle("zigbee2mqtt/front door/availability", b'{"state": "online"}', T0 + timedelta(hours=1))
    assert [o.body.state for o in back.records] == ["online"]  # type: ignore[attr-defined]


def test_bridge_state_is_the_hub_s_status() -> None:
    mapper = _mapper()
    (down,) = mapper.handle("zigbee2mqtt/bridge/state", b'{"state":"offline"}', T0).records
    assert (down.device_id, down.body.state, down.body.reason) == ("r7-hub", "offline", "zigbee2mqtt_down")  # type: ignore[attr-defined]
    assert mapper.hub_status(T0 + timedelta(minutes=5), "heartbeat").body.state == "offline"  # type: ignore[attr-defined]
    (up,) = mapper.handle("zigbee2mqtt/bridge/state", b"online", T0 + timedelta(minutes=6)).records
    assert up.body.state == "online"  # type: ignore[attr-defined]


def test_heartbeats_carry_the_battery_of_sensors_alive() -> None:
    mapper = _mapper()
    _send(mapper, "front door", {**MCCGQ11LM, "contact": True, "battery": 87})
    mapper.handle("zigbee2mqtt/smoke/availability", b"online", T0)
    beats = dict(_statuses(mapper.heartbeats(T0 + timedelta(hours=1))))
    assert beats["r7-door-front"].battery == 87
    assert set(beats) == {"r7-door-front", "r7-smoke"}  # the others were never heard
    assert "r7-door-front" not in dict(_statuses(mapper.heartbeats(T0 + timedelta(hours=3))))  # silent too long
    health = mapper.sensors["r7-door-front"]
    assert (health.voltage_mv, health.linkquality, health.weak_link) == (2985, 60, False)


def test_sequence_numbers_increase_per_device() -> None:
    mapper = _mapper()
    out = _send(mapper, "front door", {"contact": False})
    out += _send(mapper, "hall motion", {"occupancy": True})
    seqs = [o.body.seq for o in out if o.device_id == "r7-hub"]  # type: ignore[attr-defined]
    assert len(seqs) == 2
    assert seqs[1] > seqs[0] >= int(T0.timestamp() * 1000)


def test_unknown_names_and_other_topics_make_nothing() -> None:
    mapper = _mapper()
    outcome = mapper.handle("zigbee2mqtt/0x00158d0001a2b3c4", b'{"occupancy": true}', T0)
    assert (outcome.records, outcome.unknown) == ((), "0x00158d0001a2b3c4")
    for name in ("zigbee2mqtt/bridge/devices", "zigbee2mqtt/front door/set", "other/front door"):
        assert mapper.handle(name, b"[]", T0).ignored


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (b"{not json", "bad_json"),
        (b"[1, 2]", "bad_json"),
        (b'{"contact": "open"}', "invalid"),
        (b'{"battery": 300}', "invalid"),
        (b'{"linkquality": -1}', "invalid"),
        (b'{"contact": false, "pad": "' + b"x" * 70_000 + b'"}', "too_large"),
    ],
)
def test_malformed_payloads_raise_the_dead_letter_codes(payload: bytes, reason: str) -> None:
    with pytest.raises(ContractError) as caught:
        _mapper().handle("zigbee2mqtt/front door", payload, T0)
    assert caught.value.reason == reason


def test_bad_availability_is_refused() -> None:
    with pytest.raises(ContractError):
        parse_availability(b"maybe")
    with pytest.raises(ContractError):
        parse_availability(b'{"state": "sleeping"}')


def test_topics_are_classified_with_slashes_in_friendly_names() -> None:
    assert classify("zigbee2mqtt/kitchen/p1") == (TopicKind.STATE, "kitchen/p1")
    assert classify("zigbee2mqtt/kitchen/p1/availability") == (TopicKind.AVAILABILITY, "kitchen/p1")
    assert classify("zigbee2mqtt/bridge/state") == (TopicKind.BRIDGE_STATE, "")
    assert classify("home7/door", "home7") == (TopicKind.STATE, "door")


@pytest.mark.parametrize(
    "text",
    [
        "hub = 'r7-hub'",  # no sensors
        "hub = 'r7 hub'\n[sensors]\na = { device = 'x', kind = 'door', room = 'front' }",
        "hub = 'r7-hub'\n[sensors]\na = { device = 'x', kind = 'lamp', room = 'front' }",
        "hub = 'r7-hub'\n[sensors]\na = { device = 'x', kind = 'door', room = 'Front Door' }",
        "hub = 'r7-hub'\n[sensors]\na = { device = 'x', kind = 'door', room = 'front', colour = 'red' }",
        "hub = 'r7-hub'\n[sensors]\na = { device = 'x', kind = 'door', room = 'front' }\n"
        "b = { device = 'x', kind = 'motion', room = 'hall' }",
        "hub = [",
    ],
)
def test_config_errors_say_what_is_wrong(text: str) -> None:
    with pytest.raises(ZigbeeConfigError):
        parse_config(text)


def test_config_reads_base_topic_and_source() -> None:
    config = parse_config(CONFIG + "\n")
    assert (config.hub_id, config.resident_id, config.base_topic, config.source) == (
        "r7-hub",
        "r7",
        "zigbee2mqtt",
        None,
    )
    other = parse_config(
        'hub = "h"\nbase_topic = "z2m/home7"\nsource = "mqtt://10.0.0.2"\n[sensors]\n'
        'd = { device = "d1", kind = "door", room = "front" }'
    )
    assert (other.base_topic, other.source, other.sensors["d"].device_id) == ("z2m/home7", "mqtt://10.0.0.2", "d1")


def test_registry_problems_name_each_sensor_the_platform_would_refuse() -> None:
    config = parse_config(CONFIG)
    devices = [Device("r7-hub", DeviceKind.HUB, "r7")] + [
        Device(s.device_id, DeviceKind.SENSOR, "r7", s.kind, s.room, "r7-hub") for s in config.sensors.values()
    ]
    assert registry_problems(config, Registry(devices)) == []
    devices[1] = Device("r7-motion-hall", DeviceKind.SENSOR, "r7", "motion", "hall", "r8-hub")
    devices[2] = Device("r7-motion-kitchen", DeviceKind.SENSOR, "r9", "door", "kitchen", "r7-hub")
    problems = registry_problems(config, Registry(devices[:-1]))
    assert len(problems) == 4  # another hub's; a door, not motion; another resident's; the chair missing


def test_the_command_refuses_a_bad_configuration(tmp_path: Path) -> None:
    bad = tmp_path / "home.toml"
    bad.write_text('hub = "r7-hub"\n[sensors]\n"door" = { device = "r7-door", kind = "lamp", room = "front" }\n')
    assert main(["gateway", "zigbee", "--config", str(bad)]) == 2
    assert main(["gateway", "zigbee", "--config", str(tmp_path / "missing.toml")]) == 2
