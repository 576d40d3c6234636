"""Bulk threads step aside while urgent work is in flight: at once when there is none, bounded when there is."""

from __future__ import annotations

import threading
import time

from gateway.priority import Priority


def test_nothing_urgent_costs_nothing() -> None:
    priority = Priority()
    started = time.monotonic()
    for _ in range(10_000):
        priority.step_aside()
    assert time.monotonic() - started < 1.0 and priority.pauses == 0


def test_a_bulk_thread_waits_until_the_urgent_work_ends() -> None:
    priority = Priority(max_pause_s=5.0)
    priority.begin()
    resumed = threading.Event()

    def bulk() -> None:
        priority.step_aside()
        resumed.set()

    thread = threading.Thread(target=bulk)
    thread.start()
    assert not resumed.wait(0.2)  # still urgent: the bulk thread waits
    priority.end()
    assert resumed.wait(2.0)  # done: it goes on at once
    thread.join()
    assert priority.pauses == 1


def test_urgent_work_that_never_ends_holds_bulk_threads_for_a_bounded_time() -> None:
    priority = Priority(max_pause_s=0.05, budget=0.2)
    with priority.urgent():  # a flood, or a stuck urgent thread
        started = time.monotonic()
        for _ in range(40):
            priority.step_aside()
        spent = time.monotonic() - started
    assert 0.15 <= spent < 0.6  # at most a fifth of each second is given up, not 40 × 50 ms
    priority.step_aside()  # over: no wait at all


def test_nested_urgent_work_counts() -> None:
    priority = Priority(max_pause_s=0.01)
    priority.begin()
    with priority.urgent():
        pass
    started = time.monotonic()
    priority.step_aside()  # one is still in flight
    assert time.monotonic() - started >= 0.009
    priority.end()
    started = time.monotonic()
    priority.step_aside()
    assert time.monotonic() - started < 0.005
