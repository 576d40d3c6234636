"""The watch-protocol codec: splitting (hypothesis properties), decoding, records, replies and commands.

The frames here are written for these tests from the protocol's published description (field order of
positions and alarms, the status word's bits, the replies); none is taken from another project's tests.
"""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.contract import Channel, FallEvent, SosEvent, Status, Telemetry
from gateway.watch import (
    Frame,
    Garbage,
    Heartbeat,
    Other,
    Position,
    Splitter,
    StatusBit,
    Vitals,
    WatchError,
    decode,
    encode_frame,
    reply,
    status_flags,
)
from gateway.watch_records import (
    CallBackCommand,
    LocateCommand,
    ReportIntervalCommand,
    WatchState,
    command_frame,
    parse_command,
    translate,
)

NOW = datetime(2026, 12, 6, 2, 0, tzinfo=UTC)
BEIJING = timedelta(hours=8)


def position(command: str = "UD", status: str = "00000000", *, when: str = "061226,095930", fix: str = "A") -> bytes:
    """A position or alarm content: Chengdu, 81 % battery, 1234 steps, 7 satellites, one cell tower."""
    return (
        f"{command},{when},{fix},30.658600,N,104.064800,E,0.00,0.0,500.0,7,80,81,1234,3,{status},"
        "1,1,460,0,9360,4082,131,0,95.2"
    ).encode()


frames = st.builds(
    encode_frame,
    st.sampled_from(["3G", "SG", "ZJ", "CS"]),
    st.from_regex(r"[0-9]{10,15}", fullmatch=True),
    st.one_of(
        st.binary(max_size=300),  # voice/picture chunks: any byte, brackets included
        st.sampled_from([b"LK", b"LK,120,3,88", position(), position("AL", "00010000"), b"heart,72"]),
    ),
    st.one_of(st.none(), st.from_regex(r"[0-9A-F]{4}", fullmatch=True)),
)


def chunked(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({c % (len(data) + 1) for c in cuts})
    edges = [0, *points, len(data)]
    return [data[a:b] for a, b in itertools.pairwise(edges)]


@settings(max_examples=150, deadline=None)
@given(st.lists(frames, max_size=8), st.lists(st.integers(min_value=0), max_size=40))
def test_any_chunking_gives_the_same_frames(stream: list[bytes], cuts: list[int]) -> None:
    splitter = Splitter()
    out = [item for piece in chunked(b"".join(stream), cuts) for item in splitter.feed(piece)]
    assert all(isinstance(f, Frame) for f in out)
    assert [f.encode() for f in out if isinstance(f, Frame)] == stream
    assert splitter.pending == 0


@settings(max_examples=100, deadline=None)
@given(st.lists(frames, min_size=1, max_size=5), st.binary(min_size=1, max_size=60), st.integers(0, 4))
def test_garbage_is_reported_and_the_stream_resyncs(stream: list[bytes], junk: bytes, where: int) -> None:
    junk = junk.replace(b"[", b"(")  # junk that opens no frame of its own
    at = where % len(stream)
    data = b"".join(stream[:at]) + junk + b"".join(stream[at:])
    splitter = Splitter()
    out = [item for byte in range(0, len(data), 7) for item in splitter.feed(data[byte : byte + 7])]
    garbage = [g for g in out if isinstance(g, Garbage)]
    assert [f.encode() for f in out if isinstance(f, Frame)] == stream
    assert sum(g.size for g in garbage) == len(junk) and garbage[0].reason == "bad_frame"


def test_a_frame_split_byte_by_byte_and_several_in_one_read() -> None:
    one, two = encode_frame("3G", "8800000015", "LK"), encode_frame("ZJ", "014111001350304", "LK,5,0,90", "0035")
    splitter = Splitter()
    got = [item for b in one for item in splitter.feed(bytes([b]))]
    assert got == [Frame("3G", "8800000015", b"LK")]
    assert splitter.feed(one + two + one) == [
        Frame("3G", "8800000015", b"LK"),
        Frame("ZJ", "014111001350304", b"LK,5,0,90", "0035"),
        Frame("3G", "8800000015", b"LK"),
    ]


def test_binary_content_with_brackets_is_skipped_by_its_length() -> None:
    voice = b"TK,#!AMR" + bytes([0x5D, 0x5B, 0x2A, 0x2C, 0x00, 0xFF]) + b"]]"
    data = encode_frame("CS", "1234567890", voice) + encode_frame("CS", "1234567890", "LK")
    frames_ = Splitter().feed(data)
    assert [f.content for f in frames_ if isinstance(f, Frame)] == [voice, b"LK"]
    assert decode(frames_[0]) == Other("TK")  # type: ignore[arg-type]


def test_oversized_and_lying_lengths_are_garbage() -> None:
    splitter = Splitter(max_content=64)
    big = encode_frame("3G", "8800000015", b"x" * 65)
    (too_large,) = splitter.feed(big[:40])
    assert isinstance(too_large, Garbage) and too_large.reason == "too_large"
    lying = b"[3G*8800000015*0003*LK]" + encode_frame("3G", "8800000015", "LK")
    out = Splitter().feed(lying)
    assert isinstance(out[0], Garbage) and out[0].reason == "bad_frame"
    assert out[1:] == [Frame("3G", "8800000015", b"LK")]


def test_a_header_that_cannot_be_one_is_garbage_at_once() -> None:
    (bad,) = Splitter().feed(b"[3G*88 00*0002*LK]")
    assert isinstance(bad, Garbage) and bad.size == 18
    assert Splitter().feed(b"[3G*8800000015*00") == []  # may still become a frame


def test_lk_decodes_and_is_answered() -> None:
    bare, full = Frame("SG", "8800000015", b"LK"), Frame("3G", "8800000015", b"LK,1380,12,77")
    assert decode(bare) == Heartbeat()
    assert decode(full) == Heartbeat(steps=1380, rolls=12, battery=77)
    assert reply(full) == b"[3G*8800000015*0002*LK]"
    indexed = Frame("ZJ", "014111001350304", b"LK", "0035")
    assert reply(indexed) == b"[ZJ*014111001350304*0035*0002*LK]"


@pytest.mark.parametrize("command", ["UD", "UD2", "UD_LTE", "UD_WCDMA", "WT"])
def test_positions_decode_in_the_device_zone_and_get_no_reply(command: str) -> None:
    frame = Frame("3G", "8800000015", position(command, "00000008"))
    msg = decode(frame, BEIJING)
    assert isinstance(msg, Position) and not msg.alarm
    assert msg.at == datetime(2026, 12, 6, 1, 59, 30, tzinfo=UTC)
    assert (msg.lat, msg.lon, msg.battery, msg.steps, msg.valid) == (30.6586, 104.0648, 81, 1234, True)
    assert reply(frame) is None


def test_southern_and_western_hemispheres_are_negative() -> None:
    content = b"UD,061226,095930,A,33.480366,S,70.763069,W,0.0,0,0,4,50,60,0,0,0000"
    msg = decode(Frame("SG", "9051007430", content))
    assert isinstance(msg, Position) and (msg.lat, msg.lon) == (-33.480366, -70.763069)


@pytest.mark.parametrize(
    ("word", "flags"),
    [
        ("00010000", {StatusBit.SOS}),
        ("00200000", {StatusBit.FALL}),
        ("00400000", {StatusBit.FALL}),
        ("00100000", {StatusBit.TAKEN_OFF}),
        ("00020001", {StatusBit.LOW_BATTERY_ALARM, StatusBit.LOW_BATTERY}),
        ("0001", {StatusBit.LOW_BATTERY}),  # older firmware sends a 16-bit word
        ("00000008", set()),
    ],
)
def test_status_bits(word: str, flags: set[StatusBit]) -> None:
    assert status_flags(int(word, 16)) == flags


def test_an_sos_alarm_becomes_an_sos_event_and_telemetry_and_is_answered_al() -> None:
    frame = Frame("3G", "8800000015", position("AL", "00010000"))
    result = translate(frame, decode(frame, BEIJING), WatchState(), NOW)
    assert result.kind == "sos"
    (event, telemetry) = result.records
    assert isinstance(event.body, SosEvent) and event.channel is Channel.EVENT and event.needs_confirmation
    assert isinstance(telemetry.body, Telemetry) and telemetry.body.location is not None
    assert event.body.ts == datetime(2026, 12, 6, 1, 59, 30, tzinfo=UTC)
    assert result.urgent == (event,)
    assert reply(frame) == b"[3G*8800000015*0002*AL]"


def test_a_fall_alarm_and_a_resent_alarm_keep_their_identity() -> None:
    frame = Frame("3G", "8800000015", position("AL_LTE", "00200000"))
    first = translate(frame, decode(frame, BEIJING), WatchState(), NOW)
    again = translate(frame, decode(frame, BEIJING), first.state, NOW + timedelta(seconds=20))
    assert first.kind == "fall" and isinstance(first.records[0].body, FallEvent)
    assert [r.body for r in first.records] == [r.body for r in again.records]


def test_an_alarm_from_a_clock_ahead_is_stamped_on_arrival_and_resends_match() -> None:
    frame = Frame("3G", "8800000015", position("AL", "00010000", when="061226,235959"))
    first = translate(frame, decode(frame, BEIJING), WatchState(), NOW)
    assert first.records[0].body.ts == NOW
    again = translate(frame, decode(frame, BEIJING), first.state, NOW + timedelta(seconds=9))
    assert again.records[0].body == first.records[0].body


def test_taken_off_and_vitals() -> None:
    off = Frame("3G", "8800000015", position("AL", "00100000"))
    state = translate(off, decode(off), WatchState(), NOW).state
    assert state.worn is False and state.battery == 81
    heart = Frame("3G", "8800000015", b"heart,72")
    back = translate(heart, decode(heart), state, NOW)
    (record,) = back.records
    assert isinstance(record.body, Telemetry) and record.body.heart_rate == 72 and record.body.worn
    assert record.body.battery == 81


@pytest.mark.parametrize(
    ("content", "vitals"),
    [
        (b"heart,71", Vitals(heart_rate=71)),
        (b"hrtstart,80", Vitals(heart_rate=80)),
        (b"PULSE,66", Vitals(heart_rate=66)),
        (b"bphrt,128,82,70,,,,", Vitals(heart_rate=70, systolic=128, diastolic=82)),
        (b"BLOOD,118,76", Vitals(systolic=118, diastolic=76)),
        (b"oxygen,97", Vitals(spo2=97)),
        (b"oxygen,72,96", Vitals(spo2=96)),
        (b"btemp2,1,36.4", Vitals(skin_temp_c=36.4)),
        (b"heart,0", Vitals()),
    ],
)
def test_vitals_decode(content: bytes, vitals: Vitals) -> None:
    assert decode(Frame("3G", "4700609403", content)) == vitals


def test_vitals_wait_for_a_battery_and_blood_pressure_is_not_in_the_contract() -> None:
    frame = Frame("3G", "4700609403", b"bphrt,128,82,70")
    early = translate(frame, decode(frame), WatchState(), NOW)
    assert early.records == () and "no_battery_yet" in early.dropped
    later = translate(frame, decode(frame), WatchState(battery=60), NOW)
    assert later.dropped == ("systolic", "diastolic") and later.records[0].body.heart_rate == 70  # type: ignore[union-attr]


def test_heartbeat_records() -> None:
    frame = Frame("3G", "8800000015", b"LK,1380,12,77")
    result = translate(frame, decode(frame), WatchState(), NOW)
    status, telemetry = result.records
    assert isinstance(status.body, Status) and status.body.battery == 77
    assert isinstance(telemetry.body, Telemetry) and telemetry.body.steps == 1380
    assert result.kind == "heartbeat"


@pytest.mark.parametrize(
    "content",
    [b"UD,061226", b"UD,061226,095930,A,x,N,104.0,E,0,0,0,7,80,81,1234,3,00000000", b"AL,991399,000000" + b",0" * 14],
)
def test_malformed_positions_raise(content: bytes) -> None:
    with pytest.raises(WatchError) as caught:
        decode(Frame("3G", "8800000015", content))
    assert caught.value.reason == "invalid"


def test_out_of_range_values_raise_invalid() -> None:
    frame = Frame("3G", "8800000015", b"UD,061226,095930,A,95.0,N,104.0,E,0,0,0,7,80,81,1234,3,00000000")
    with pytest.raises(WatchError) as caught:
        translate(frame, decode(frame), WatchState(), NOW)
    assert caught.value.reason == "invalid" and "lat" in caught.value.detail


def test_tkq_is_echoed_and_unknown_commands_are_other() -> None:
    assert reply(Frame("3G", "8800000015", b"TKQ")) == b"[3G*8800000015*0003*TKQ]"
    assert reply(Frame("3G", "8800000015", b"TKQ2")) == b"[3G*8800000015*0004*TKQ2]"
    assert decode(Frame("3G", "8800000015", b"CONFIG,TY:g")) == Other("CONFIG")
    assert reply(Frame("3G", "8800000015", b"CONFIG,TY:g")) is None


def test_platform_commands() -> None:
    locate = parse_command(b'{"kind": "locate"}')
    interval = parse_command(b'{"kind": "report_interval", "seconds": 60}')
    call = parse_command(b'{"kind": "call_back", "number": "13900001111"}')
    assert isinstance(locate, LocateCommand) and isinstance(interval, ReportIntervalCommand)
    assert isinstance(call, CallBackCommand)
    assert command_frame("3G", "8800000015", locate) == b"[3G*8800000015*0002*CR]"
    assert command_frame("3G", "8800000015", interval) == b"[3G*8800000015*0009*UPLOAD,60]"
    assert command_frame("3G", "8800000015", call) == b"[3G*8800000015*0010*CALL,13900001111]"
    assert parse_command(b'{"kind": "call_back", "number": "1;reboot"}') is None
    assert parse_command(b"not json") is None
