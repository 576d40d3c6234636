"""Family notification end to end: a real database, Apprise to a local HTTP receiver and SMTP sink, signed webhooks."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from datetime import UTC, datetime, time, timedelta
from typing import Any
from urllib.parse import urlparse

import psycopg
import pytest

from alerts.kinds import Severity
from dispatch.people import ResidentProfile, save_resident_profile
from dispatch.places import Point
from notify.channels import ChannelSenders
from notify.contacts import Channel, ChannelKind, Contact, Relation, save_contact
from notify.rules import RetryPolicy
from notify.service import FamilyNotifier, Notice, NotifySettings
from notify.signing import verify_webhook
from tests.notify.notify_receivers import HttpReceiver, SmtpSink

T0 = datetime(2026, 11, 1, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai
NIGHT = datetime(2026, 11, 1, 15, 0, tzinfo=UTC)  # 23:00 in Shanghai
SECRET = "whsec_" + "dGVzdC1zaWduaW5nLXNlY3JldC1mb3ItYW54aW4="
REPLY_SECRET = b"reply-secret-for-tests-0123456789"
Connect = Callable[[], AbstractContextManager[psycopg.Connection[Any]]]


@pytest.fixture
def connect(db_url: str) -> Connect:
    with psycopg.connect(db_url) as conn:
        save_resident_profile(conn, ResidentProfile("r1", "王奶奶", Point(31.23, 121.47)))
    return lambda: psycopg.connect(db_url)


@pytest.fixture
def senders() -> Iterator[ChannelSenders]:
    s = ChannelSenders(SECRET)
    yield s
    s.close()


def add_contacts(connect: Connect, *contacts: Contact) -> list[int]:
    with connect() as conn:
        return [save_contact(conn, "r1", c) for c in contacts]


def notifier(connect: Connect, senders: ChannelSenders, **kw: Any) -> FamilyNotifier:
    retry = RetryPolicy(first_delay=timedelta(seconds=10), give_up_after=timedelta(minutes=1))
    return FamilyNotifier(
        connect, senders, NotifySettings(REPLY_SECRET, "https://anxin.test/r/{token}", retry=retry, **kw)
    )


def hook(http: HttpReceiver, path: str) -> Channel:
    return Channel(ChannelKind.WEBHOOK, f"http://{http.url}{path}")


def raised(key: str = "a1:raised", kind: str = "inactivity", severity: Severity = Severity.HIGH) -> Notice:
    return Notice(key, "r1", "alert_raised", severity, alert_id="a1", params={"alert_kind": kind})


def token_of(url: str) -> str:
    return urlparse(url).path.rsplit("/", 1)[1]


def test_apprise_json_and_email_both_delivered(
    connect: Connect, senders: ChannelSenders, http_receiver: HttpReceiver, smtp_sink: SmtpSink
) -> None:
    mail = ChannelSenders(SECRET, mail_url=f"mailto://127.0.0.1:{smtp_sink.port}?from=anxin@example.org&mode=insecure")
    try:
        add_contacts(
            connect,
            Contact("儿子", Relation.FAMILY, (Channel(ChannelKind.APPRISE, f"json://{http_receiver.url}/son"),)),
            Contact(
                "Daughter",
                Relation.FAMILY,
                (Channel(ChannelKind.EMAIL, "daughter@example.org"),),
                position=2,
                language="en",
            ),
        )
        notice = Notice("a1:on_site", "r1", "staff_on_site", Severity.HIGH, "a1", {"staff": "护理员李"})
        report = notifier(connect, mail).notify(notice, T0)
    finally:
        mail.close()
    assert report > 0
    [son] = http_receiver.to("/son")
    body = json.loads(son.body)
    assert "护理员李已于10:00到达王奶奶家" in body["message"]
    [email] = smtp_sink.mails
    assert any("daughter@example.org" in r for r in email.recipients)
    assert b"Staff are with" in email.data or b"=?utf-8?" in email.data.lower()


def test_retry_after_500_with_the_same_signed_id(
    connect: Connect, senders: ChannelSenders, http_receiver: HttpReceiver, db_url: str
) -> None:
    http_receiver.fail_first = 1
    add_contacts(connect, Contact("儿子", Relation.FAMILY, (hook(http_receiver, "/h"),)))
    service = notifier(connect, senders)
    service.notify(raised(), T0)
    assert len(http_receiver.requests) == 1
    assert service.run_due(T0 + timedelta(seconds=5)).retrying == 0  # not due yet
    assert service.run_due(T0 + timedelta(seconds=10)).sent == 1
    first, second = http_receiver.requests
    assert first.headers["webhook-id"] == second.headers["webhook-id"]
    assert verify_webhook(second.headers, second.body, SECRET, T0 + timedelta(seconds=10))
    data = json.loads(second.body)["data"]
    assert data["alert_id"] == "a1"
    assert "长时间无活动" in data["title"]
    assert set(data["replies"]) == {"going", "cant", "call_me"}
    with psycopg.connect(db_url) as conn:
        attempts = conn.execute("SELECT attempt, ok, detail FROM delivery_attempts ORDER BY id").fetchall()
    assert attempts == [(1, False, "HTTP 500"), (2, True, "")]


def test_never_two_copies(connect: Connect, senders: ChannelSenders, http_receiver: HttpReceiver) -> None:
    add_contacts(connect, Contact("儿子", Relation.FAMILY, (hook(http_receiver, "/h"),)))
    service = notifier(connect, senders)
    first = service.notify(raised(), T0)
    assert service.notify(raised(), T0 + timedelta(seconds=1)) == first
    for s in range(2, 30, 7):
        service.run_due(T0 + timedelta(seconds=s))
    assert len(http_receiver.requests) == 1


def test_gives_up_then_tells_the_next(
    connect: Connect, senders: ChannelSenders, http_receiver: HttpReceiver, db_url: str
) -> None:
    http_receiver.fail_first = 100
    add_contacts(
        connect,
        Contact("儿子", Relation.FAMILY, (hook(http_receiver, "/son"),)),
        Contact("邻居", Relation.NEIGHBOUR, (hook(http_receiver, "/neighbour"),), position=2),
    )
    service = notifier(connect, senders)
    service.notify(raised(), T0)
    now = T0
    for _ in range(8):
        now += timedelta(seconds=40)
        service.run_due(now)
    assert 2 <= len(http_receiver.to("/son")) <= 4
    assert http_receiver.to("/neighbour")
    with psycopg.connect(db_url) as conn:
        states = conn.execute("SELECT position, state FROM notice_deliveries ORDER BY position").fetchall()
    assert states[0] == (1, "failed")


def test_quiet_hours_skip_in_a_chain_but_not_for_critical(
    connect: Connect, senders: ChannelSenders, http_receiver: HttpReceiver
) -> None:
    add_contacts(
        connect,
        Contact("儿子", Relation.FAMILY, (hook(http_receiver, "/son"),), quiet_start=time(22, 0), quiet_end=time(7, 0)),
        Contact("网格员", Relation.GRID_WORKER, (hook(http_receiver, "/grid"),), position=2),
    )
    service = notifier(connect, senders)
    service.notify(raised("a1:raised"), NIGHT)
    assert not http_receiver.to("/son")
    assert len(http_receiver.to("/grid")) == 1  # the son sleeps; the grid worker is told at once
    service.notify(Notice("a2:raised", "r1", "alert_raised", Severity.CRITICAL, "a2", {"alert_kind": "fall"}), NIGHT)
    assert len(http_receiver.to("/son")) == 1  # a fall wakes him


def test_quiet_hours_postpone_progress_notices(
    connect: Connect, senders: ChannelSenders, http_receiver: HttpReceiver
) -> None:
    add_contacts(
        connect,
        Contact("儿子", Relation.FAMILY, (hook(http_receiver, "/son"),), quiet_start=time(22, 0), quiet_end=time(7, 0)),
    )
    service = notifier(connect, senders)
    service.notify(Notice("a1:resolved", "r1", "alert_resolved", Severity.HIGH, "a1", {"outcome": "误报"}), NIGHT)
    assert not http_receiver.requests
    assert service.run_due(NIGHT + timedelta(hours=7, minutes=59)).sent == 0
    assert service.run_due(NIGHT + timedelta(hours=8)).sent == 1  # 07:00 in Shanghai


def test_next_contact_after_no_answer_and_replies(
    connect: Connect, senders: ChannelSenders, http_receiver: HttpReceiver
) -> None:
    add_contacts(
        connect,
        Contact("儿子", Relation.FAMILY, (hook(http_receiver, "/son"),)),
        Contact("邻居", Relation.NEIGHBOUR, (hook(http_receiver, "/neighbour"),), position=2),
        Contact("网格员", Relation.GRID_WORKER, (hook(http_receiver, "/grid"),), position=3),
    )
    service = notifier(connect, senders, answer_window=timedelta(minutes=10))
    service.notify(raised(), T0)
    assert service.run_due(T0 + timedelta(minutes=9)).told_next == 0
    assert service.run_due(T0 + timedelta(minutes=10)).told_next == 1
    neighbour = json.loads(http_receiver.to("/neighbour")[0].body)["data"]
    reply = service.record_reply(token_of(neighbour["replies"]["going"]), T0 + timedelta(minutes=12))
    assert (reply.contact_name, reply.relation, reply.answer, reply.alert_id) == ("邻居", "neighbour", "going", "a1")
    assert service.record_reply(token_of(neighbour["replies"]["going"]), T0 + timedelta(minutes=13)) == reply
    assert service.run_due(T0 + timedelta(minutes=60)).told_next == 0
    assert not http_receiver.to("/grid")
    assert [r.answer for r in service.replies("a1")] == ["going"]


def test_cant_moves_on_at_once(connect: Connect, senders: ChannelSenders, http_receiver: HttpReceiver) -> None:
    add_contacts(
        connect,
        Contact("儿子", Relation.FAMILY, (hook(http_receiver, "/son"),)),
        Contact("邻居", Relation.NEIGHBOUR, (hook(http_receiver, "/neighbour"),), position=2),
    )
    service = notifier(connect, senders)
    service.notify(raised(), T0)
    son = json.loads(http_receiver.to("/son")[0].body)["data"]
    service.record_reply(token_of(son["replies"]["cant"]), T0 + timedelta(minutes=1))
    assert service.run_due(T0 + timedelta(minutes=1)).told_next == 1
    assert http_receiver.to("/neighbour")


def test_closed_alert_stops_the_chain(connect: Connect, senders: ChannelSenders, http_receiver: HttpReceiver) -> None:
    add_contacts(
        connect,
        Contact("儿子", Relation.FAMILY, (hook(http_receiver, "/son"),)),
        Contact("邻居", Relation.NEIGHBOUR, (hook(http_receiver, "/neighbour"),), position=2),
    )
    service = notifier(connect, senders)
    service.notify(raised(), T0)
    assert service.close_alert("a1") == 1
    service.run_due(T0 + timedelta(hours=1))
    assert not http_receiver.to("/neighbour")


def test_english_contact_and_min_severity(
    connect: Connect, senders: ChannelSenders, http_receiver: HttpReceiver
) -> None:
    add_contacts(
        connect,
        Contact("Tom", Relation.FAMILY, (hook(http_receiver, "/tom"),), language="en"),
        Contact(
            "只要紧急", Relation.FAMILY, (hook(http_receiver, "/urgent"),), position=2, min_severity=Severity.CRITICAL
        ),
    )
    service = notifier(connect, senders)
    service.notify(
        Notice("a1:dispatched", "r1", "staff_dispatched", Severity.HIGH, "a1", {"staff": "Li", "eta": "9"}), T0
    )
    [tom] = http_receiver.to("/tom")
    assert json.loads(tom.body)["data"]["title"] == "[Anxin] Li is on the way to 王奶奶"
    assert not http_receiver.to("/urgent")
