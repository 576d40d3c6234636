"""The pure parts: quiet hours, back-off, the chain rule, webhook signatures and reply tokens."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from notify.errors import SignatureError, TokenError
from notify.rules import Link, RetryPolicy, next_in_chain, quiet_until
from notify.signing import (
    make_reply_token,
    make_task_token,
    read_reply_token,
    read_task_token,
    sign_webhook,
    verify_webhook,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")
T0 = datetime(2026, 11, 1, 15, 0, tzinfo=UTC)  # 23:00 in Shanghai
SECRET = b"0123456789abcdef-test-secret"
WINDOW = timedelta(minutes=10)


def test_quiet_hours_wrap_midnight() -> None:
    start, end = time(22, 0), time(7, 0)
    assert quiet_until(T0, start, end, SHANGHAI) == datetime(2026, 11, 2, 7, 0, tzinfo=SHANGHAI)
    early = datetime(2026, 11, 2, 5, 30, tzinfo=SHANGHAI)
    assert quiet_until(early, start, end, SHANGHAI) == datetime(2026, 11, 2, 7, 0, tzinfo=SHANGHAI)
    assert quiet_until(datetime(2026, 11, 2, 7, 0, tzinfo=SHANGHAI), start, end, SHANGHAI) is None
    assert quiet_until(datetime(2026, 11, 2, 12, 0, tzinfo=SHANGHAI), start, end, SHANGHAI) is None
    assert quiet_until(T0, None, None, SHANGHAI) is None


def test_quiet_hours_within_a_day() -> None:
    nap = (time(13, 0), time(14, 30))
    assert quiet_until(datetime(2026, 11, 2, 13, 10, tzinfo=SHANGHAI), *nap, SHANGHAI) == datetime(
        2026, 11, 2, 14, 30, tzinfo=SHANGHAI
    )
    assert quiet_until(datetime(2026, 11, 2, 15, 0, tzinfo=SHANGHAI), *nap, SHANGHAI) is None


def test_back_off_doubles_up_to_a_limit_then_gives_up() -> None:
    policy = RetryPolicy(
        first_delay=timedelta(seconds=10), max_delay=timedelta(seconds=60), give_up_after=timedelta(minutes=3)
    )
    delays = []
    now = T0
    for attempt in range(1, 10):
        at = policy.next_attempt(attempt, T0, now)
        if at is None:
            break
        delays.append((at - now).total_seconds())
        now = at
    assert delays == [10, 20, 40, 60]


def test_chain_moves_on_after_silence_cant_failure_and_skip() -> None:
    sent = Link("sent", T0)
    assert next_in_chain([sent, Link("waiting")], T0 + WINDOW / 2, WINDOW) is None
    assert next_in_chain([sent, Link("waiting")], T0 + WINDOW, WINDOW) == 1
    assert next_in_chain([Link("sent", T0, "cant"), Link("waiting")], T0, WINDOW) == 1
    assert next_in_chain([Link("failed"), Link("skipped"), Link("waiting")], T0, WINDOW) == 2
    assert next_in_chain([Link("pending"), Link("waiting")], T0 + WINDOW * 5, WINDOW) is None


def test_chain_stops_once_someone_goes() -> None:
    assert next_in_chain([Link("sent", T0, "going"), Link("waiting")], T0 + WINDOW * 3, WINDOW) is None
    assert (
        next_in_chain([Link("sent", T0, "cant"), Link("sent", T0, "call_me"), Link("waiting")], T0 + WINDOW * 3, WINDOW)
        is None
    )


@given(st.binary(max_size=300), st.text(min_size=1, max_size=40))
def test_webhook_signature_round_trips(body: bytes, msg_id: str) -> None:
    headers = sign_webhook(SECRET, msg_id, T0, body)
    assert verify_webhook(headers, body, SECRET, T0 + timedelta(seconds=30)) == msg_id


def test_webhook_tampering_and_staleness_are_refused() -> None:
    body = b'{"a":1}'
    headers = sign_webhook(SECRET, "msg_1", T0, body)
    with pytest.raises(SignatureError):
        verify_webhook(headers, b'{"a":2}', SECRET, T0)
    with pytest.raises(SignatureError):
        verify_webhook(headers, body, b"another-secret-of-16+bytes", T0)
    with pytest.raises(SignatureError):
        verify_webhook(headers, body, SECRET, T0 + timedelta(minutes=6))
    with pytest.raises(SignatureError):
        verify_webhook({}, body, SECRET, T0)
    rotated = {**headers, "webhook-signature": "v1,b2xk " + headers["webhook-signature"]}
    assert verify_webhook(rotated, body, SECRET, T0) == "msg_1"


def test_known_standard_webhooks_vector() -> None:
    # The example from the Standard Webhooks specification's reference libraries.
    secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    body = b'{"test": 2432232314}'
    headers = sign_webhook(secret, "msg_p5jXN8AQM9LWM0D4loKWxJek", datetime.fromtimestamp(1614265330, UTC), body)
    assert headers["webhook-signature"] == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def test_reply_tokens_verify_and_expire() -> None:
    token = make_reply_token(SECRET, 42, "going", T0 + timedelta(hours=1))
    claim = read_reply_token(SECRET, token, T0)
    assert (claim.delivery_id, claim.answer) == (42, "going")
    with pytest.raises(TokenError):
        read_reply_token(SECRET, token, T0 + timedelta(hours=2))
    with pytest.raises(TokenError):
        read_reply_token(b"another-secret-of-16+bytes", token, T0)
    payload, mac = token.split(".")
    with pytest.raises(TokenError):
        read_reply_token(SECRET, payload[:-2] + "xx." + mac, T0)
    with pytest.raises(TokenError):
        read_reply_token(SECRET, "garbage", T0)
    with pytest.raises(TokenError):
        make_reply_token(SECRET, 1, "maybe", T0)


def test_task_tokens_verify_expire_and_are_no_reply_tokens() -> None:
    token = make_task_token(SECRET, 7, "s3", T0 + timedelta(hours=12))
    claim = read_task_token(SECRET, token, T0)
    assert (claim.assignment_id, claim.staff_id) == (7, "s3")
    with pytest.raises(TokenError):
        read_task_token(SECRET, token, T0 + timedelta(hours=13))
    with pytest.raises(TokenError):
        read_reply_token(SECRET, token, T0)  # signed for another purpose: not a reply link
    with pytest.raises(TokenError):
        read_task_token(SECRET, make_reply_token(SECRET, 7, "going", T0 + timedelta(hours=1)), T0)
