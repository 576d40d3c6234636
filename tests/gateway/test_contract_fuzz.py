"""Property-based fuzzing of the contract decoder: only a documented `ContractError` ever escapes.

Inputs: arbitrary bytes, arbitrary JSON, and mutations of valid payloads (wrong types, out-of-range
numbers, huge arrays, deep nesting, invalid UTF-8, NaN/Infinity, unicode ids, topics with wildcards
or extra levels). Whatever `decode` accepts must also survive the way back (encode → decode) and be
storable: no NUL in text, no non-finite number.
"""

from __future__ import annotations

import json
import math
import re
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gateway.contract import MAX_IMPACT_SAMPLES, Channel, Record, decode, encode, topic
from gateway.errors import ContractError

NOW = datetime(2026, 11, 1, 8, 0, tzinfo=UTC)
DOCS = Path(__file__).resolve().parents[2] / "docs" / "device-contract.md"
FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
JSON_SCALARS = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=40)
ANY_JSON = st.recursive(
    JSON_SCALARS,
    lambda inner: st.lists(inner, max_size=6) | st.dictionaries(st.text(max_size=12), inner, max_size=6),
    max_leaves=25,
)


def documented_reasons() -> set[str]:
    """Read the reason codes from the table under "Rejections" in docs/device-contract.md."""
    text = DOCS.read_text()
    section = text.split("## Rejections", 1)[1].split("\n## ", 1)[0]
    return set(re.findall(r"^\|\s*`([a-z_]+)`", section, flags=re.MULTILINE))


REASONS = documented_reasons()


def valid_bodies() -> dict[Channel, list[dict[str, Any]]]:
    """Return valid message bodies of every channel and event kind, as JSON values."""
    base = {"seq": 7, "ts": "2026-11-01T07:59:00+08:00", "device_id": "dev-1"}
    samples = [[0.0, 0.0, 1.0]] * 8
    events = [
        {"kind": "sos"},
        {"kind": "ok"},
        {"kind": "fall", "confidence": 0.9},
        {"kind": "impact", "rate_hz": 50, "samples": samples},
        {"kind": "motion", "room": "kitchen"},
        {"kind": "door", "state": "open"},
        {"kind": "bed", "state": "occupied"},
        {"kind": "smoke", "state": "alarm", "sensor_id": "s-1"},
        {"kind": "power_use", "watts": 12.5},
    ]
    return {
        Channel.TELEMETRY: [
            base
            | {
                "battery": 80,
                "worn": True,
                "heart_rate": 70,
                "skin_temp_c": 33.1,
                "location": {"lat": 31.2, "lon": 121.4, "accuracy_m": 8},
            }
        ],
        Channel.EVENT: [base | e for e in events],
        Channel.STATUS: [base | {"state": "online", "firmware": "1.2.3", "battery": 50}],
    }


BODIES = valid_bodies()
CHANNEL_BODIES = st.sampled_from([(c, b) for c, bodies in BODIES.items() for b in bodies])
BAD_NUMBERS = st.sampled_from([math.nan, math.inf, -math.inf, 2**63, -(2**63) - 1, 10**400, -1, 1e308, 0.5, -0.0])


def check(name: str, payload: bytes) -> Record | None:
    """Decode and assert that only a documented `ContractError` escapes; check what is accepted."""
    try:
        record = decode(name, payload, NOW)
    except ContractError as exc:
        rejected = exc
    else:
        rejected = None
    if rejected is not None:
        assert rejected.reason in REASONS, rejected.reason
        return None
    again = decode(name, encode(record.body), NOW)
    assert again == record
    assert_storable(record.body.model_dump())
    return record


def assert_storable(value: object) -> None:
    """Assert that PostgreSQL can store a value: no NUL in text, only finite numbers."""
    if isinstance(value, str):
        assert "\x00" not in value
    elif isinstance(value, float):
        assert math.isfinite(value)
    elif isinstance(value, dict):
        for item in value.values():
            assert_storable(item)
    elif isinstance(value, list | tuple):
        for item in value:
            assert_storable(item)


def dumps(value: object) -> bytes:
    """Serialise JSON the way a sloppy device might (NaN and Infinity allowed)."""
    return json.dumps(value, allow_nan=True).encode()


def test_every_valid_body_decodes() -> None:
    for channel, bodies in BODIES.items():
        for body in bodies:
            assert check(topic("dev-1", channel), dumps(body)) is not None, body


@FUZZ
@given(channel=st.sampled_from(list(Channel)), payload=st.binary(max_size=600))
def test_arbitrary_bytes(channel: Channel, payload: bytes) -> None:
    check(topic("dev-1", channel), payload)


@FUZZ
@given(channel=st.sampled_from(list(Channel)), value=ANY_JSON)
def test_arbitrary_json(channel: Channel, value: object) -> None:
    check(topic("dev-1", channel), dumps(value))


@FUZZ
@given(
    body=CHANNEL_BODIES,
    key=st.sampled_from(
        [
            "seq",
            "ts",
            "device_id",
            "battery",
            "worn",
            "heart_rate",
            "kind",
            "state",
            "samples",
            "rate_hz",
            "location",
            "firmware",
            "room",
            "sensor_id",
            "confidence",
            "watts",
            "extra",
        ]
    ),
    value=ANY_JSON | BAD_NUMBERS,
)
def test_one_field_replaced(body: tuple[Channel, dict[str, Any]], key: str, value: object) -> None:
    channel, data = body
    check(topic("dev-1", channel), dumps(data | {key: value}))


@FUZZ
@given(body=CHANNEL_BODIES, data=st.data())
def test_one_field_removed(body: tuple[Channel, dict[str, Any]], data: st.DataObject) -> None:
    channel, fields = body
    key = data.draw(st.sampled_from(sorted(fields)))
    check(topic("dev-1", channel), dumps({k: v for k, v in fields.items() if k != key}))


@FUZZ
@given(body=CHANNEL_BODIES, where=st.integers(min_value=0), junk=st.binary(min_size=1, max_size=4))
def test_invalid_utf8_and_truncation(body: tuple[Channel, dict[str, Any]], where: int, junk: bytes) -> None:
    channel, fields = body
    payload = dumps(fields)
    cut = where % len(payload)
    check(topic("dev-1", channel), payload[:cut] + b"\xff\xfe" + junk + payload[cut:])
    check(topic("dev-1", channel), payload[:cut])


@FUZZ
@given(text=st.text(min_size=0, max_size=40), field=st.sampled_from(["device_id", "firmware", "sensor_id", "room"]))
def test_unicode_in_ids_and_text(text: str, field: str) -> None:
    for channel, bodies in BODIES.items():
        check(topic("dev-1", channel), dumps(bodies[-1] | {field: text}))
    check(f"ec/v1/{text}/telemetry", dumps(BODIES[Channel.TELEMETRY][0] | {"device_id": None}))


@FUZZ
@given(
    levels=st.lists(
        st.sampled_from(["ec", "v1", "dev-1", "+", "#", "", "telemetry", "cmd", "$SYS", "é", "\x00"]), max_size=7
    )
)
def test_topics_with_wildcards_and_extra_levels(levels: list[str]) -> None:
    record = check("/".join(levels), dumps(BODIES[Channel.TELEMETRY][0] | {"device_id": None}))
    if record is not None:
        assert "/".join(levels) == topic(record.device_id, record.channel)


@settings(max_examples=15, deadline=None)
@given(size=st.sampled_from([MAX_IMPACT_SAMPLES + 1, 5000, 20_000]), depth=st.integers(min_value=50, max_value=5000))
def test_huge_arrays_and_deep_nesting(size: int, depth: int) -> None:
    impact = BODIES[Channel.EVENT][3]
    check(topic("dev-1", Channel.EVENT), dumps(impact | {"samples": [[0.0, 0.0, 1.0]] * size}))
    check(topic("dev-1", Channel.EVENT), dumps(impact | {"samples": [[0.0, 0.0, 1.0]] * 7}))
    nested = b"[" * depth + b"]" * depth
    check(topic("dev-1", Channel.EVENT), nested)
    check(topic("dev-1", Channel.TELEMETRY), b'{"seq": 1, "location": ' + nested + b"}")


@FUZZ
@given(
    offset=st.timedeltas(min_value=-timedelta(hours=23, minutes=59), max_value=timedelta(hours=23, minutes=59)),
    at=st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30)),
)
def test_timestamps_anywhere_in_any_zone(offset: timedelta, at: datetime) -> None:
    stamp = at.replace(tzinfo=timezone(offset)).isoformat()
    record = check(topic("dev-1", Channel.TELEMETRY), dumps(BODIES[Channel.TELEMETRY][0] | {"ts": stamp}))
    if record is not None:
        assert record.body.ts - NOW <= timedelta(minutes=5)


def test_nan_and_infinity_in_impact_samples_are_rejected() -> None:
    impact = BODIES[Channel.EVENT][3]
    for bad in (math.nan, math.inf, -math.inf):
        samples = [[bad, 0.0, 1.0]] + [[0.0, 0.0, 1.0]] * 7
        assert check(topic("dev-1", Channel.EVENT), dumps(impact | {"samples": samples})) is None


def test_nul_in_firmware_is_rejected() -> None:
    status = BODIES[Channel.STATUS][0]
    assert check(topic("dev-1", Channel.STATUS), dumps(status | {"firmware": "1.0\x00evil"})) is None
