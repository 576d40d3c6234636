"""Same seed, same messages — byte for byte; another seed, another neighbourhood."""

from __future__ import annotations

import hashlib

from gateway.contract import TOPIC_PREFIX
from simulators.messages import Truth
from simulators.model import Simulation, World

from .factories import world


def digest(w: World) -> str:
    h = hashlib.sha256()
    for item in Simulation(w).stream():
        if isinstance(item, Truth):
            h.update(repr(item.as_json()).encode())
        else:
            h.update(item.topic(TOPIC_PREFIX).encode() + b"\0" + item.payload() + b"\n")
    return h.hexdigest()


def test_same_seed_gives_identical_message_bytes() -> None:
    w = world(residents=4, days=1, incidents="fall:1,sos:1,smoke:1")
    assert digest(w) == digest(w)


def test_another_seed_gives_other_messages() -> None:
    assert digest(world(residents=2, days=0.5, seed=1)) != digest(world(residents=2, days=0.5, seed=2))


def test_a_residents_day_does_not_depend_on_the_size_of_the_fleet() -> None:
    small = [i for i in Simulation(world(residents=1, days=0.25)).stream() if not isinstance(i, Truth)]
    big = [
        i
        for i in Simulation(world(residents=3, days=0.25)).stream()
        if not isinstance(i, Truth) and i.device_id.startswith("r0000-")
    ]
    assert [m.payload() for m in small] == [m.payload() for m in big]
