"""Simulated bracelets that speak the watch (3G) protocol over TCP to `anxin gateway watch`, as real ones do.

`WatchTransport` takes the model's messages like `MqttTransport` and sends the bracelets' ones as watch
frames on one TCP connection per bracelet; every other device's message goes on to the MQTT transport it
wraps (home hubs and sensors keep speaking MQTT). What a bracelet's message becomes:

=====================  ==========================================================================
message                frames
=====================  ==========================================================================
telemetry              ``UD`` (device time, the fix or ``V`` without one, battery, steps), then
                       ``heart,HR`` and ``oxygen,SPO2`` when measured
``sos`` / ``fall``     ``AL`` with status bit 16 / 21, sent again until the gateway answers ``AL``
status online          ``LK``; status offline: the connection is closed
``ok``, ``impact``     nothing: the protocol has no such message (counted as ``unsupported``)
=====================  ==========================================================================

Device times are written in the bracelets' zone (``utc_offset``), as the gateway reads them. Call
`WatchTransport.tick()` now and then: it reads the gateway's answers and resends unanswered alarms.
"""

from __future__ import annotations

import contextlib
import select
import socket
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Final

from gateway.contract import Channel, FallEvent, SosEvent, Status, Telemetry, decode_stored, parse_topic
from gateway.watch import Frame, Splitter, encode_frame
from simulators.transport import MqttTransport, Outgoing

VENDOR: Final = "3G"
STATUS_WORDS: Final = {"sos": 1 << 16, "fall": 1 << 21}


def _clock(ts: datetime, utc_offset: timedelta) -> str:
    return ts.astimezone(timezone(utc_offset)).strftime("%d%m%y,%H%M%S")


def position_content(command: str, body: Telemetry, utc_offset: timedelta, status: int = 0) -> str:
    """Write a ``UD``/``AL`` content: ``date,time,A|V,lat,N|S,lon,E|W,speed,course,alt,sats,gsm,battery,steps,…``."""
    fix, lat, lon = ("A", body.location.lat, body.location.lon) if body.location else ("V", 0.0, 0.0)
    where = f"{abs(lat):.6f},{'S' if lat < 0 else 'N'},{abs(lon):.6f},{'W' if lon < 0 else 'E'}"
    return (
        f"{command},{_clock(body.ts, utc_offset)},{fix},{where},0.00,0.0,0.0,{7 if fix == 'A' else 0},80,"
        f"{body.battery},{body.steps or 0},0,{status:08X},1,1,460,0,9360,4082,131"
    )


def frames_for(device_id: str, body: object, utc_offset: timedelta, last: Telemetry | None) -> list[bytes]:
    """Return the frames a bracelet sends for one contract message (none when the protocol has no such one)."""
    if isinstance(body, Telemetry):
        out = [encode_frame(VENDOR, device_id, position_content("UD", body, utc_offset))]
        if body.heart_rate is not None:
            out.append(encode_frame(VENDOR, device_id, f"heart,{body.heart_rate}"))
        if body.spo2 is not None:
            out.append(encode_frame(VENDOR, device_id, f"oxygen,{body.spo2}"))
        return out
    if isinstance(body, SosEvent | FallEvent):
        state = last or Telemetry(seq=0, ts=body.ts, battery=80, worn=True)
        where = state.model_copy(update={"ts": body.ts})
        return [encode_frame(VENDOR, device_id, position_content("AL", where, utc_offset, STATUS_WORDS[body.kind]))]
    if isinstance(body, Status) and body.state == "online":
        return [encode_frame(VENDOR, device_id, "LK")]
    return []


@dataclass(slots=True)
class _Bracelet:
    sock: socket.socket | None = None
    splitter: Splitter = field(default_factory=Splitter)
    alarms: dict[bytes, float] = field(default_factory=dict)  # unanswered AL frame → when to send it again
    last: Telemetry | None = None


class WatchTransport:
    """Send bracelets' messages to the watch gateway over TCP, everything else over MQTT."""

    def __init__(
        self,
        address: tuple[str, int],
        bracelets: Iterable[str],
        mqtt: MqttTransport | None = None,
        *,
        utc_offset: timedelta = timedelta(hours=8),
        resend_after: float = 5.0,
    ) -> None:
        self.address, self._mqtt, self._offset, self._resend = address, mqtt, utc_offset, resend_after
        self._bracelets = {b: _Bracelet() for b in bracelets}
        self.stats: Counter[str] = Counter()

    def publish(self, out: Outgoing) -> None:
        """Send one message: as watch frames for a bracelet, on MQTT for any other device."""
        bracelet = self._bracelets.get(out.device_id)
        if bracelet is None:
            if self._mqtt is not None:
                self._mqtt.publish(out)
            return
        _device, channel = parse_topic(out.topic, out.topic.rsplit("/", 2)[0])
        body = decode_stored(out.device_id, channel, out.payload).body
        if isinstance(body, Status) and body.state == "offline":
            self._hang_up(bracelet)
            return
        frames = frames_for(out.device_id, body, self._offset, bracelet.last)
        if isinstance(body, Telemetry):
            bracelet.last = body
        if not frames:
            self.stats["unsupported"] += 1
            return
        for frame in frames:
            if channel is Channel.EVENT:
                bracelet.alarms[frame] = time.monotonic() + self._resend
            self._send(out.device_id, bracelet, frame)

    def tick(self) -> None:
        """Read the gateway's answers; send alarms it has not answered again."""
        self._read()
        now = time.monotonic()
        for device_id, bracelet in self._bracelets.items():
            for frame, due in list(bracelet.alarms.items()):
                if due <= now:
                    bracelet.alarms[frame] = now + self._resend
                    self._send(device_id, bracelet, frame)
                    self.stats["resent"] += 1
        if self._mqtt is not None:
            self._mqtt.tick()

    @property
    def unconfirmed(self) -> int:
        """Return how many alarms wait for the gateway's ``AL``."""
        return sum(len(b.alarms) for b in self._bracelets.values())

    def drain(self, timeout: float) -> None:
        """Wait (reading answers) until every alarm is answered, at most ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while self.unconfirmed and time.monotonic() < deadline:
            self.tick()
            time.sleep(0.05)

    def close(self) -> None:
        """Hang up every bracelet and close the MQTT transport."""
        for bracelet in self._bracelets.values():
            self._hang_up(bracelet)
        if self._mqtt is not None:
            self._mqtt.close()

    def as_json(self) -> dict[str, int]:
        """Return the counters (frames, answers, resends, unsupported messages, alarms unanswered)."""
        return {**self.stats, "unconfirmed": self.unconfirmed}

    def _send(self, device_id: str, bracelet: _Bracelet, frame: bytes) -> None:
        for _attempt in range(2):  # a connection the gateway closed is made again once
            if bracelet.sock is None:
                try:
                    bracelet.sock = socket.create_connection(self.address, timeout=10)
                except OSError:
                    self.stats["connect_failed"] += 1
                    return
                bracelet.splitter = Splitter()
            try:
                bracelet.sock.sendall(frame)
                self.stats["frames"] += 1
                return
            except OSError:
                self._hang_up(bracelet)

    def _read(self) -> None:
        socks = {b.sock: b for b in self._bracelets.values() if b.sock is not None}
        if not socks:
            return
        readable, _, _ = select.select(list(socks), [], [], 0)
        for sock in readable:
            bracelet = socks[sock]
            try:
                data = sock.recv(65536)
            except OSError:
                data = b""
            if not data:
                self._hang_up(bracelet)
                continue
            for item in bracelet.splitter.feed(data):
                if isinstance(item, Frame):
                    self._answered(bracelet, item)

    def _answered(self, bracelet: _Bracelet, frame: Frame) -> None:
        self.stats[f"answer_{frame.command}"] += 1
        if frame.command == "AL":
            bracelet.alarms.clear()  # the answer names no alarm: it confirms what was sent

    @staticmethod
    def _hang_up(bracelet: _Bracelet) -> None:
        if bracelet.sock is not None:
            with contextlib.suppress(OSError):
                bracelet.sock.close()
            bracelet.sock = None
