"""The bracelets' "watch" (3G) TCP protocol: frames, splitting and decoding, replies and commands. No I/O.

Bracelets sold as 智慧养老手环 (and children's watches) mostly speak one text protocol over TCP::

    [VENDOR*DEVICEID*LLLL*CONTENT]         e.g. [3G*8800000015*0006*LK,0,100]
    [VENDOR*DEVICEID*IIII*LLLL*CONTENT]    some vendors (ZJ) put a 4-hex-digit message index first

``VENDOR`` is two letters (3G, SG, ZJ, CS…), ``LLLL`` four hex digits: the byte length of ``CONTENT`` as
sent. Content is usually ASCII (``COMMAND,field,field…``) but voice and picture chunks are binary and may
hold any byte, ``[`` and ``]`` included, so `Splitter` never scans for the closing bracket: it reads the
header, skips ``LLLL`` bytes and checks that a ``]`` follows. Bytes that are not a frame are reported as
`Garbage` and skipped up to the next ``[``.

`decode()` turns a frame's content into one typed message (`Heartbeat`, `Position`, `Vitals`, or `Other`
for commands Anxin has no use for); `reply()` says what the server answers. The terminal-status word of
positions and alarms carries the alarms; its bits are `STATUS_BITS` (the layout published with the
protocol and used by public decoders: bit 16 SOS, 17 low battery, 20 taken off the wrist, 21/22 fall).
`gateway.watch_records` maps decoded messages to the contract's records; `gateway.watch_server` does I/O.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from enum import StrEnum
from typing import Final

from gateway.errors import ContractError

MAX_CONTENT_BYTES: Final = 32 * 1024  # a voice or picture chunk is a few KiB; LLLL could say up to 64 KiB
HEADER_MAX: Final = 96  # '[' + vendor + id (≤ 64) + index + length + separators, with room to spare
GARBAGE_HEAD: Final = 512  # bytes of a rejected stretch kept for its dead letter
_HEADER: Final = re.compile(rb"\[([A-Z0-9]{2,4})\*([A-Za-z0-9][A-Za-z0-9_-]{0,63})\*([0-9A-Fa-f]{4})\*")
_HEX4_STAR: Final = re.compile(rb"[0-9A-Fa-f]{0,4}\*?")


class WatchError(ContractError):
    """A watch frame or its content could not be taken; ``reason`` is the dead-letter reason code."""


@dataclass(frozen=True, slots=True)
class Frame:
    """One frame as sent: who sent it, the optional index and the raw content."""

    vendor: str
    device_id: str
    content: bytes
    index: str | None = None

    @property
    def command(self) -> str:
        """Return the command word (text before the first comma), e.g. ``LK`` or ``UD_LTE``."""
        head = self.content.split(b",", 1)[0]
        return head[:32].decode("ascii", "replace")

    def fields(self) -> list[str]:
        """Return the text fields after the command word (raise `WatchError` for non-text content)."""
        try:
            text = self.content.decode("ascii")
        except UnicodeDecodeError:
            raise WatchError("invalid", f"{self.command}: content is not text") from None
        return text.split(",")[1:]

    def encode(self) -> bytes:
        """Return the frame's bytes."""
        return encode_frame(self.vendor, self.device_id, self.content, self.index)


def encode_frame(vendor: str, device_id: str, content: bytes | str, index: str | None = None) -> bytes:
    """Build ``[VENDOR*ID*(INDEX*)LLLL*CONTENT]``."""
    body = content.encode("ascii") if isinstance(content, str) else content
    if len(body) > 0xFFFF:
        raise WatchError("too_large", f"{len(body)} bytes do not fit a 4-hex-digit length")
    middle = f"{index}*" if index is not None else ""
    return f"[{vendor}*{device_id}*{middle}{len(body):04X}*".encode() + body + b"]"


@dataclass(frozen=True, slots=True)
class Garbage:
    """Bytes that were not a frame: skipped, with why and the first bytes of them."""

    reason: str  # "bad_frame" or "too_large"
    detail: str
    head: bytes
    size: int


@dataclass(frozen=True, slots=True)
class _Header:
    vendor: str
    device_id: str
    index: str | None
    length: int
    end: int  # where the content starts


@dataclass(slots=True)
class Splitter:
    """Cut a byte stream into frames, whatever pieces it arrives in; report and skip what is not a frame."""

    max_content: int = MAX_CONTENT_BYTES
    _buf: bytearray = field(default_factory=bytearray)

    @property
    def pending(self) -> int:
        """Return how many bytes wait for the rest of their frame."""
        return len(self._buf)

    def feed(self, data: bytes) -> list[Frame | Garbage]:
        """Add received bytes; return the frames (and garbage) they complete, in stream order."""
        self._buf += data
        out: list[Frame | Garbage] = []
        while self._buf:
            item = self._next()
            if item is None:
                break
            out.append(item)
        return out

    def _next(self) -> Frame | Garbage | None:
        buf = self._buf
        if buf[0] != 0x5B:  # '['
            start = buf.find(b"[")
            return self._skip(len(buf) if start < 0 else start, "bad_frame", "bytes outside a frame")
        header = self._header()
        if not isinstance(header, _Header):
            return header
        if header.length > self.max_content:
            return self._skip_bracket("too_large", f"content of {header.length} bytes > {self.max_content}")
        stop = header.end + header.length
        if len(buf) <= stop:
            return None
        if buf[stop] != 0x5D:  # ']'
            return self._skip_bracket("bad_frame", f"no ']' after the {header.length} bytes the header announced")
        frame = Frame(header.vendor, header.device_id, bytes(buf[header.end : stop]), header.index)
        del buf[: stop + 1]
        return frame

    def _header(self) -> _Header | Garbage | None:
        """Read the header at the start of the buffer; None while it may still be arriving."""
        buf = self._buf
        match = _HEADER.match(buf, 0, HEADER_MAX)
        if match is None:
            if len(buf) < HEADER_MAX and _could_be_header(bytes(buf)):
                return None
            return self._skip_bracket("bad_frame", "not a frame header")
        vendor, device_id, first = (g.decode("ascii") for g in match.groups())
        end = match.end()
        second = _HEX4_STAR.match(buf, end, end + 5)
        if second is not None and second.end() - end == 5:  # [V*ID*IIII*LLLL*…]
            return _Header(vendor, device_id, first, int(buf[end : end + 4], 16), end + 5)
        if second is not None and second.end() == len(buf):
            return None  # what follows could still become a length after an index: wait
        return _Header(vendor, device_id, None, int(first, 16), end)

    def _skip_bracket(self, reason: str, detail: str) -> Garbage:
        """Skip a '[' that does not start a frame, and everything up to the next '['."""
        start = self._buf.find(b"[", 1)
        return self._skip(len(self._buf) if start < 0 else start, reason, detail)

    def _skip(self, n: int, reason: str, detail: str) -> Garbage:
        head = bytes(self._buf[: min(n, GARBAGE_HEAD)])
        del self._buf[:n]
        return Garbage(reason, detail, head, n)


def _could_be_header(buf: bytes) -> bool:
    """Tell whether ``buf`` (shorter than a header) may still grow into one."""
    parts = buf[1:].split(b"*")  # a header's shape so far: '[' + vendor + '*' + id + '*' + hex digits
    if len(parts) > 3 or not re.fullmatch(rb"[A-Z0-9]{0,4}", parts[0]):
        return False
    if len(parts) >= 2 and not re.fullmatch(rb"[A-Za-z0-9_-]{0,64}", parts[1]):
        return False
    return len(parts) < 3 or re.fullmatch(rb"[0-9A-Fa-f]{0,4}", parts[2]) is not None


# --- decoded messages ---------------------------------------------------------------------------------------


class StatusBit(StrEnum):
    """What one bit of the terminal-status word says."""

    LOW_BATTERY = "low_battery"
    OUT_OF_FENCE = "out_of_fence"
    INTO_FENCE = "into_fence"
    SOS = "sos"
    LOW_BATTERY_ALARM = "low_battery_alarm"
    OUT_OF_FENCE_ALARM = "out_of_fence_alarm"
    INTO_FENCE_ALARM = "into_fence_alarm"
    TAKEN_OFF = "taken_off"
    FALL = "fall"


STATUS_BITS: Final[dict[int, StatusBit]] = {
    0: StatusBit.LOW_BATTERY,
    1: StatusBit.OUT_OF_FENCE,
    2: StatusBit.INTO_FENCE,
    16: StatusBit.SOS,
    17: StatusBit.LOW_BATTERY_ALARM,
    18: StatusBit.OUT_OF_FENCE_ALARM,
    19: StatusBit.INTO_FENCE_ALARM,
    20: StatusBit.TAKEN_OFF,
    21: StatusBit.FALL,
    22: StatusBit.FALL,  # some firmware reports the fall alarm one bit higher
}


def status_flags(word: int) -> frozenset[StatusBit]:
    """Return the meanings of the bits set in a terminal-status word."""
    return frozenset(flag for bit, flag in STATUS_BITS.items() if word >> bit & 1)


@dataclass(frozen=True, slots=True)
class Heartbeat:
    """``LK``: the link is alive; with steps, rolls (turns in bed) and battery when the firmware sends them."""

    steps: int | None = None
    rolls: int | None = None
    battery: int | None = None


@dataclass(frozen=True, slots=True)
class Position:
    """``UD…`` (a report) or ``AL…`` (an alarm): the device time, a fix when valid, battery, steps, status."""

    at: datetime | None  # None when the device has no clock yet (date 000000)
    valid: bool
    lat: float
    lon: float
    speed_kmh: float
    battery: int
    steps: int
    flags: frozenset[StatusBit]
    alarm: bool

    @property
    def has_fix(self) -> bool:
        """Tell whether the position is a real fix (valid, and not the 0,0 of no fix)."""
        return self.valid and (self.lat, self.lon) != (0.0, 0.0)


@dataclass(frozen=True, slots=True)
class Vitals:
    """Heart rate, blood pressure, SpO2 or skin temperature measured by the bracelet."""

    heart_rate: int | None = None
    systolic: int | None = None
    diastolic: int | None = None
    spo2: int | None = None
    skin_temp_c: float | None = None


@dataclass(frozen=True, slots=True)
class Other:
    """A command Anxin takes no data from (``TKQ``, ``CONFIG``, voice chunks…); it may still need a reply."""

    command: str


Message = Heartbeat | Position | Vitals | Other


def _int(value: str, what: str) -> int:
    try:
        return int(value.strip() or "0")
    except ValueError:
        raise WatchError("invalid", f"{what}: {value[:20]!r} is not a number") from None


def _float(value: str, what: str) -> float:
    try:
        return float(value.strip() or "0")
    except ValueError:
        raise WatchError("invalid", f"{what}: {value[:20]!r} is not a number") from None


def _optional(values: list[str], i: int, what: str) -> int | None:
    """Return field ``i`` as an int, None when absent, empty or zero (a measurement not taken)."""
    if i >= len(values) or not values[i].strip():
        return None
    return _int(values[i], what) or None


def _device_time(date: str, time: str, utc_offset: timedelta) -> datetime | None:
    """Read ``ddmmyy`` and ``hhmmss`` in the device's zone; None for the all-zero date of no clock."""
    if date.strip("0") == "":
        return None
    try:
        local = datetime.strptime(date + time, "%d%m%y%H%M%S")  # noqa: DTZ007 - the zone is given next
    except ValueError:
        raise WatchError("invalid", f"bad device time {date!r} {time!r}") from None
    return local.replace(tzinfo=timezone(utc_offset)).astimezone(UTC)


def _coordinate(value: str, hemisphere: str, negative: str, what: str) -> float:
    number = _float(value, what)
    return -abs(number) if hemisphere == negative else number


def decode_position(frame: Frame, utc_offset: timedelta, *, alarm: bool) -> Position:
    """Decode ``date,time,A|V,lat,N|S,lon,E|W,speed,course,alt,sats,gsm,battery,steps,rolls,status,…``."""
    f = frame.fields()
    if len(f) < 16:
        raise WatchError("invalid", f"{frame.command}: {len(f)} fields, a position has at least 16")
    try:
        word = int(f[15], 16)
    except ValueError:
        raise WatchError("invalid", f"{frame.command}: status {f[15][:12]!r} is not hex") from None
    return Position(
        at=_device_time(f[0], f[1], utc_offset),
        valid=f[2] == "A",
        lat=_coordinate(f[3], f[4], "S", "latitude"),
        lon=_coordinate(f[5], f[6], "W", "longitude"),
        speed_kmh=_float(f[7], "speed"),
        battery=_int(f[12], "battery"),
        steps=_int(f[13], "steps"),
        flags=status_flags(word),
        alarm=alarm,
    )


def _heartbeat(frame: Frame, _offset: timedelta) -> Heartbeat:
    f = frame.fields()
    if len(f) < 3:
        return Heartbeat()  # a bare LK, or LK with a field or two that some firmware adds
    return Heartbeat(_int(f[0], "steps"), _int(f[1], "rolls"), _int(f[2], "battery"))


def _heart(frame: Frame, _offset: timedelta) -> Vitals:
    return Vitals(heart_rate=_optional(frame.fields(), 0, "heart rate"))


def _blood_pressure(frame: Frame, _offset: timedelta) -> Vitals:
    f = frame.fields()  # bphrt: systolic,diastolic,heart rate,…   blood: systolic,diastolic
    return Vitals(
        heart_rate=_optional(f, 2, "heart rate"),
        systolic=_optional(f, 0, "systolic"),
        diastolic=_optional(f, 1, "diastolic"),
    )


def _oxygen(frame: Frame, _offset: timedelta) -> Vitals:
    f = [v for v in frame.fields() if v.strip()]  # oxygen,SPO2 — some firmware sends oxygen,HR,SPO2
    return Vitals(spo2=_optional(f, len(f) - 1, "SpO2")) if f else Vitals()


def _temperature(frame: Frame, _offset: timedelta) -> Vitals:
    f = frame.fields()  # btemp2,measured(0|1),°C
    if len(f) < 2 or _int(f[0], "measured") == 0:
        return Vitals()
    return Vitals(skin_temp_c=_float(f[1], "temperature"))


@dataclass(frozen=True, slots=True)
class CommandKind:
    """How one command word is decoded, and what the server answers (None: no answer)."""

    decode: Callable[[Frame, timedelta], Message]
    reply: str | None = None
    echo: bool = False  # answer with the command word itself (TKQ, TKQ2…)


def _position(alarm: bool) -> Callable[[Frame, timedelta], Message]:
    return lambda frame, offset: decode_position(frame, offset, alarm=alarm)


def _other(frame: Frame, _offset: timedelta) -> Other:
    return Other(frame.command)


# Positions and alarms come as UD, UD2 (blind-spot resend), UD3, UD_LTE, UD_WCDMA…, AL, AL_LTE… and WT.
COMMANDS: Final[dict[str, CommandKind]] = {
    "LK": CommandKind(_heartbeat, reply="LK"),
    "UD": CommandKind(_position(alarm=False)),
    "WT": CommandKind(_position(alarm=False)),
    "AL": CommandKind(_position(alarm=True), reply="AL"),
    "heart": CommandKind(_heart),
    "hrtstart": CommandKind(_heart),
    "PULSE": CommandKind(_heart),
    "bphrt": CommandKind(_blood_pressure),
    "BLOOD": CommandKind(_blood_pressure),
    "oxygen": CommandKind(_oxygen),
    "btemp2": CommandKind(_temperature),
    "TKQ": CommandKind(_other, echo=True),
    "TKQ2": CommandKind(_other, echo=True),
    "INIT": CommandKind(_other, reply="INIT,1"),
}
_KEYS_BY_LOWER: Final = {k.lower(): k for k in COMMANDS}


def command_kind(word: str) -> CommandKind | None:
    """Find how a command word is handled (``UD_LTE`` as ``UD``, ``AL_LTE`` as ``AL``), or None."""
    key = _KEYS_BY_LOWER.get(word.lower())
    if key is None:
        family = word.split("_", 1)[0].rstrip("0123456789")  # UD2, UD_LTE, AL_WCDMA
        key = family if family in ("UD", "AL") else None
    return COMMANDS[key] if key is not None else None


def decode(frame: Frame, utc_offset: timedelta = timedelta(hours=8)) -> Message:
    """Decode a frame's content; device times are read in ``utc_offset`` (raise `WatchError` if malformed)."""
    kind = command_kind(frame.command)
    return _other(frame, utc_offset) if kind is None else kind.decode(frame, utc_offset)


def reply(frame: Frame) -> bytes | None:
    """Return the server's answer to a frame as the protocol expects it (None when it expects none)."""
    kind = command_kind(frame.command)
    if kind is None:
        return None
    content = frame.command if kind.echo else kind.reply
    return None if content is None else encode_frame(frame.vendor, frame.device_id, content, frame.index)
