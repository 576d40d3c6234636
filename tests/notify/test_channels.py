"""Senders against real local receivers: Apprise json:// and mailto://, and signed webhooks over httpx."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from notify.channels import AppriseSender, ChannelSenders, Outgoing, WebhookSender
from notify.contacts import Channel, ChannelKind
from notify.signing import verify_webhook
from tests.notify.notify_receivers import HttpReceiver, SmtpSink

SECRET = "whsec_" + "c2VjcmV0LXNpZ25pbmcta2V5LWZvci10ZXN0cw=="  # base64 of a 29-byte test key
MESSAGE = Outgoing("msg_1_1", "alert_raised", "【安心】王奶奶：跌倒", "王奶奶于08:00发生「跌倒」。", {"notice_id": 1})


def test_apprise_json_reaches_the_http_receiver(http_receiver: HttpReceiver) -> None:
    result = AppriseSender().send(
        Channel(ChannelKind.APPRISE, f"json://{http_receiver.url}/family"), MESSAGE, datetime.now(UTC)
    )
    assert result.ok, result.detail
    [got] = http_receiver.to("/family")
    body = json.loads(got.body)
    assert body["title"] == MESSAGE.title
    assert body["message"] == MESSAGE.body


def test_apprise_reports_a_failing_receiver(http_receiver: HttpReceiver) -> None:
    http_receiver.fail_first = 1
    result = AppriseSender().send(
        Channel(ChannelKind.APPRISE, f"json://{http_receiver.url}/x"), MESSAGE, datetime.now(UTC)
    )
    assert not result.ok
    assert result.detail


def test_email_goes_through_the_smtp_sink(smtp_sink: SmtpSink) -> None:
    sender = AppriseSender(f"mailto://127.0.0.1:{smtp_sink.port}?from=anxin@example.org&mode=insecure")
    result = sender.send(Channel(ChannelKind.EMAIL, "son@example.org"), MESSAGE, datetime.now(UTC))
    assert result.ok, result.detail
    [mail] = smtp_sink.mails
    assert any("son@example.org" in r for r in mail.recipients)
    assert b"Subject:" in mail.data


def test_email_without_smtp_url_fails_cleanly() -> None:
    result = AppriseSender().send(Channel(ChannelKind.EMAIL, "son@example.org"), MESSAGE, datetime.now(UTC))
    assert not result.ok
    assert "SMTP" in result.detail


def test_signed_webhook_verifies_at_the_receiver(http_receiver: HttpReceiver) -> None:
    now = datetime.now(UTC)
    sender = WebhookSender(SECRET)
    try:
        assert sender.send(Channel(ChannelKind.WEBHOOK, f"http://{http_receiver.url}/hook"), MESSAGE, now).ok
    finally:
        sender.close()
    [got] = http_receiver.to("/hook")
    assert verify_webhook(got.headers, got.body, SECRET, now) == "msg_1_1"
    payload = json.loads(got.body)
    assert payload["type"] == "notice.alert_raised"
    assert payload["data"]["notice_id"] == 1


def test_channel_senders_route_by_kind(http_receiver: HttpReceiver) -> None:
    senders = ChannelSenders(SECRET)
    try:
        now = datetime.now(UTC)
        assert senders.send(Channel(ChannelKind.WEBHOOK, f"http://{http_receiver.url}/a"), MESSAGE, now).ok
        assert senders.send(Channel(ChannelKind.APPRISE, f"json://{http_receiver.url}/b"), MESSAGE, now).ok
    finally:
        senders.close()
    assert "webhook-signature" in http_receiver.to("/a")[0].headers
    assert "webhook-signature" not in http_receiver.to("/b")[0].headers
