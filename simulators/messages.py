"""What the model produces: message drafts, finished messages with sequence numbers, ground truth.

A `Draft` is a message before its device has numbered it; `Numbering` turns drafts into
`Message`s (a body model of `gateway.contract`, ready for `encode()`), one sequence counter per
publishing device. `Truth` is one injected incident, as written to the ground-truth file.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache
from typing import Any, NamedTuple, TypeVar, get_args

from pydantic import BaseModel

from gateway.contract import EVENT_KINDS, Channel, Status, encode, topic
from simulators.fleet import Device, Resident

M = TypeVar("M", bound=BaseModel)


class Draft(NamedTuple):
    """A message to be sent at ``t`` (POSIX seconds) on ``publisher``'s topic, not yet numbered."""

    t: float
    publisher: str
    channel: Channel
    model: type[BaseModel]
    fields: dict[str, Any]
    retain: bool = False


@dataclass(frozen=True, slots=True)
class Message:
    """One numbered device message: the topic's device id, channel and body."""

    t: float
    device_id: str
    channel: Channel
    body: BaseModel
    retain: bool = False

    @property
    def needs_ack(self) -> bool:
        """Tell whether the device resends this message until the platform acknowledges it."""
        kind = getattr(self.body, "kind", None)
        return self.channel is Channel.EVENT and kind is not None and EVENT_KINDS[kind].confirm

    @property
    def seq(self) -> int:
        """Return the message's sequence number."""
        seq: int = getattr(self.body, "seq")  # noqa: B009 - every body model has one
        return seq

    def topic(self, prefix: str) -> str:
        """Return the topic this message is published on."""
        return topic(self.device_id, self.channel, prefix)

    def payload(self) -> bytes:
        """Return the message body as the device sends it."""
        return encode(self.body)


@dataclass(frozen=True, slots=True)
class Truth:
    """One injected incident: who, which device shows it, what, from when to when."""

    t: float  # = start; the stream is ordered on it
    resident: str
    device: str
    kind: str
    start: float
    end: float

    def as_json(self) -> dict[str, str]:
        """Return the ground-truth line (ISO-8601 times, UTC)."""
        return {
            "resident": self.resident,
            "device": self.device,
            "kind": self.kind,
            "start": iso(self.start),
            "end": iso(self.end),
        }


@dataclass(slots=True)
class Numbering:
    """Per-device sequence counters; turns drafts into messages.

    Counters start at ``base`` — the run's start in milliseconds — so that, like a device that keeps
    its counter across restarts, a later run never reuses a sequence number of an earlier one.
    """

    base: int = 0
    next_seq: dict[str, int] = field(default_factory=dict)

    def number(self, d: Draft) -> Message:
        """Give ``d`` its device's next sequence number and build its body."""
        seq = self.next_seq.get(d.publisher, self.base)
        self.next_seq[d.publisher] = seq + 1
        values = {**d.fields, "device_id": d.publisher, "seq": seq, "ts": device_time(d.t)}
        return Message(d.t, d.publisher, d.channel, build(d.model, values), d.retain)


def build(model: type[M], values: dict[str, Any]) -> M:
    """Build a body from trusted values, like ``model_construct`` but several times faster.

    The model stream is millions of messages for a month of history; validation happens where the
    platform decodes them (and in the tests, on every message).
    """
    data = {name: values.get(name, default) for name, default in _defaults(model)}
    obj = model.__new__(model)
    object.__setattr__(obj, "__dict__", data)
    object.__setattr__(obj, "__pydantic_fields_set__", set(values))
    object.__setattr__(obj, "__pydantic_extra__", None)
    object.__setattr__(obj, "__pydantic_private__", None)
    return obj


@cache
def _defaults(model: type[BaseModel]) -> tuple[tuple[str, Any], ...]:
    """Return each field's default (None when required); an event's ``kind`` defaults to its literal."""
    out = []
    for name, info in model.model_fields.items():
        if name == "kind":
            out.append((name, get_args(info.annotation)[0]))
        else:
            out.append((name, None if info.is_required() else info.get_default(call_default_factory=True)))
    return tuple(out)


def device_time(t: float) -> datetime:
    """Return the device clock reading for POSIX time ``t`` (millisecond resolution, UTC)."""
    return datetime.fromtimestamp(round(t, 3), UTC)


def iso(t: float) -> str:
    """Return ``t`` as an ISO-8601 UTC timestamp."""
    return device_time(t).isoformat().replace("+00:00", "Z")


def sensor_event(device: Device, t: float, model: type[BaseModel], **fields: Any) -> Draft:
    """Draft an event of ``device``, relayed by its hub (with ``sensor_id``) when it has one."""
    if device.hub_id is not None:
        return Draft(t, device.hub_id, Channel.EVENT, model, {**fields, "sensor_id": device.device_id})
    return Draft(t, device.device_id, Channel.EVENT, model, fields)


def bracelet_event(resident: Resident, t: float, model: type[BaseModel], **fields: Any) -> Draft:
    """Draft an event the bracelet sends itself."""
    return Draft(t, resident.device("bracelet").device_id, Channel.EVENT, model, fields)


def status(publisher: str, t: float, reason: str, state: str = "online", **fields: Any) -> Draft:
    """Draft a retained status message."""
    return Draft(t, publisher, Channel.STATUS, Status, {"state": state, "reason": reason, **fields}, retain=True)
