"""The simulated fleet as the platform registers it: one mapping from simulated devices to registry entries."""

from __future__ import annotations

from typing import Final

from gateway.registry import Device, DeviceKind
from simulators.fleet import Resident

_CONNECTING: Final = {"bracelet": DeviceKind.BRACELET, "hub": DeviceKind.HUB}


def fleet_devices(fleet: tuple[Resident, ...]) -> list[Device]:
    """Turn the simulated fleet into registry entries (a hub relays the sensors of its home)."""
    return [
        Device(
            d.device_id,
            _CONNECTING.get(d.kind, DeviceKind.SENSOR),
            r.resident_id,
            None if d.kind in _CONNECTING else d.kind,
            d.room,
            None if d.kind in _CONNECTING else d.hub_id,
        )
        for r in fleet
        for d in r.devices
    ]
