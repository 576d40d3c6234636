"""The device registry as the edge sees it: which devices exist, what they are, whose they are.

The registry is loaded from the database by ingest and held here as an immutable snapshot, so that
checking a message costs one dictionary lookup. A message from a device that is not registered, or
a hub relaying a sensor that is not its own, is rejected with a `ContractError` (dead-lettered).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType

from gateway.contract import Channel, Record
from gateway.errors import ContractError


class DeviceKind(StrEnum):
    """What a registered device is."""

    BRACELET = "bracelet"
    HUB = "hub"
    SENSOR = "sensor"


@dataclass(frozen=True, slots=True)
class Device:
    """One registered device and the resident it belongs to."""

    id: str
    kind: DeviceKind
    resident_id: str | None
    sensor_kind: str | None = None
    room: str | None = None
    parent_id: str | None = None
    model: str | None = None  # the bracelet model: fall detection uses its calibration where one exists


@dataclass(frozen=True, slots=True)
class Attribution:
    """Who a record is about: the resident and, for relayed events, the sensor that saw it."""

    resident_id: str | None
    sensor: Device | None


class Registry:
    """An immutable snapshot of registered devices."""

    __slots__ = ("_devices",)

    def __init__(self, devices: Iterable[Device] = ()) -> None:
        self._devices: Mapping[str, Device] = MappingProxyType({d.id: d for d in devices})

    def __len__(self) -> int:
        return len(self._devices)

    def get(self, device_id: str) -> Device | None:
        """Return the device, or None when it is not registered."""
        return self._devices.get(device_id)

    def attribute(self, record: Record) -> Attribution:
        """Find whose record this is, or raise `ContractError` for unknown devices and sensors."""
        device = self._devices.get(record.device_id)
        if device is None:
            raise ContractError("unknown_device", f"device {record.device_id!r} is not registered")
        sensor_id = getattr(record.body, "sensor_id", None) if record.channel is Channel.EVENT else None
        if sensor_id is None:
            return Attribution(device.resident_id, None)
        sensor = self._devices.get(sensor_id)
        if sensor is None or sensor.parent_id != device.id:
            raise ContractError("unknown_sensor", f"sensor {sensor_id!r} is not registered under {device.id!r}")
        return Attribution(sensor.resident_id or device.resident_id, sensor)
