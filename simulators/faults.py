"""Faulty-device mode: damage a chosen fraction of the outgoing messages, the way real fleets do.

=============  ==========================================================================
fault          what goes on the wire                                 what the platform sees
=============  ==========================================================================
malformed      the JSON cut short or garbled                         ``bad_json`` dead letter
duplicate      the same bytes twice (same seq and ts)                one stored row
out_of_order   held back and sent after the next few messages        stored in order of ts
skewed_clock   ts moved by −6 h…−5 min or +10 min…+2 h               ``future_timestamp`` if ahead
oversized      valid JSON padded beyond 128 KiB                      ``too_large`` dead letter
wrong_identity payload ``device_id`` names another device             ``identity_mismatch`` dead letter
=============  ==========================================================================

Faults are drawn from their own seeded generator, so a faulty run is as repeatable as a clean one.
"""

from __future__ import annotations

import json
import random
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Final

from gateway.contract import MAX_PAYLOAD_BYTES
from simulators.rand import seeded
from simulators.transport import Outgoing

HOLD_BACK: Final = 3


@dataclass(frozen=True, slots=True)
class Fault:
    """One kind of damage: how it rewrites a message into what is actually sent."""

    name: str
    apply: Callable[[Outgoing, random.Random], list[Outgoing]]


def _malformed(out: Outgoing, rng: random.Random) -> list[Outgoing]:
    cut = rng.randrange(1, max(2, len(out.payload) - 1))
    payload = out.payload[:cut] if rng.random() < 0.5 else out.payload.replace(b'"', b"'", 3)
    return [replace(out, payload=payload, ack_seq=None)]


def _duplicate(out: Outgoing, rng: random.Random) -> list[Outgoing]:
    return [out, out]


def _skewed(out: Outgoing, rng: random.Random) -> list[Outgoing]:
    minutes = rng.choice((rng.uniform(-360, -5), rng.uniform(10, 120)))
    return [_rewrite(out, "ts", lambda ts: _shift(str(ts), minutes))]


def _oversized(out: Outgoing, rng: random.Random) -> list[Outgoing]:
    pad = b" " * (MAX_PAYLOAD_BYTES + 1 - len(out.payload) + rng.randrange(1024))
    return [replace(out, payload=out.payload[:-1] + pad + out.payload[-1:], ack_seq=None)]


def _wrong_identity(out: Outgoing, rng: random.Random) -> list[Outgoing]:
    return [replace(_rewrite(out, "device_id", lambda d: f"{d}x"), ack_seq=None)]


def _out_of_order(out: Outgoing, rng: random.Random) -> list[Outgoing]:
    return [out]  # the injector holds it back; see FaultInjector.feed


FAULTS: Final[dict[str, Fault]] = {
    f.name: f
    for f in (
        Fault("malformed", _malformed),
        Fault("duplicate", _duplicate),
        Fault("out_of_order", _out_of_order),
        Fault("skewed_clock", _skewed),
        Fault("oversized", _oversized),
        Fault("wrong_identity", _wrong_identity),
    )
}


class FaultInjector:
    """Turn a clean message flow into a faulty one; ``counts`` says what was done."""

    def __init__(self, fraction: float, seed: int, kinds: tuple[str, ...] = tuple(FAULTS)) -> None:
        self.fraction, self.kinds = fraction, kinds
        self.rng = seeded(seed, "faults")
        self.counts: Counter[str] = Counter()
        self._held: list[tuple[int, Outgoing]] = []

    def feed(self, out: Outgoing) -> Iterator[Outgoing]:
        """Yield what actually goes on the wire for ``out`` (possibly nothing yet, or more)."""
        yield from self._release()
        if self.fraction <= 0 or self.rng.random() >= self.fraction:
            yield out
            return
        fault = FAULTS[self.rng.choice(self.kinds)]
        self.counts[fault.name] += 1
        if fault.name == "out_of_order":
            self._held.append((HOLD_BACK, out))
            return
        yield from fault.apply(out, self.rng)

    def flush(self) -> Iterator[Outgoing]:
        """Yield every message still held back."""
        held, self._held = self._held, []
        yield from (o for _, o in held)

    def _release(self) -> Iterator[Outgoing]:
        keep = []
        for left, out in self._held:
            if left <= 1:
                yield out
            else:
                keep.append((left - 1, out))
        self._held = keep


def _rewrite(out: Outgoing, key: str, change: Callable[[object], object]) -> Outgoing:
    data = json.loads(out.payload)
    data[key] = change(data.get(key, out.device_id))
    return replace(out, payload=json.dumps(data, separators=(",", ":")).encode())


def _shift(ts: str, minutes: float) -> str:
    when = datetime.fromisoformat(ts.replace("Z", "+00:00")) + timedelta(minutes=minutes)
    return when.isoformat().replace("+00:00", "Z")
