"""Watch-protocol messages → the contract's records, and the platform's commands → watch frames. No I/O.

A watch frame carries no sequence number, so the gateway makes one from the record's time:
``milliseconds × 8 + slot`` (a slot per record kind of one frame). A watch that sends an alarm again
because our reply was slow sends the same bytes with the same device time, so the copy gets the same
``seq`` and ``ts`` and storage keeps it once. Frames without a device time (``LK``, vitals) are stamped
with the time they arrived.

A watch keeps some readings only in some frames: vitals come without a battery level, which every
telemetry record needs, so `WatchState` remembers the last battery and whether the bracelet is worn
(taken off: the status word's ``taken_off`` alarm; worn again: a heart rate, which needs skin contact).
Vitals before any battery reading carry no record (``dropped``). Blood pressure has no field in
contract v1 and is decoded but not published.

Platform → device: the ``cmd`` topic carries the contract's ``ack`` and, for watch-protocol bracelets,
`LocateCommand` (``CR``), `ReportIntervalCommand` (``UPLOAD,seconds``) and `CallBackCommand`
(``CALL,number``), which `command_frame` encodes for the connection.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Final, TypeVar

from pydantic import ValidationError

from gateway.contract import (
    Body,
    CallBackCommand,
    Channel,
    DeviceCommand,
    FallEvent,
    LocateCommand,
    Location,
    Record,
    ReportIntervalCommand,
    SosEvent,
    Status,
    Telemetry,
    decode_command,
)
from gateway.errors import ContractError
from gateway.watch import Frame, Heartbeat, Message, Other, Position, StatusBit, Vitals, WatchError, encode_frame

T = TypeVar("T")
SLOTS: Final = {"telemetry": 0, "sos": 1, "fall": 2, "status": 3}
MAX_FUTURE: Final = timedelta(minutes=5)  # a device clock further ahead (a wrong time zone) is not trusted
KINDS: Final = ("sos", "fall", "position", "heartbeat", "vitals", "other")


def sequence(ts: datetime, slot: str) -> int:
    """Return the sequence number of a record of ``slot`` kind stamped ``ts``."""
    return int(ts.timestamp() * 1000) * 8 + SLOTS[slot]


@dataclass(frozen=True, slots=True)
class WatchState:
    """What the gateway remembers of one bracelet between its frames."""

    battery: int | None = None
    worn: bool = True
    alarm_times: tuple[tuple[bytes, datetime], ...] = ()  # the last alarms' contents and the times given them


@dataclass(frozen=True, slots=True)
class Translation:
    """The records one frame becomes, its kind, the state after it, and what it could not carry."""

    kind: str
    records: tuple[Record, ...]
    state: WatchState
    dropped: tuple[str, ...] = field(default=())

    @property
    def urgent(self) -> tuple[Record, ...]:
        """Return the records that need the platform's ``ack`` (SOS, fall)."""
        return tuple(r for r in self.records if r.needs_confirmation)


def _record(device_id: str, channel: Channel, build: Callable[[], Body]) -> Record:
    return Record(device_id, channel, _record_value(build))


def _record_value(build: Callable[[], T]) -> T:
    """Build a contract value; a value out of its range raises `WatchError` (``invalid``)."""
    try:
        return build()
    except ValidationError as exc:
        first = exc.errors(include_url=False, include_input=False)[0]
        where = ".".join(str(p) for p in first["loc"]) or "record"
        raise WatchError("invalid", f"{where}: {first['msg']}") from exc


def _battery(value: int) -> int:
    return max(0, min(100, value))  # some firmware says 101 while charging


def _heartbeat(frame: Frame, msg: Heartbeat, state: WatchState, now: datetime) -> Translation:
    battery = _battery(msg.battery) if msg.battery is not None else state.battery
    state = replace(state, battery=battery)
    records = [
        _record(
            frame.device_id,
            Channel.STATUS,
            lambda: Status(seq=sequence(now, "status"), ts=now, state="online", battery=battery),
        )
    ]
    if msg.battery is not None and battery is not None:
        records.append(
            _record(
                frame.device_id,
                Channel.TELEMETRY,
                lambda: Telemetry(
                    seq=sequence(now, "telemetry"), ts=now, battery=battery, steps=msg.steps, worn=state.worn
                ),
            )
        )
    return Translation("heartbeat", tuple(records), state)


def _alarm_time(frame: Frame, msg: Position, state: WatchState, now: datetime) -> tuple[datetime, WatchState]:
    """Stamp an alarm with its device time, or (no clock, or a clock ahead) with when it first arrived."""
    if msg.at is not None and msg.at - now <= MAX_FUTURE:
        return msg.at, state
    for content, ts in state.alarm_times:
        if content == frame.content:
            return ts, state  # the watch sent it again: same stamp, so it is stored once
    return now, replace(state, alarm_times=((frame.content, now), *state.alarm_times[:7]))


def _position(frame: Frame, msg: Position, state: WatchState, now: datetime) -> Translation:
    if msg.alarm:
        ts, state = _alarm_time(frame, msg, state, now)
    else:
        ts = msg.at if msg.at is not None and msg.at - now <= MAX_FUTURE else now
    worn = False if StatusBit.TAKEN_OFF in msg.flags else state.worn
    state = replace(state, battery=_battery(msg.battery), worn=worn)
    location = _record_value(lambda: Location(lat=msg.lat, lon=msg.lon)) if msg.has_fix else None
    device = frame.device_id
    records = [
        _record(
            device,
            Channel.TELEMETRY,
            lambda: Telemetry(
                seq=sequence(ts, "telemetry"),
                ts=ts,
                battery=_battery(msg.battery),
                steps=msg.steps,
                worn=worn,
                location=location,
            ),
        )
    ]
    kind = "position"
    if msg.alarm and StatusBit.FALL in msg.flags:
        records.insert(
            0, _record(device, Channel.EVENT, lambda: FallEvent(kind="fall", seq=sequence(ts, "fall"), ts=ts))
        )
        kind = "fall"
    if msg.alarm and StatusBit.SOS in msg.flags:
        records.insert(0, _record(device, Channel.EVENT, lambda: SosEvent(kind="sos", seq=sequence(ts, "sos"), ts=ts)))
        kind = "sos"
    return Translation(kind, tuple(records), state)


def _vitals(frame: Frame, msg: Vitals, state: WatchState, now: datetime) -> Translation:
    unmapped = tuple(n for n in ("systolic", "diastolic") if getattr(msg, n) is not None)
    measured = msg.heart_rate is not None or msg.spo2 is not None or msg.skin_temp_c is not None
    if not measured:
        return Translation("vitals", (), state, (*unmapped, "no_reading"))
    worn = True if msg.heart_rate else state.worn
    state = replace(state, worn=worn)
    battery = state.battery
    if battery is None:
        return Translation("vitals", (), state, (*unmapped, "no_battery_yet"))
    record = _record(
        frame.device_id,
        Channel.TELEMETRY,
        lambda: Telemetry(
            seq=sequence(now, "telemetry"),
            ts=now,
            heart_rate=msg.heart_rate,
            spo2=msg.spo2,
            skin_temp_c=msg.skin_temp_c,
            battery=battery,
            worn=worn,
        ),
    )
    return Translation("vitals", (record,), state, unmapped)


def translate(frame: Frame, message: Message, state: WatchState, now: datetime) -> Translation:
    """Turn one decoded frame into contract records (raise `WatchError` when a value breaks the contract)."""
    if isinstance(message, Heartbeat):
        return _heartbeat(frame, message, state, now)
    if isinstance(message, Position):
        return _position(frame, message, state, now)
    if isinstance(message, Vitals):
        return _vitals(frame, message, state, now)
    assert isinstance(message, Other)
    return Translation("other", (), state)


# --- platform → device ---------------------------------------------------------------------------------------

WatchCommand = LocateCommand | ReportIntervalCommand | CallBackCommand


def parse_command(payload: bytes) -> DeviceCommand | None:
    """Read a ``cmd`` payload; None when it is not one the watch gateway knows (it is then ignored)."""
    try:
        return decode_command(payload)
    except ContractError:
        return None


def command_content(command: WatchCommand) -> str:
    """Say a platform command as the bracelet's frame content: ``CR``, ``UPLOAD,seconds``, ``CALL,number``."""
    if isinstance(command, LocateCommand):
        return "CR"
    if isinstance(command, ReportIntervalCommand):
        return f"UPLOAD,{command.seconds}"
    return f"CALL,{command.number}"


def command_frame(vendor: str, device_id: str, command: WatchCommand) -> bytes:
    """Encode a platform command as the frame the bracelet reads."""
    return encode_frame(vendor, device_id, command_content(command))
