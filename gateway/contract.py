"""The device wire contract, version 1: topics and JSON payloads as typed, frozen models.

This module is all a device vendor (and `simulators/`) needs. Bytes become records in `decode()`
and nowhere else; every rejection is a `ContractError` with a stable reason code that ends up in
the dead-letter table.

Topics: ``{prefix}/{device_id}/{channel}`` with ``prefix`` = ``ec/v1`` and channel one of
``telemetry``, ``event``, ``status`` (retained, also the last will) and ``cmd`` (platform → device).
The device id in the topic is the identity: a payload whose ``device_id`` names another device is
rejected.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Annotated, Final, Literal

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    FiniteFloat,
    TypeAdapter,
    ValidationError,
)

from gateway.errors import ContractError

TOPIC_PREFIX: Final = "ec/v1"
MAX_PAYLOAD_BYTES: Final = 128 * 1024
MAX_IMPACT_SAMPLES: Final = 4000
DEVICE_ID_PATTERN: Final = r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$"
_DEVICE_ID_RE: Final = re.compile(DEVICE_ID_PATTERN)

DeviceId = Annotated[str, Field(pattern=DEVICE_ID_PATTERN)]
Seq = Annotated[int, Field(ge=0, le=2**63 - 1)]
# A device clock, held as UTC: the same instant, with one shared time zone object. Parsed as sent, each
# time would carry a zone object of its own, and detectors keep hundreds of thousands of them, each one
# more object for the garbage collector to walk through while the process waits.
DeviceTime = Annotated[AwareDatetime, AfterValidator(lambda at: at.astimezone(UTC))]
Name = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,31}$")]


class Channel(StrEnum):
    """The last topic level: what a message is."""

    TELEMETRY = "telemetry"
    EVENT = "event"
    STATUS = "status"
    CMD = "cmd"


class _Message(BaseModel):
    """Fields every device message carries: its own sequence number and the device clock."""

    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)

    device_id: DeviceId | None = None
    seq: Seq
    ts: DeviceTime


class Location(BaseModel):
    """A position fix (WGS-84) with its accuracy."""

    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)

    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)
    accuracy_m: float | None = Field(default=None, ge=0, le=100_000)


class Telemetry(_Message):
    """Periodic bracelet readings (about every 30–60 s). Vitals are absent when not worn."""

    heart_rate: int | None = Field(default=None, ge=20, le=250)
    spo2: int | None = Field(default=None, ge=50, le=100)
    steps: int | None = Field(default=None, ge=0, le=200_000)
    battery: int = Field(ge=0, le=100)
    worn: bool
    skin_temp_c: float | None = Field(default=None, ge=15, le=45)
    location: Location | None = None


class _Event(_Message):
    """An event; ``sensor_id`` names the sensor when a home hub relays it."""

    sensor_id: DeviceId | None = None


class SosEvent(_Event):
    """The SOS key was pressed."""

    kind: Literal["sos"]


class OkEvent(_Event):
    """The "I'm OK" key was pressed: cancels a pending fall or SOS of this resident."""

    kind: Literal["ok"]


class FallEvent(_Event):
    """The bracelet's own fall detection fired."""

    kind: Literal["fall"]
    confidence: float | None = Field(default=None, ge=0, le=1)


class ImpactEvent(_Event):
    """A raw accelerometer window around a detected impact, in g, gravity included.

    ``ts`` is the time of the first sample; samples are evenly spaced at ``rate_hz``.
    """

    kind: Literal["impact"]
    rate_hz: float = Field(ge=5, le=400)
    # Finite: NaN and Infinity cannot be stored in jsonb, and would stall the batch that carries them.
    samples: list[tuple[FiniteFloat, FiniteFloat, FiniteFloat]] = Field(min_length=8, max_length=MAX_IMPACT_SAMPLES)


class MotionEvent(_Event):
    """A motion sensor saw movement in a room."""

    kind: Literal["motion"]
    room: Name


class DoorEvent(_Event):
    """A door contact opened or closed (``door`` is ``front`` for the way out)."""

    kind: Literal["door"]
    door: Name = "front"
    state: Literal["open", "closed"]


class BedEvent(_Event):
    """A bed-occupancy mat changed state."""

    kind: Literal["bed"]
    state: Literal["occupied", "vacated"]


class BathroomEvent(_Event):
    """The bathroom presence sensor changed state."""

    kind: Literal["bathroom"]
    state: Literal["occupied", "vacated"]


class SmokeEvent(_Event):
    """A smoke detector raised or cleared its alarm."""

    kind: Literal["smoke"]
    state: Literal["alarm", "clear"]


class GasEvent(_Event):
    """A gas detector raised or cleared its alarm."""

    kind: Literal["gas"]
    state: Literal["alarm", "clear"]


class WaterLeakEvent(_Event):
    """A water-leak sensor raised or cleared its alarm."""

    kind: Literal["water_leak"]
    state: Literal["alarm", "clear"]


class PowerUseEvent(_Event):
    """Mean electrical power drawn since the last report."""

    kind: Literal["power_use"]
    watts: float = Field(ge=0, le=50_000)


class WaterUseEvent(_Event):
    """Water drawn since the last report."""

    kind: Literal["water_use"]
    litres: float = Field(ge=0, le=10_000)


Event = Annotated[
    SosEvent
    | OkEvent
    | FallEvent
    | ImpactEvent
    | MotionEvent
    | DoorEvent
    | BedEvent
    | BathroomEvent
    | SmokeEvent
    | GasEvent
    | WaterLeakEvent
    | PowerUseEvent
    | WaterUseEvent,
    Field(discriminator="kind"),
]


class Status(_Message):
    """Device status; published retained. The last will carries ``state: offline``."""

    state: Literal["online", "offline"]
    firmware: str | None = Field(default=None, max_length=32, pattern=r"^[^\x00-\x1f\x7f]*$")  # no NUL: text
    battery: int | None = Field(default=None, ge=0, le=100)
    reason: Name | None = None


class Command(BaseModel):
    """Platform → device on ``cmd``. ``ack`` confirms that event ``ack_seq`` is stored."""

    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)

    kind: Literal["ack"]
    ack_seq: Seq
    ts: DeviceTime


class LocateCommand(BaseModel):
    """Platform → device on ``cmd``: report a position now (an operator locating a resident)."""

    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)

    kind: Literal["locate"]
    ts: DeviceTime | None = None


class ReportIntervalCommand(BaseModel):
    """Platform → device on ``cmd``: report the position every ``seconds``."""

    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)

    kind: Literal["report_interval"]
    seconds: int = Field(ge=10, le=86_400)
    ts: DeviceTime | None = None


class CallBackCommand(BaseModel):
    """Platform → device on ``cmd``: call ``number`` (the operator speaks to the resident through the bracelet)."""

    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)

    kind: Literal["call_back"]
    number: str = Field(pattern=r"^\+?[0-9]{3,20}$")
    ts: DeviceTime | None = None


# Everything the platform may send on a device's ``cmd`` topic; a device ignores kinds it cannot do.
DeviceCommand = Annotated[
    Command | LocateCommand | ReportIntervalCommand | CallBackCommand, Field(discriminator="kind")
]
_COMMANDS: Final[TypeAdapter[DeviceCommand]] = TypeAdapter(DeviceCommand)


Body = Telemetry | Event | Status


@dataclass(frozen=True, slots=True)
class EventKind:
    """What the platform does with an event kind."""

    name: str
    urgent: bool  # goes to the alert path at once, not after the batch
    confirm: bool  # acknowledged to the device on its cmd topic once stored


EVENT_KINDS: Final[dict[str, EventKind]] = {
    k.name: k
    for k in (
        EventKind("sos", urgent=True, confirm=True),
        EventKind("fall", urgent=True, confirm=True),
        EventKind("ok", urgent=True, confirm=True),
        EventKind("impact", urgent=True, confirm=True),
        EventKind("smoke", urgent=True, confirm=True),
        EventKind("gas", urgent=True, confirm=True),
        EventKind("water_leak", urgent=True, confirm=True),
        EventKind("motion", urgent=False, confirm=False),
        EventKind("door", urgent=False, confirm=False),
        EventKind("bed", urgent=False, confirm=False),
        EventKind("bathroom", urgent=False, confirm=False),
        EventKind("power_use", urgent=False, confirm=False),
        EventKind("water_use", urgent=False, confirm=False),
    )
}

_ADAPTERS: Final[dict[Channel, TypeAdapter[Body]]] = {
    Channel.TELEMETRY: TypeAdapter(Telemetry),
    Channel.EVENT: TypeAdapter(Event),
    Channel.STATUS: TypeAdapter(Status),
}


@dataclass(frozen=True, slots=True)
class Record:
    """One decoded device message: who sent it, on which channel, and what it says."""

    device_id: str
    channel: Channel
    body: Body

    @property
    def urgent(self) -> bool:
        """Tell whether this record must reach the alert path before the next batch."""
        return self.channel is Channel.EVENT and EVENT_KINDS[self.body.kind].urgent  # type: ignore[union-attr]

    @property
    def needs_confirmation(self) -> bool:
        """Tell whether the device waits for an ``ack`` command for this record."""
        return self.channel is Channel.EVENT and EVENT_KINDS[self.body.kind].confirm  # type: ignore[union-attr]


def topic(device_id: str, channel: Channel, prefix: str = TOPIC_PREFIX) -> str:
    """Return the topic on which ``device_id`` talks on ``channel``."""
    return f"{prefix}/{device_id}/{channel.value}"


def parse_topic(name: str, prefix: str = TOPIC_PREFIX) -> tuple[str, Channel]:
    """Split a device topic into its device id and channel, or raise ``ContractError``."""
    head, sep, rest = name.rpartition("/")
    base, sep2, device_id = head.rpartition("/")
    if not (sep and sep2) or base != prefix or not _DEVICE_ID_RE.match(device_id):
        raise ContractError("bad_topic", f"not a device topic under {prefix}/: {name[:200]!r}")
    try:
        channel = Channel(rest)
    except ValueError:
        raise ContractError("bad_topic", f"unknown channel {rest[:40]!r}") from None
    if channel is Channel.CMD:
        raise ContractError("bad_topic", "cmd is platform → device; devices do not publish on it")
    return device_id, channel


def decode(
    name: str,
    payload: bytes,
    now: datetime,
    prefix: str = TOPIC_PREFIX,
    max_future: timedelta = timedelta(minutes=5),
) -> Record:
    """Turn one MQTT message into a `Record`, or raise `ContractError` saying why not."""
    device_id, channel = parse_topic(name, prefix)
    if len(payload) > MAX_PAYLOAD_BYTES:
        raise ContractError("too_large", f"{len(payload)} bytes > {MAX_PAYLOAD_BYTES}")
    try:
        body = _ADAPTERS[channel].validate_json(payload)
    except ValidationError as exc:
        raise ContractError(_reason(exc), _summary(exc)) from exc
    if body.device_id is not None and body.device_id != device_id:
        raise ContractError("identity_mismatch", f"payload claims {body.device_id!r} on {device_id!r}'s topic")
    if body.ts - now > max_future:
        raise ContractError("future_timestamp", f"device time {body.ts.isoformat()} is ahead of {now.isoformat()}")
    return Record(device_id, channel, body)


def validate(channel: Channel, data: dict[str, object]) -> Body:
    """Build a message body from Python values (rows read back from storage), with the same checks."""
    return _ADAPTERS[channel].validate_python(data)


def decode_stored(device_id: str, channel: Channel, payload: bytes) -> Record:
    """Turn a message stored as `encode` wrote it (the detection feed) back into its `Record`."""
    return Record(device_id, channel, _ADAPTERS[channel].validate_json(payload))


def encode(body: BaseModel) -> bytes:
    """Serialise a message body the way devices send it (compact JSON, no nulls)."""
    return body.model_dump_json(exclude_none=True).encode()


def decode_command(payload: bytes) -> DeviceCommand:
    """Read a ``cmd`` payload (a device's side); raise `ContractError` for anything else."""
    try:
        return _COMMANDS.validate_json(payload)
    except ValidationError as exc:
        raise ContractError(_reason(exc), _summary(exc)) from exc


def command_ack(ack_seq: int, now: datetime) -> bytes:
    """Build the ``cmd`` payload that confirms a stored event to its device."""
    return encode(Command(kind="ack", ack_seq=ack_seq, ts=now))


def _reason(exc: ValidationError) -> str:
    kinds = {e["type"] for e in exc.errors(include_url=False)}
    if kinds & {"json_invalid", "json_type"}:
        return "bad_json"
    return "invalid"


def _summary(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors(include_url=False, include_input=False)[:5]:
        where = ".".join(str(p) for p in err["loc"]) or "payload"
        parts.append(f"{where}: {err['msg']}")
    return "; ".join(parts)[:500]


def json_schemas() -> dict[str, dict[str, object]]:
    """Return the JSON Schema of every message, keyed by channel."""
    return {
        "telemetry": Telemetry.model_json_schema(),
        "event": TypeAdapter(Event).json_schema(),
        "status": Status.model_json_schema(),
        "cmd": _COMMANDS.json_schema(),
    }


def dumps_schemas() -> str:
    """Return all JSON Schemas as one pretty JSON document."""
    return json.dumps(json_schemas(), indent=2, ensure_ascii=False, sort_keys=True)
