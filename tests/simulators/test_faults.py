"""Faulty-device mode damages the chosen fraction of messages, each fault the way the table says."""

from __future__ import annotations

from collections import Counter
from datetime import datetime

import pytest

from gateway.contract import TOPIC_PREFIX, decode
from gateway.errors import ContractError
from simulators.faults import FAULTS, FaultInjector
from simulators.messages import Truth
from simulators.model import Simulation
from simulators.transport import Outgoing, outgoing

from .factories import world

EXPECTED_REASON = {"malformed": "bad_json", "oversized": "too_large", "wrong_identity": "identity_mismatch"}


def clean_flow() -> list[Outgoing]:
    items = Simulation(world(residents=2, days=0.2)).stream()
    return [outgoing(m, TOPIC_PREFIX) for m in items if not isinstance(m, Truth)]


def reason(out: Outgoing, now: datetime) -> str | None:
    try:
        decode(out.topic, out.payload, now=now)
    except ContractError as exc:
        return exc.reason
    return None


@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_each_fault_shows_as_documented(fault: str) -> None:
    flow = clean_flow()
    fraction = 0.3 if fault == "out_of_order" else 1.0  # when everything is late, nothing is out of order
    injector = FaultInjector(fraction, seed=3, kinds=(fault,))
    sent = [o for out in flow[:200] for o in injector.feed(out)] + list(injector.flush())
    assert injector.counts[fault] == 200 if fraction == 1 else injector.counts[fault] > 30
    now = datetime.fromisoformat("2030-01-01T00:00:00+00:00")
    if fault in EXPECTED_REASON:
        assert {reason(o, now) for o in sent} == {EXPECTED_REASON[fault]}
    elif fault == "duplicate":
        assert len(sent) == 400 and all(n == 2 for n in Counter(o.payload for o in sent).values())
    elif fault == "out_of_order":
        assert sorted(o.payload for o in sent) == sorted(o.payload for o in flow[:200])
        assert [o.payload for o in sent] != [o.payload for o in flow[:200]]
    elif fault == "skewed_clock":
        originals = {o.topic + str(o.device_id) for o in flow[:200]}
        assert {o.topic + o.device_id for o in sent} <= originals
        assert [o.payload for o in sent] != [o.payload for o in flow[:200]]


def test_future_skew_is_rejected_against_the_true_clock() -> None:
    flow = clean_flow()[:300]
    injector = FaultInjector(1.0, seed=5, kinds=("skewed_clock",))
    reasons = Counter()
    for out in flow:
        true_now = decode(out.topic, out.payload, now=datetime.max.replace(tzinfo=None).astimezone()).body.ts
        for o in injector.feed(out):
            reasons[reason(o, true_now)] += 1
    assert reasons["future_timestamp"] > 0 and reasons[None] > 0


def test_fraction_is_respected_and_repeatable() -> None:
    flow = clean_flow()
    counts = []
    for _ in range(2):
        injector = FaultInjector(0.1, seed=9)
        sent = [o.payload for out in flow for o in injector.feed(out)]
        counts.append((sum(injector.counts.values()), sent))
    assert counts[0] == counts[1]
    assert 0.07 * len(flow) < counts[0][0] < 0.13 * len(flow)
