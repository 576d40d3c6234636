"""Devices with their state and battery: what the desk and the family may believe about each one.

Each device gets one ``state`` code (the pages translate it, `icons.js` draws it):

=============  ======================================================================================
state          when
=============  ======================================================================================
online         heard within its rhythm: its own heartbeat or telemetry; for a sensor behind a hub, the
               hub is online and the sensor's own reports are within its kind's rhythm
offline        its last word was ``offline``, or it has been silent longer than its rhythm allows
hub_offline    a sensor whose hub is offline: nothing it sees can reach us, whatever its own health
not_worn       a bracelet that is online but whose latest telemetry says ``worn: false``
unknown        never heard from (within the look-back), and registered too recently to call it silent
=============  ======================================================================================

How often each kind is heard from when all is well is the table `RHYTHMS`. A device that connects
itself (bracelet, hub, a sensor in a home without a hub) is alive while its heartbeat comes: silent
for ``max(offline_after, 2 × heartbeat)`` it is offline. A sensor behind a hub has no heartbeat of
its own: it is judged by its hub, and by its own last report against ``reports_within`` — a motion
sensor in a lived-in home sees someone within a day, a door contact may be silent for longer (a
resident who stays in), and smoke, gas and water-leak detectors speak only when they sound, so their
hub's heartbeat is all there is to go on.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from types import MappingProxyType
from typing import Any, Final

import psycopg
from psycopg.rows import dict_row


class DeviceState(StrEnum):
    """What the platform can say about a device."""

    ONLINE = "online"
    OFFLINE = "offline"
    HUB_OFFLINE = "hub_offline"
    NOT_WORN = "not_worn"
    UNKNOWN = "unknown"


DOWN: Final = frozenset({DeviceState.OFFLINE, DeviceState.HUB_OFFLINE})  # counted as offline by the figures


@dataclass(frozen=True, slots=True)
class Rhythm:
    """How often a kind of device is heard from when all is well."""

    heartbeat: timedelta  # its own retained status heartbeat, when it connects itself
    reports_within: timedelta | None = None  # longest silence of its own reports behind a hub; None: alarms only


_H = timedelta(hours=1)
RHYTHMS: Final[Mapping[str, Rhythm]] = MappingProxyType(
    {
        "bracelet": Rhythm(5 * timedelta(minutes=1)),  # and telemetry every 30-60 s
        "hub": Rhythm(5 * timedelta(minutes=1)),
        "motion": Rhythm(_H, 24 * _H),  # a room of a lived-in home is walked through every day
        "bathroom": Rhythm(_H, 24 * _H),
        "bed": Rhythm(_H, 36 * _H),  # slept in every night; one night away is allowed for
        "door": Rhythm(_H, 72 * _H),  # a resident may stay in for a day or two
        "meter": Rhythm(_H, 2 * _H),  # reports its reading every few minutes
        "smoke": Rhythm(_H),
        "gas": Rhythm(_H),
        "water_leak": Rhythm(_H),
    }
)
_SENSOR: Final = Rhythm(_H)  # a sensor kind not in the table: judged by its hub or heartbeat only
LOOKBACK: Final = max(r.reports_within or timedelta(0) for r in RHYTHMS.values())

_FACTS = (
    "WITH heard AS (SELECT device_id, sensor_id, max(ts) AS at FROM events"
    "   WHERE ts > now() - %(lookback)s AND (%(everyone)s OR resident_id = ANY(%(residents)s))"
    "   GROUP BY device_id, sensor_id)"
    " SELECT d.id, d.resident_id, d.kind, d.sensor_kind, d.room, d.parent_id AS hub_id, d.created_at,"
    " s.state AS status, s.ts AS status_at, s.battery AS status_battery,"
    " t.battery AS telemetry_battery, t.worn, t.ts AS telemetry_at,"
    " (SELECT max(at) FROM heard WHERE heard.device_id = d.id) AS sent_at,"
    " (SELECT max(at) FROM heard WHERE coalesce(heard.sensor_id, heard.device_id) = d.id) AS reported_at,"
    " now() AS checked_at"
    " FROM devices d"
    " LEFT JOIN LATERAL (SELECT state, ts, battery FROM device_status WHERE device_id = d.id"
    "   ORDER BY ts DESC, seq DESC LIMIT 1) s ON true"
    " LEFT JOIN LATERAL (SELECT battery, worn, ts FROM telemetry WHERE device_id = d.id"
    "   ORDER BY ts DESC, seq DESC LIMIT 1) t ON true"
)


def rhythm_of(facts: Mapping[str, Any]) -> Rhythm:
    """Return the rhythm of a device's kind (a sensor's by its sensor kind)."""
    return RHYTHMS.get(facts["kind"] if facts["kind"] != "sensor" else facts["sensor_kind"] or "", _SENSOR)


def _latest(*times: datetime | None) -> datetime | None:
    known = [t for t in times if t is not None]
    return max(known) if known else None


def heard_at(facts: Mapping[str, Any]) -> datetime | None:
    """Return when a device that connects itself was last heard: status, telemetry or anything it sent."""
    return _latest(facts["status_at"], facts["telemetry_at"], facts["sent_at"])


def connected_state(facts: Mapping[str, Any], offline_after: timedelta) -> DeviceState:
    """Judge a device that connects itself by its heartbeat, its last word, and (a bracelet) the wrist."""
    last = heard_at(facts)
    if last is None:
        return DeviceState.UNKNOWN
    said_offline = facts["status"] == "offline" and facts["status_at"] >= last
    silent_after = max(offline_after, 2 * rhythm_of(facts).heartbeat)
    if said_offline or last < facts["checked_at"] - silent_after:
        return DeviceState.OFFLINE
    if facts["kind"] == "bracelet" and facts["worn"] is False:
        return DeviceState.NOT_WORN
    return DeviceState.ONLINE


def relayed_state(facts: Mapping[str, Any], hub: DeviceState) -> DeviceState:
    """Judge a sensor behind a hub: by the hub, then by its own reports against its kind's rhythm."""
    if hub is DeviceState.OFFLINE:
        return DeviceState.HUB_OFFLINE
    if hub is DeviceState.UNKNOWN:
        return DeviceState.UNKNOWN
    within = rhythm_of(facts).reports_within
    if within is None:
        return DeviceState.ONLINE  # speaks only when it sounds: the live hub is all we can know
    since = facts["checked_at"] - within
    if facts["reported_at"] is not None:
        return DeviceState.ONLINE if facts["reported_at"] >= since else DeviceState.OFFLINE
    return DeviceState.OFFLINE if facts["created_at"] < since else DeviceState.UNKNOWN


def judge(rows: Iterable[Mapping[str, Any]], offline_after: timedelta, low_pct: int) -> dict[str, dict[str, Any]]:
    """Give every device (hubs first, so their sensors can be judged by them) its state, battery and last seen."""
    out: dict[str, dict[str, Any]] = {}
    for facts in sorted(rows, key=lambda r: r["hub_id"] is not None):
        hub = out.get(facts["hub_id"]) if facts["hub_id"] else None
        if facts["hub_id"] is None:
            state, seen = connected_state(facts, offline_after), heard_at(facts)
        else:
            hub_state = DeviceState(hub["state"]) if hub else DeviceState.UNKNOWN
            state, seen = relayed_state(facts, hub_state), facts["reported_at"]
        battery = facts["telemetry_battery"] if facts["telemetry_battery"] is not None else facts["status_battery"]
        out[facts["id"]] = {
            **{k: facts[k] for k in ("id", "resident_id", "kind", "sensor_kind", "room", "hub_id", "worn")},
            "state": state.value,
            "status": facts["status"],
            "status_at": facts["status_at"],
            "battery": battery,
            "last_seen_at": seen,
            "offline": state in DOWN,
            "low_battery": battery is not None and battery < low_pct,
        }
    return out


def _facts(conn: psycopg.Connection[Any], where: str, params: dict[str, Any]) -> list[dict[str, Any]]:
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(_FACTS + where, {"lookback": LOOKBACK, **params}).fetchall()


def _with_hubs(
    conn: psycopg.Connection[Any], rows: list[dict[str, Any]], offline_after: timedelta, low_pct: int
) -> dict[str, dict[str, Any]]:
    """Judge ``rows``, fetching the hubs of their sensors that are not among them."""
    ids = {r["id"] for r in rows}
    missing = sorted({r["hub_id"] for r in rows if r["hub_id"] and r["hub_id"] not in ids})
    if missing:
        params = {"everyone": False, "residents": sorted({r["resident_id"] for r in rows if r["resident_id"]})}
        rows = rows + _facts(conn, " WHERE d.id = ANY(%(hubs)s)", {**params, "hubs": missing})
    return judge(rows, offline_after, low_pct)


def list_devices(
    conn: psycopg.Connection[Any],
    resident_ids: frozenset[str] | None,
    offline_after: timedelta,
    low_pct: int,
    *,
    limit: int = 1000,
    offset: int = 0,
) -> list[dict[str, Any]]:
    """List devices (all, or of the given residents) with their state and battery."""
    where = "" if resident_ids is None else " WHERE d.resident_id = ANY(%(residents)s)"
    params = {
        "everyone": resident_ids is None,
        "residents": sorted(resident_ids or ()),
        "limit": limit,
        "offset": offset,
    }
    rows = _facts(conn, where + " ORDER BY d.id LIMIT %(limit)s OFFSET %(offset)s", params)
    judged = _with_hubs(conn, rows, offline_after, low_pct)
    return [judged[r["id"]] for r in rows]


def residents_of(conn: psycopg.Connection[Any], device_ids: Iterable[str]) -> dict[str, str | None]:
    """Return the resident each device belongs to (None: nobody, or no such device), in one query."""
    ids = sorted(set(device_ids))
    rows = conn.execute("SELECT id, resident_id FROM devices WHERE id = ANY(%s)", (ids,)).fetchall()
    owners: dict[str, str | None] = dict.fromkeys(ids)
    owners.update({str(device_id): str(resident) if resident else None for device_id, resident in rows})
    return owners


def device(
    conn: psycopg.Connection[Any], device_id: str, offline_after: timedelta, low_pct: int
) -> dict[str, Any] | None:
    """Return one device with its state and battery."""
    owner = conn.execute("SELECT resident_id FROM devices WHERE id = %s", (device_id,)).fetchone()
    if owner is None:
        return None
    params = {"everyone": owner[0] is None, "residents": [owner[0]], "id": device_id}
    rows = _facts(conn, " WHERE d.id = %(id)s", params)
    return _with_hubs(conn, rows, offline_after, low_pct)[device_id] if rows else None
