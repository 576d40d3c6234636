"""The outbox: a channel that works with no server (demos, drills, the family page's "my messages").

A real database; the family notifier tries a contact's channels in order, an e-mail with no mail server
configured fails at once with its code (never left pending), and the outbox keeps the message; desk
people reached on ``outbox://<name>`` have theirs kept too.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from alerts.kinds import Severity
from notify.channels import ChannelSenders, OutboxSender, Outgoing, channel_problem
from notify.contacts import Channel, ChannelKind, Contact, Relation
from notify.desk import DeskMessage, DeskNotifier, Person, channel_of
from notify.service import Notice
from tests.notify.test_service import SECRET, Connect, add_contacts, connect, notifier  # noqa: F401 - fixtures

T0 = datetime(2026, 11, 1, 2, 0, tzinfo=UTC)


def test_the_outbox_keeps_a_message_once(connect: Connect) -> None:  # noqa: F811 - the fixture
    box = OutboxSender(connect)
    message = Outgoing("msg_1_2", "alert_raised", "【安心】王奶奶：紧急呼叫", "请回复", {"recipient": "contact:2"})
    assert box.send(Channel(ChannelKind.OUTBOX, "family-r1"), message, T0).ok
    assert box.send(Channel(ChannelKind.OUTBOX, "family-r1"), message, T0).ok, "a retry is a delivery too"
    with connect() as conn:
        rows = conn.execute("SELECT mailbox, recipient, title FROM outbox_messages").fetchall()
    assert rows == [("family-r1", "contact:2", "【安心】王奶奶：紧急呼叫")]
    nowhere = ChannelSenders(SECRET).send(Channel(ChannelKind.OUTBOX, "family-r1"), message, T0)
    assert (nowhere.ok, nowhere.code, nowhere.permanent) == (False, "no_outbox", True)


def test_a_contact_is_told_on_the_next_channel_and_a_hopeless_one_fails_at_once(connect: Connect) -> None:  # noqa: F811
    senders = ChannelSenders(SECRET, outbox=connect)  # and no mail server
    daughter, son = add_contacts(
        connect,
        Contact(
            "女儿",
            Relation.FAMILY,
            (Channel(ChannelKind.EMAIL, "daughter@example.org"), Channel(ChannelKind.OUTBOX, "family-r1")),
            position=1,
        ),
        Contact("儿子", Relation.FAMILY, (Channel(ChannelKind.EMAIL, "son@example.org"),), position=2),
    )
    notice = Notice("a1:resolved", "r1", "alert_resolved", Severity.HIGH, "a1", {"outcome": "无伤"})
    notifier(connect, senders).notify(notice, T0)
    with connect() as conn:
        states = dict(
            conn.execute("SELECT contact_id, state || ':' || coalesce(skip_reason, '') FROM notice_deliveries")
        )
        attempts = conn.execute(
            "SELECT d.contact_id, a.channel_kind, a.ok, a.code FROM delivery_attempts a"
            " JOIN notice_deliveries d ON d.id = a.delivery_id ORDER BY a.id"
        ).fetchall()
        kept = conn.execute(
            "SELECT contact_id, recipient, event, language, title, body FROM outbox_messages"
        ).fetchall()
    assert states == {daughter: "sent:", son: "failed:undeliverable"}, "not left pending: it can never work"
    assert attempts == [
        (daughter, "email", False, "no_mail_server"),
        (daughter, "outbox", True, None),
        (son, "email", False, "no_mail_server"),
    ]
    assert kept == [
        (
            daughter,
            f"contact:{daughter}",
            "alert_resolved",
            "zh",
            "【安心】王奶奶的警报已处理",
            "处理结果：无伤。如有疑问请联系服务站。",
        )
    ]


@pytest.mark.parametrize(
    ("kind", "target", "problem"),
    [
        (ChannelKind.OUTBOX, "family-r1", None),
        (ChannelKind.OUTBOX, "家", "channel_outbox_invalid"),
        (ChannelKind.EMAIL, "daughter@example.org", None),
        (ChannelKind.EMAIL, "daughter@", "channel_email_invalid"),
        (ChannelKind.WEBHOOK, "https://hooks.example.org/a", None),
        (ChannelKind.WEBHOOK, "http://hooks.example.org/a", "channel_webhook_not_https"),
        (ChannelKind.APPRISE, "json://127.0.0.1:9/x", None),
        (ChannelKind.APPRISE, "nosuch://x", "channel_apprise_invalid"),
        (ChannelKind.EMAIL, "", "channel_target_invalid"),
    ],
)
def test_a_channel_is_checked_by_its_kind(kind: ChannelKind, target: str, problem: str | None) -> None:
    assert channel_problem(kind, target) == problem


def test_desk_people_on_an_outbox_url_have_their_messages_kept(connect: Connect) -> None:  # noqa: F811
    assert channel_of("outbox://s01") == Channel(ChannelKind.OUTBOX, "s01")
    desk = DeskNotifier(connect, ChannelSenders(SECRET, outbox=connect))
    params = {
        "alert_title": "紧急呼叫",
        "resident": "王奶奶",
        "address": "幸福路1号",
        "deadline": "10:15",
        "eta": "6",
        "window": "3",
        "link": "https://anxin.test/t/x",
    }
    message = DeskMessage(7, "offer", "offer", "task_offer", params, ref_id=3)
    (reached,) = desk.tell([Person("staff:s01", "李红", "outbox://s01")], message, T0)
    assert (reached.ok, reached.channel) == (True, "outbox")
    with connect() as conn:
        kept = conn.execute("SELECT mailbox, recipient, alert_id, title FROM outbox_messages").fetchall()
        record = conn.execute("SELECT channel, target, ok FROM desk_deliveries").fetchall()
    assert kept == [("s01", "staff:s01", "7", "【安心·派单】紧急呼叫：王奶奶")]
    assert record == [("outbox", "outbox://…", True)]
