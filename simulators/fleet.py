"""The simulated fleet: residents, their homes and the devices in them, and its registry export.

Every resident ``rNNNN`` lives alone in a home with four rooms (bedroom, bathroom, kitchen,
living_room). Device ids follow one scheme so a reader can tell what a device is from its id:

=====================  ===========  ====================================================
device id              kind         what it is
=====================  ===========  ====================================================
``r0007-bracelet``     bracelet     wrist band: vitals, steps, SOS / OK keys, fall detector
``r0007-hub``          hub          home hub relaying the sensors below (most homes)
``r0007-motion-ROOM``  motion       passive-infrared motion sensor, one per room
``r0007-door-front``   door         front-door contact
``r0007-bed``          bed          bed-occupancy mat
``r0007-bathroom``     bathroom     bathroom presence sensor
``r0007-smoke``        smoke        smoke detector (kitchen)
``r0007-gas``          gas          gas detector (kitchen)
``r0007-water-leak``   water_leak   water-leak sensor (bathroom)
=====================  ===========  ====================================================

In a home with a hub, sensors never talk to the broker themselves: the hub publishes their
events on its own topic with ``sensor_id`` set to the sensor's device id. In a home without a hub
every sensor connects directly and publishes on its own topic.

Registry format (``registry_document()``, written by ``anxin simulate --registry-out FILE``)::

    {"version": 1, "seed": 7,
     "residents": [{"resident_id": "r0007", "name": "王秀英", "sex": "F", "age": 81,
                    "home": {"lat": 30.66, "lon": 104.07, "hub_id": "r0007-hub",
                             "rooms": ["bedroom", "bathroom", "kitchen", "living_room"]},
                    "devices": [{"device_id": "r0007-bed", "kind": "bed", "room": "bedroom",
                                 "hub_id": "r0007-hub", "publishes_as": "r0007-hub"}, ...]}]}

``hub_id`` is null for a home without a hub and for devices that connect directly;
``publishes_as`` is the device id whose topic carries the device's messages.
"""

from __future__ import annotations

import math
import random
from dataclasses import asdict, dataclass
from typing import Any, Final

from simulators.rand import seeded

ROOMS: Final = ("bedroom", "bathroom", "kitchen", "living_room")
_SURNAMES: Final = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶程苏魏吕丁"
_GIVEN_F: Final = ("秀英", "桂英", "秀兰", "玉兰", "桂兰", "淑珍", "凤英", "玉珍", "素珍", "翠花", "玉梅", "淑英")
_GIVEN_M: Final = ("建国", "德明", "国华", "志强", "玉林", "永福", "长顺", "宝山", "文华", "振华", "金生", "福来")


@dataclass(frozen=True, slots=True)
class DeviceKind:
    """A kind of device: how often it reports its status and whether a hub can relay it."""

    name: str
    heartbeat_s: float  # period of the retained online status when it connects itself
    relayed: bool  # sits behind the hub when the home has one


DEVICE_KINDS: Final[dict[str, DeviceKind]] = {
    k.name: k
    for k in (
        DeviceKind("bracelet", heartbeat_s=300, relayed=False),
        DeviceKind("hub", heartbeat_s=300, relayed=False),
        DeviceKind("motion", heartbeat_s=3600, relayed=True),
        DeviceKind("door", heartbeat_s=3600, relayed=True),
        DeviceKind("bed", heartbeat_s=3600, relayed=True),
        DeviceKind("bathroom", heartbeat_s=3600, relayed=True),
        DeviceKind("smoke", heartbeat_s=3600, relayed=True),
        DeviceKind("gas", heartbeat_s=3600, relayed=True),
        DeviceKind("water_leak", heartbeat_s=3600, relayed=True),
    )
}


@dataclass(frozen=True, slots=True)
class Device:
    """One simulated device and, when a hub relays it, that hub."""

    device_id: str
    kind: str
    room: str | None
    hub_id: str | None

    @property
    def publishes_as(self) -> str:
        """Return the device id on whose topics this device's messages travel."""
        return self.hub_id or self.device_id


@dataclass(frozen=True, slots=True)
class Home:
    """Where a resident lives: a position and whether a hub relays the sensors."""

    lat: float
    lon: float
    hub_id: str | None
    rooms: tuple[str, ...] = ROOMS


@dataclass(frozen=True, slots=True)
class Resident:
    """A resident living alone, with the home and devices that watch over them."""

    resident_id: str
    name: str
    sex: str
    age: int
    home: Home
    devices: tuple[Device, ...]

    def device(self, kind: str, room: str | None = None) -> Device:
        """Return this resident's device of ``kind`` (in ``room`` for motion sensors)."""
        for d in self.devices:
            if d.kind == kind and (room is None or d.room == room):
                return d
        raise KeyError(f"{self.resident_id} has no {kind} {room or ''}".strip())

    @property
    def publishers(self) -> tuple[Device, ...]:
        """Return the devices that hold their own broker connection."""
        return tuple(d for d in self.devices if d.hub_id is None)


@dataclass(frozen=True, slots=True)
class Neighbourhood:
    """Where the fleet lives and how it is equipped."""

    lat: float = 30.6586
    lon: float = 104.0648
    radius_m: float = 1500.0
    hub_fraction: float = 0.8


def resident_id(index: int) -> str:
    """Return the id of resident number ``index``."""
    return f"r{index:04d}"


def build_fleet(count: int, seed: int, area: Neighbourhood | None = None) -> tuple[Resident, ...]:
    """Build ``count`` residents with homes and devices, the same for the same seed."""
    area = area or Neighbourhood()
    return tuple(_resident(i, seeded(seed, "fleet", i), area) for i in range(count))


def _resident(index: int, rng: random.Random, area: Neighbourhood) -> Resident:
    rid = resident_id(index)
    sex = "F" if rng.random() < 0.6 else "M"
    given = _GIVEN_F if sex == "F" else _GIVEN_M
    name = rng.choice(_SURNAMES) + rng.choice(given)
    hub_id = f"{rid}-hub" if rng.random() < area.hub_fraction else None
    lat, lon = _scatter(area, rng)
    home = Home(lat=lat, lon=lon, hub_id=hub_id)
    return Resident(rid, name, sex, rng.randint(65, 96), home, _devices(rid, hub_id))


def _devices(rid: str, hub_id: str | None) -> tuple[Device, ...]:
    sensors = [
        *(Device(f"{rid}-motion-{room}", "motion", room, hub_id) for room in ROOMS),
        Device(f"{rid}-door-front", "door", "living_room", hub_id),
        Device(f"{rid}-bed", "bed", "bedroom", hub_id),
        Device(f"{rid}-bathroom", "bathroom", "bathroom", hub_id),
        Device(f"{rid}-smoke", "smoke", "kitchen", hub_id),
        Device(f"{rid}-gas", "gas", "kitchen", hub_id),
        Device(f"{rid}-water-leak", "water_leak", "bathroom", hub_id),
    ]
    head = [Device(f"{rid}-bracelet", "bracelet", None, None)]
    if hub_id is not None:
        head.append(Device(hub_id, "hub", "living_room", None))
    return (*head, *sensors)


def _scatter(area: Neighbourhood, rng: random.Random) -> tuple[float, float]:
    r = area.radius_m * math.sqrt(rng.random())
    a = rng.uniform(0, 2 * math.pi)
    return offset(area.lat, area.lon, r * math.cos(a), r * math.sin(a))


def offset(lat: float, lon: float, north_m: float, east_m: float) -> tuple[float, float]:
    """Return the point ``north_m`` metres north and ``east_m`` metres east of (lat, lon)."""
    dlat = north_m / 111_320.0
    dlon = east_m / (111_320.0 * math.cos(math.radians(lat)))
    return round(lat + dlat, 6), round(lon + dlon, 6)


def registry_document(fleet: tuple[Resident, ...], seed: int) -> dict[str, Any]:
    """Return the fleet as the JSON document the platform registers devices from."""
    return {"version": 1, "seed": seed, "residents": [_resident_json(r) for r in fleet]}


def _resident_json(r: Resident) -> dict[str, Any]:
    home = asdict(r.home)
    home["rooms"] = list(r.home.rooms)
    devices = [{**asdict(d), "publishes_as": d.publishes_as} for d in r.devices]
    return {"resident_id": r.resident_id, "name": r.name, "sex": r.sex, "age": r.age, "home": home, "devices": devices}
