"""Sign-in throttling that cannot lock people out: growing waits per account and per address, said in codes.

Time passes in these tests by moving the recorded attempts into the past, as a clock would: the waits are
computed from the database's clock against the attempts' times.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from psycopg_pool import ConnectionPool

from dashboard.app import create_app
from dashboard.throttle import Backoff, Failures, wait_s
from tests.dashboard.world import PASSWORD, settings

CAP_USER = 60
CAP_IP = 300
Client = Callable[[str], TestClient]


@pytest.fixture
def from_address(pool: ConnectionPool[Any]) -> Iterator[Client]:
    """Open the dashboard as seen from one address or another (3 free failures per account, 10 per address)."""
    app = create_app(settings(login_delay_cap_user_s=CAP_USER, login_delay_cap_ip_s=CAP_IP), pool)
    opened: dict[str, TestClient] = {}

    def client(ip: str) -> TestClient:
        if ip not in opened:
            opened[ip] = TestClient(app, client=(ip, 40000))
        return opened[ip]

    yield client
    for each in opened.values():
        each.close()


def _later(pool: ConnectionPool[Any], seconds: float) -> None:
    """Let ``seconds`` pass for the throttle: every recorded attempt moves that far into the past."""
    with pool.connection() as conn:
        conn.execute("UPDATE login_attempts SET at = at - make_interval(secs => %s)", (seconds,))


def _try(client: TestClient, username: str, password: str = "wrong") -> httpx.Response:
    return client.post("/api/auth/login", json={"username": username, "password": password})


def test_the_wait_grows_after_the_free_failures_and_stops_at_the_cap() -> None:
    backoff = Backoff(free_failures=3, base_s=1, cap_s=60)
    assert [backoff.delay_s(n) for n in range(1, 12)] == [0, 0, 1, 2, 4, 8, 16, 32, 60, 60, 60]
    at = datetime(2025, 1, 1, 3, 0, tzinfo=UTC)
    assert wait_s(backoff, Failures(5, at), at + timedelta(seconds=1.5)) == 3  # whole seconds, rounded up
    assert wait_s(backoff, Failures(5, at), at + timedelta(seconds=4)) == 0
    assert wait_s(backoff, Failures(0, None), at) == 0
    assert Backoff(3, 1, 60).delay_s(10_000) == 60  # no overflow however long the attack


def test_each_failure_says_the_next_wait_and_an_early_attempt_is_told_to_wait(
    from_address: Client, pool: ConnectionPool[Any]
) -> None:
    client = from_address("10.0.0.1")
    for expected in (0, 0, 1, 2, 4, 8, 16, 32, 60, 60):
        failed = _try(client, "operator")
        assert failed.status_code == 401, failed.text
        assert failed.json()["detail"] == {"code": "login_failed", "retry_after_s": expected}
        if expected:
            early = _try(client, "operator", PASSWORD)  # even the right password waits: no shortcut by guessing
            assert early.status_code == 429
            detail = early.json()["detail"]
            assert detail["code"] == "login_wait" and 0 < detail["retry_after_s"] <= expected, detail
            assert early.headers["retry-after"] == str(detail["retry_after_s"])
            _later(pool, expected)
    assert _try(client, "operator", PASSWORD).status_code == 200  # after the wait, the right password signs in


def test_an_attacker_keeps_the_right_user_out_no_longer_than_the_cap(
    from_address: Client, pool: ConnectionPool[Any]
) -> None:
    attacker, operator = from_address("203.0.113.9"), from_address("10.1.2.3")
    for _ in range(12):  # the attacker tries again each time the wait is over, so the wait reaches the cap
        while (answer := _try(attacker, "operator")).status_code == 429:
            _later(pool, answer.json()["detail"]["retry_after_s"])
        if answer.json()["detail"]["retry_after_s"]:
            for _ in range(20):  # and hammers in between: refused unseen, and the wait does not grow
                assert _try(attacker, "operator").status_code == 429
    assert answer.json()["detail"]["retry_after_s"] == CAP_USER
    held = _try(operator, "operator", PASSWORD)
    assert held.status_code == 429
    assert held.json()["detail"]["retry_after_s"] <= CAP_USER
    _later(pool, CAP_USER)
    signed_in = _try(operator, "operator", PASSWORD)
    assert signed_in.status_code == 200, signed_in.text
    # Her success forgets the failures on her account: a guess from elsewhere starts from free again.
    assert _try(from_address("203.0.113.10"), "operator").json()["detail"]["retry_after_s"] == 0


def test_an_address_that_sprays_many_accounts_is_slowed_but_other_addresses_are_not(
    from_address: Client, pool: ConnectionPool[Any]
) -> None:
    sprayer = from_address("198.51.100.7")
    answers = [_try(sprayer, f"guess{n}").json()["detail"]["retry_after_s"] for n in range(10)]
    assert answers == [0] * 9 + [1]  # ten free failures per address, then the address waits
    assert _try(sprayer, "family1", PASSWORD).status_code == 429  # a fresh name from that address waits too
    waits = []
    for n in range(10, 19):  # each tried as soon as the address's wait is over
        while (answer := _try(sprayer, f"guess{n}")).status_code == 429:
            _later(pool, answer.json()["detail"]["retry_after_s"])
        waits.append(answer.json()["detail"]["retry_after_s"])
    assert waits == [2, 4, 8, 16, 32, 64, 128, 256, CAP_IP]  # larger than an account's cap: many names were tried
    assert _try(from_address("10.9.9.9"), "family1", PASSWORD).status_code == 200


def test_parallel_guesses_queue_behind_each_other_and_see_the_wait(from_address: Client) -> None:
    client = from_address("192.0.2.50")
    with ThreadPoolExecutor(max_workers=8) as workers:
        codes = list(workers.map(lambda _: _try(client, "supervisor").status_code, range(8)))
    assert sorted(codes) == [401] * 3 + [429] * 5  # three free failures, however the guesses are timed
