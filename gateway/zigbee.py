"""Zigbee2MQTT home sensors → the wire contract's records: pure mapping, no I/O, time passed in.

Zigbee2MQTT publishes each device's whole state as JSON on ``{base}/{friendly_name}`` whenever the
device reports — a change, or the hourly check-in of a Xiaomi/Aqara sensor that changes nothing — and
its reachability on ``{base}/{friendly_name}/availability`` (``online``/``offline``, or
``{"state": "online"}`` since the legacy payload was switched off), its own on ``{base}/bridge/state``.
`HomeMapper` keeps the last known state of every configured sensor of one home and turns a message into
the records the platform takes from that home's hub (`docs/device-contract.md`, *Hubs*):

* a sensor's events on the **hub's** event topic with ``sensor_id`` set, only when something changed:
  motion on ``occupancy`` turning true (again after ``MOTION_REPEAT`` while it stays true: the PIR's
  blind minute has passed and it saw movement again), a door on ``contact`` (false is *open*), smoke,
  gas and water-leak alarms raised and cleared, a bed mat or bathroom presence occupied and vacated,
  a vibration sensor's ``vibration``/``tilt`` action as movement where it is;
* the sensor's status (retained) on **its own** status topic: online/offline from availability, online
  when first heard, and the hourly heartbeat with its battery (`HomeMapper.heartbeats`);
* the hub's status from ``bridge/state``: Zigbee2MQTT down means the home's sensors are not watched.

What Zigbee2MQTT replays (a retained state) and the first report of a sensor after a start only set
the baseline, except for what must not be missed — motion, an open door, an alarm. Which sensor kind
reads which property is a table (`SENSOR_KINDS`), not a chain of branches. A payload that is not a
JSON object, or whose known properties have the wrong type, raises `ContractError` with the
dead-letter reason codes of the wire contract (``bad_json``, ``invalid``, ``too_large``).
"""

from __future__ import annotations

import json
import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, Final

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from gateway.contract import DEVICE_ID_PATTERN, Body, Channel, Record, validate
from gateway.errors import ContractError, GatewayError
from gateway.registry import DeviceKind, Registry

BASE_TOPIC: Final = "zigbee2mqtt"  # Zigbee2MQTT's default ``mqtt.base_topic``
MAX_PAYLOAD_BYTES: Final = 64 * 1024  # a sensor's state is a few hundred bytes
MOTION_REPEAT: Final = timedelta(seconds=60)  # an Aqara PIR sleeps a minute after each detection
HEARD_RECENTLY: Final = timedelta(hours=2)  # Xiaomi sensors check in about hourly: heard within two is alive
WEAK_LINK_LQI: Final = 20  # Zigbee2MQTT's own advice: a linkquality below 20 is weak
_DEVICE_ID_RE: Final = re.compile(DEVICE_ID_PATTERN)
_ROOM_RE: Final = re.compile(r"^[a-z][a-z0-9_]{0,31}$")  # gateway.contract.Name


class ZigbeeConfigError(GatewayError):
    """A home's Zigbee2MQTT configuration cannot be used."""


# --- configuration -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SensorConfig:
    """One Zigbee2MQTT device of the home: its friendly name and what it is in the registry."""

    name: str  # Zigbee2MQTT's friendly name (or IEEE address)
    device_id: str  # the sensor's device id in the registry, registered with the hub as its parent
    kind: str  # a key of SENSOR_KINDS
    room: str  # where it is; a door sensor's room names the door (``front`` for the way out)


@dataclass(frozen=True, slots=True)
class HomeConfig:
    """One home: the hub account the bridge signs in as, where Zigbee2MQTT is, and its sensors."""

    hub_id: str
    sensors: Mapping[str, SensorConfig]  # by friendly name
    resident_id: str | None = None
    base_topic: str = BASE_TOPIC
    source: str | None = None  # the Zigbee2MQTT broker, mqtt://host:port


def parse_config(text: str) -> HomeConfig:
    """Read a home's TOML configuration, or raise `ZigbeeConfigError` saying what is wrong."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ZigbeeConfigError(f"not TOML: {exc}") from exc
    hub = _required(data, "hub")
    if not _DEVICE_ID_RE.match(hub):
        raise ZigbeeConfigError(f"hub {hub!r} is not a device id")
    table = data.get("sensors")
    if not isinstance(table, dict) or not table:
        raise ZigbeeConfigError("no [sensors] table: one line per Zigbee2MQTT friendly name")
    sensors = {name: _sensor(name, entry, hub) for name, entry in table.items()}
    ids = [s.device_id for s in sensors.values()]
    if len(set(ids)) != len(ids):
        raise ZigbeeConfigError("a device id is given to two friendly names")
    base = _optional(data, "base_topic") or BASE_TOPIC
    if any(c in base for c in "#+") or base.endswith("/"):
        raise ZigbeeConfigError(f"base_topic {base!r} is not a topic")
    return HomeConfig(hub, sensors, _optional(data, "resident"), base, _optional(data, "source"))


def _optional(data: Mapping[str, Any], key: str) -> str | None:
    return None if data.get(key) is None else _required(data, key)


def _required(data: Mapping[str, Any], key: str) -> str:
    value = data.get(key)
    if not isinstance(value, str) or not value:
        raise ZigbeeConfigError(f"{key} must be a non-empty string")
    return value


def _sensor(name: str, entry: object, hub: str) -> SensorConfig:
    if not isinstance(entry, dict):
        raise ZigbeeConfigError(f"sensor {name!r}: give {{ device = …, kind = …, room = … }}")
    unknown = set(entry) - {"device", "kind", "room"}
    if unknown:
        raise ZigbeeConfigError(f"sensor {name!r}: unknown keys {sorted(unknown)}")
    device, kind, room = (_required(entry, k) for k in ("device", "kind", "room"))
    if not _DEVICE_ID_RE.match(device) or device == hub:
        raise ZigbeeConfigError(f"sensor {name!r}: {device!r} is not a sensor's device id")
    if kind not in SENSOR_KINDS:
        raise ZigbeeConfigError(f"sensor {name!r}: kind {kind!r} is not one of {', '.join(SENSOR_KINDS)}")
    if not _ROOM_RE.match(room):
        raise ZigbeeConfigError(f"sensor {name!r}: room {room!r} is not like kitchen, bedroom, front")
    return SensorConfig(name, device, kind, room)


def registry_problems(config: HomeConfig, registry: Registry) -> list[str]:
    """List where the configuration and the device registry disagree: each would cost the home's records."""
    hub = registry.get(config.hub_id)
    problems = [] if hub is not None and hub.kind is DeviceKind.HUB else [f"{config.hub_id} is not a registered hub"]
    for s in config.sensors.values():
        device = registry.get(s.device_id)
        if device is None or device.parent_id != config.hub_id:
            problems.append(f"{s.name!r}: {s.device_id} is not registered with {config.hub_id} as its hub")
            continue
        if device.sensor_kind not in (None, s.kind) or device.room not in (None, s.room):
            problems.append(
                f"{s.name!r}: {s.device_id} is registered as {device.sensor_kind} in {device.room},"
                f" configured as {s.kind} in {s.room}"
            )
        if config.resident_id is not None and device.resident_id != config.resident_id:
            problems.append(f"{s.name!r}: {s.device_id} belongs to {device.resident_id}, not {config.resident_id}")
    return problems


# --- payloads ----------------------------------------------------------------------------------------


class SensorState(BaseModel):
    """The properties of a Zigbee2MQTT state message that Anxin reads; the rest is ignored."""

    model_config = ConfigDict(frozen=True, extra="ignore", strict=True)

    occupancy: bool | None = None  # PIR motion sensors, pressure mats
    presence: bool | None = None  # mmWave presence sensors (Aqara FP1 RTCZCGQ11LM)
    contact: bool | None = None  # door/window: true is closed, false is OPEN
    water_leak: bool | None = None
    smoke: bool | None = None
    gas: bool | None = None
    action: str | None = Field(default=None, max_length=64)  # momentary: vibration, tilt, drop, …
    battery: float | None = Field(default=None, ge=0, le=100)  # %
    battery_low: bool | None = None
    voltage: float | None = Field(default=None, ge=0, le=100_000)  # mV
    linkquality: int | None = Field(default=None, ge=0, le=255)  # LQI


def parse_state(payload: bytes) -> SensorState:
    """Decode a device's state message, or raise `ContractError` (``bad_json``, ``invalid``, ``too_large``)."""
    _check_size(payload)
    try:
        data = json.loads(payload)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ContractError("bad_json", f"not JSON: {exc}"[:300]) from exc
    if not isinstance(data, dict):
        raise ContractError("bad_json", f"not a JSON object but {type(data).__name__}")
    try:
        return SensorState.model_validate(data)
    except ValidationError as exc:
        detail = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors(include_url=False)[:5])
        raise ContractError("invalid", detail[:500]) from exc


def parse_availability(payload: bytes) -> bool:
    """Read ``online``/``offline`` (legacy) or ``{"state": "online"}``; return True when online."""
    _check_size(payload)
    text = payload.decode("utf-8", errors="replace").strip()
    if text in ("online", "offline"):
        return text == "online"
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise ContractError("bad_json", f"availability is neither online/offline nor JSON: {text[:80]!r}") from exc
    state = data.get("state") if isinstance(data, dict) else None
    if state not in ("online", "offline"):
        raise ContractError("invalid", f"availability state must be online or offline, not {str(state)[:40]!r}")
    return bool(state == "online")


def _check_size(payload: bytes) -> None:
    if len(payload) > MAX_PAYLOAD_BYTES:
        raise ContractError("too_large", f"{len(payload)} bytes > {MAX_PAYLOAD_BYTES}")


class TopicKind(StrEnum):
    """What a Zigbee2MQTT topic carries."""

    STATE = "state"
    AVAILABILITY = "availability"
    BRIDGE_STATE = "bridge_state"
    OTHER = "other"  # bridge/devices, bridge/logging, …/set, …/get: not a device's report


def classify(name: str, base: str = BASE_TOPIC) -> tuple[TopicKind, str]:
    """Return what a topic under ``base`` carries and the friendly name it is about (names may contain /)."""
    head = f"{base}/"
    if not name.startswith(head):
        return TopicKind.OTHER, ""
    rest = name[len(head) :]
    if rest == "bridge/state":
        return TopicKind.BRIDGE_STATE, ""
    if rest.startswith("bridge/") or not rest:
        return TopicKind.OTHER, ""
    friendly, _, last = rest.rpartition("/")
    if last == "availability" and friendly:
        return TopicKind.AVAILABILITY, friendly
    if last in ("set", "get") and friendly:
        return TopicKind.OTHER, friendly
    return TopicKind.STATE, rest


# --- sensor kinds ------------------------------------------------------------------------------------

Fields = dict[str, Any]


@dataclass(frozen=True, slots=True)
class SensorKind:
    """How one kind of sensor reads a Zigbee2MQTT state and which event a new value becomes."""

    name: str
    reads: tuple[str, ...]  # SensorState properties, the first one present is the sensor's value
    event: Callable[[SensorConfig, bool], Fields | None]  # the event fields for a value; None: no event
    news: bool | None  # the value worth an event with no previous one known (motion, open, alarm); None: none
    actions: frozenset[str] = frozenset()  # momentary actions that are each an event (a vibration sensor)
    repeat: timedelta | None = None  # the same value again after this long is a new event (motion)


def _alarm(kind: str) -> Callable[[SensorConfig, bool], Fields]:
    return lambda _s, on: {"kind": kind, "state": "alarm" if on else "clear"}


def _presence(kind: str) -> Callable[[SensorConfig, bool], Fields]:
    return lambda _s, on: {"kind": kind, "state": "occupied" if on else "vacated"}


def _motion(sensor: SensorConfig, on: bool) -> Fields | None:
    return {"kind": "motion", "room": sensor.room} if on else None


def _door(sensor: SensorConfig, closed: bool) -> Fields:
    return {"kind": "door", "door": sensor.room, "state": "closed" if closed else "open"}


SENSOR_KINDS: Final[Mapping[str, SensorKind]] = {
    k.name: k
    for k in (
        # Aqara RTCGQ11LM, RTCGQ12LM (T1), RTCGQ14LM (P1), Xiaomi RTCGQ01LM; presence: Aqara FP1
        SensorKind("motion", ("occupancy", "presence"), _motion, news=True, repeat=MOTION_REPEAT),
        # Aqara MCCGQ11LM, Xiaomi MCCGQ01LM: contact false means the door is OPEN
        SensorKind("door", ("contact",), _door, news=False),
        # a pressure mat under the mattress (occupancy/presence); the bathroom's presence sensor
        SensorKind("bed", ("occupancy", "presence"), _presence("bed"), news=None),
        SensorKind("bathroom", ("presence", "occupancy"), _presence("bathroom"), news=None),
        # Aqara SJCGQ11LM, Xiaomi JTYJ-GD-01LM/BW, JTQJ-BF-01LM/BW
        SensorKind("water_leak", ("water_leak",), _alarm("water_leak"), news=True),
        SensorKind("smoke", ("smoke",), _alarm("smoke"), news=True),
        SensorKind("gas", ("gas",), _alarm("gas"), news=True),
        # Aqara DJT11LM on a bed frame or a chair: each vibration or tilt is someone moving there
        SensorKind("vibration", (), _motion, news=True, actions=frozenset({"vibration", "tilt"})),
    )
}


# --- the mapper --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Outgoing:
    """A record for the platform: which device's topic it goes on, the channel, the body, whether retained."""

    device_id: str
    channel: Channel
    body: Body
    retain: bool = False

    @property
    def record(self) -> Record:
        """Return it as the contract's record (what the platform will decode)."""
        return Record(self.device_id, self.channel, self.body)


@dataclass(frozen=True, slots=True)
class Outcome:
    """What one Zigbee2MQTT message became: records to publish, or the unknown friendly name it came from."""

    records: tuple[Outgoing, ...] = ()
    unknown: str | None = None  # a friendly name that is not in the home's configuration
    ignored: bool = False  # not a device report (bridge/devices, …/set, …)


@dataclass(slots=True)
class SensorHealth:
    """What the bridge last knew of one sensor: its value, link and battery."""

    value: bool | None = None
    online: bool | None = None  # from availability; None while Zigbee2MQTT has said nothing
    heard_at: datetime | None = None
    last_event_at: datetime | None = None
    battery: int | None = None
    battery_low: bool | None = None
    voltage_mv: float | None = None
    linkquality: int | None = None
    weak_link: bool = False
    announced: bool = False  # an online status was published since the start


@dataclass(slots=True)
class Numbering:
    """Per-device sequence numbers that never go back, across restarts: at least the clock in milliseconds."""

    last: dict[str, int] = field(default_factory=dict)

    def next(self, device_id: str, now: datetime) -> int:
        """Return the device's next sequence number."""
        seq = max(self.last.get(device_id, -1) + 1, int(now.timestamp() * 1000))
        self.last[device_id] = seq
        return seq


class HomeMapper:
    """Turn one home's Zigbee2MQTT messages into contract records, publishing only real changes."""

    def __init__(self, config: HomeConfig) -> None:
        self.config = config
        self.sensors: dict[str, SensorHealth] = {s.device_id: SensorHealth() for s in config.sensors.values()}
        self.bridge_online: bool | None = None
        self._numbering = Numbering()

    def handle(self, topic_name: str, payload: bytes, now: datetime, retained: bool = False) -> Outcome:
        """Map one message; raise `ContractError` for a malformed payload of a configured sensor."""
        kind, name = classify(topic_name, self.config.base_topic)
        if kind is TopicKind.BRIDGE_STATE:
            return Outcome(self._bridge_state(payload, now))
        if kind is TopicKind.OTHER:
            return Outcome(ignored=True)
        sensor = self.config.sensors.get(name)
        if sensor is None:
            return Outcome(unknown=name)
        if kind is TopicKind.AVAILABILITY:
            return Outcome(self._availability(sensor, parse_availability(payload), now))
        return Outcome(self._state(sensor, parse_state(payload), now, retained))

    def hub_status(self, now: datetime, reason: str) -> Outgoing:
        """Return the hub's retained status: offline while Zigbee2MQTT itself says it is down."""
        state = "offline" if self.bridge_online is False else "online"
        return self._status(self.config.hub_id, now, state, reason)

    def hub_will(self, now: datetime, reason: str = "lwt") -> Outgoing:
        """Return the hub's offline status: its last will (numbered at the connect), or a clean stop."""
        return self._status(self.config.hub_id, now, "offline", reason)

    def heartbeats(self, now: datetime) -> list[Outgoing]:
        """Return the hourly online status (with battery) of every sensor known to be alive."""
        return [
            self._status(device_id, now, "online", "heartbeat", health.battery)
            for device_id, health in self.sensors.items()
            if self._alive(health, now)
        ]

    def _alive(self, health: SensorHealth, now: datetime) -> bool:
        if health.online is not None:
            return health.online
        return health.heard_at is not None and now - health.heard_at <= HEARD_RECENTLY

    def _bridge_state(self, payload: bytes, now: datetime) -> tuple[Outgoing, ...]:
        online = parse_availability(payload)
        if online == self.bridge_online:
            return ()
        self.bridge_online = online
        return (self.hub_status(now, "zigbee2mqtt_up" if online else "zigbee2mqtt_down"),)

    def _availability(self, sensor: SensorConfig, online: bool, now: datetime) -> tuple[Outgoing, ...]:
        health = self.sensors[sensor.device_id]
        if online == health.online:
            return ()
        health.online = online
        health.announced = online
        return (self._status(sensor.device_id, now, "online" if online else "offline", "availability", health.battery),)

    def _state(self, sensor: SensorConfig, state: SensorState, now: datetime, retained: bool) -> tuple[Outgoing, ...]:
        health = self.sensors[sensor.device_id]
        out: list[Outgoing] = []
        self._health(health, state)
        if not retained:
            health.heard_at = now
            if not health.announced and health.online is not False:
                health.announced = True
                out.append(self._status(sensor.device_id, now, "online", "seen", health.battery))
        fields = self._change(sensor, health, state, now, retained)
        if fields is not None:
            health.last_event_at = now
            out.append(self._event(sensor, fields, now))
        return tuple(out)

    @staticmethod
    def _health(health: SensorHealth, state: SensorState) -> None:
        if state.battery is not None:
            health.battery = round(state.battery)
        if state.battery_low is not None:
            health.battery_low = state.battery_low
        if state.voltage is not None:
            health.voltage_mv = state.voltage
        if state.linkquality is not None:
            health.linkquality = state.linkquality
            health.weak_link = state.linkquality < WEAK_LINK_LQI

    @staticmethod
    def _change(
        sensor: SensorConfig, health: SensorHealth, state: SensorState, now: datetime, retained: bool
    ) -> Fields | None:
        """Return the event fields when this state is news for the sensor, updating what it knows."""
        kind = SENSOR_KINDS[sensor.kind]
        if kind.actions:
            return kind.event(sensor, True) if state.action in kind.actions and not retained else None
        value = next((v for p in kind.reads if (v := getattr(state, p)) is not None), None)
        if value is None:
            return None
        previous, health.value = health.value, value
        last = health.last_event_at
        if retained or (previous is None and value != kind.news):
            return None  # a replayed state, or a first report that says nothing happened: the baseline
        if previous is None or previous != value:
            return kind.event(sensor, value)
        if kind.repeat is not None and value and (last is None or now - last >= kind.repeat):
            return kind.event(sensor, value)
        return None

    def _event(self, sensor: SensorConfig, fields: Fields, now: datetime) -> Outgoing:
        hub = self.config.hub_id
        seq = self._numbering.next(hub, now)
        body = validate(Channel.EVENT, {**fields, "sensor_id": sensor.device_id, "seq": seq, "ts": now})
        return Outgoing(hub, Channel.EVENT, body)

    def _status(self, device_id: str, now: datetime, state: str, reason: str, battery: int | None = None) -> Outgoing:
        seq = self._numbering.next(device_id, now)
        body = validate(Channel.STATUS, {"seq": seq, "ts": now, "state": state, "reason": reason, "battery": battery})
        return Outgoing(device_id, Channel.STATUS, body, retain=True)
