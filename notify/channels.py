"""Send one message on one channel: Apprise for everything it supports, httpx for signed webhooks, the outbox.

Apprise cannot add a per-message signature, so webhooks are posted here with the Standard Webhooks
headers; the outbox stores the message in the platform's own database (``outbox_messages``), so a
demo or a drill is really delivered with no server at all; every other kind goes through Apprise.
A sender never raises for a failed delivery: it returns the outcome with a reason and a stable code,
and says when trying again cannot help (no mail server configured, a URL Apprise does not know), so
the service gives up at once and the family page says the notice was not delivered.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final, Protocol
from urllib.parse import quote, urlsplit

import apprise
import httpx
import psycopg

from notify.contacts import Channel, ChannelKind
from notify.signing import sign_webhook

Connect = Callable[[], AbstractContextManager[psycopg.Connection[Any]]]
OUTBOX_NAME: Final = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")
_EMAIL: Final = re.compile(r"^[^@\s<>,;]+@[^@\s<>,;]+\.[^@\s<>,;]+$")


@dataclass(frozen=True, slots=True)
class Outgoing:
    """One message to one contact: the texts and the data a webhook receives."""

    message_id: str  # stable across retries: the receiver's de-duplication key
    event: str
    title: str
    body: str
    data: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class SendResult:
    """Whether a message went out, and why not."""

    ok: bool
    detail: str = ""
    code: str = ""  # why not, for pages: no_mail_server, invalid_url, send_failed, unreachable, http_error, no_outbox
    permanent: bool = False  # trying again cannot help


class Sender(Protocol):
    """Send a message on a channel."""

    def send(self, channel: Channel, message: Outgoing, now: datetime) -> SendResult: ...


class AppriseSender:
    """Send through Apprise; bare e-mail addresses go through the platform's ``mailto://`` SMTP URL."""

    def __init__(self, mail_url: str | None = None) -> None:
        self._mail_url = mail_url  # e.g. mailtos://user:pass@smtp.example.org?from=anxin@example.org
        self._asset = apprise.AppriseAsset(storage_mode="memory")

    def send(self, channel: Channel, message: Outgoing, now: datetime) -> SendResult:
        """Send one message through Apprise."""
        del now
        url = self._url(channel)
        if url is None:
            return SendResult(False, "no SMTP URL configured for e-mail channels", "no_mail_server", permanent=True)
        notifier = apprise.Apprise(asset=self._asset)
        if not notifier.add(url):
            return SendResult(False, "not a valid Apprise URL", "invalid_url", permanent=True)
        with apprise.LogCapture(level=logging.WARNING) as log:  # type: ignore[no-untyped-call]  # untyped in apprise
            ok = bool(notifier.notify(body=message.body, title=message.title))
            detail = "" if ok else log.getvalue().strip()[-500:]
        if ok:
            return SendResult(True)
        return SendResult(False, detail or "Apprise reported a failure", "send_failed")

    def _url(self, channel: Channel) -> str | None:
        """Return the Apprise URL of a channel."""
        if channel.kind is not ChannelKind.EMAIL:
            return channel.target
        if self._mail_url is None:
            return None
        joiner = "&" if "?" in self._mail_url else "?"
        return f"{self._mail_url}{joiner}to={quote(channel.target, safe='@')}"


class WebhookSender:
    """Post a signed Standard Webhooks message with httpx."""

    def __init__(
        self, secret: str | bytes, timeout_s: float = 5.0, transport: httpx.BaseTransport | None = None
    ) -> None:
        self._secret = secret
        self._client = httpx.Client(timeout=timeout_s, transport=transport)

    def send(self, channel: Channel, message: Outgoing, now: datetime) -> SendResult:
        """Post one message; any 2xx answer is a delivery."""
        payload = {
            "type": f"notice.{message.event}",
            "timestamp": now.isoformat(),
            "data": {"title": message.title, "body": message.body, **message.data},
        }
        body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
        headers = {"content-type": "application/json", **sign_webhook(self._secret, message.message_id, now, body)}
        try:
            response = self._client.post(channel.target, content=body, headers=headers)
        except httpx.HTTPError as exc:
            return SendResult(False, f"{type(exc).__name__}: {exc}", "unreachable")
        if response.is_success:
            return SendResult(True)
        return SendResult(False, f"HTTP {response.status_code}", "http_error")

    def close(self) -> None:
        """Close the HTTP client."""
        self._client.close()


class OutboxSender:
    """Keep the message in the platform's own outbox (``outbox_messages``), where pages read it back."""

    def __init__(self, connect: Connect) -> None:
        self._connect = connect

    def send(self, channel: Channel, message: Outgoing, now: datetime) -> SendResult:
        """Store one message in the box the channel names (a retry of the same message stores nothing)."""
        data = message.data
        contact_id = data.get("contact_id")
        notice_id = data.get("notice_id")
        try:
            with self._connect() as conn:
                conn.execute(
                    "INSERT INTO outbox_messages (mailbox, message_id, recipient, contact_id, notice_id, alert_id,"
                    " event, language, title, body, at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
                    " ON CONFLICT (mailbox, message_id) DO NOTHING",
                    (
                        channel.target,
                        message.message_id,
                        data.get("recipient"),
                        int(contact_id) if contact_id is not None else None,
                        int(notice_id) if notice_id is not None else None,
                        None if data.get("alert_id") is None else str(data["alert_id"]),
                        message.event,
                        data.get("language"),
                        message.title,
                        message.body,
                        now,
                    ),
                )
        except psycopg.Error as exc:
            return SendResult(False, f"{type(exc).__name__}: {exc}"[:500], "unreachable")
        return SendResult(True)


class _NoOutbox:
    """Refuse outbox channels where no database was given to keep them in."""

    def send(self, channel: Channel, message: Outgoing, now: datetime) -> SendResult:
        """Refuse: there is no outbox here."""
        del channel, message, now
        return SendResult(False, "no outbox is kept by this process", "no_outbox", permanent=True)


def channel_problem(kind: ChannelKind, target: str) -> str | None:
    """Return why a channel cannot work as given (a code), or None when it is a valid channel."""
    problems: dict[ChannelKind, Callable[[str], str | None]] = {
        ChannelKind.APPRISE: lambda t: None if apprise.Apprise().add(t) else "channel_apprise_invalid",
        ChannelKind.WEBHOOK: lambda t: None if _https(t) else "channel_webhook_not_https",
        ChannelKind.EMAIL: lambda t: None if _EMAIL.match(t) else "channel_email_invalid",
        ChannelKind.OUTBOX: lambda t: None if OUTBOX_NAME.match(t) else "channel_outbox_invalid",
    }
    if not target or len(target) > 2000 or target != target.strip():
        return "channel_target_invalid"
    return problems[kind](target)


def _https(url: str) -> bool:
    """Tell whether a URL is an https URL with a host."""
    parts = urlsplit(url)
    return parts.scheme == "https" and bool(parts.hostname)


class ChannelSenders:
    """Route each channel kind to its sender; outbox channels need the database to keep them in."""

    def __init__(
        self, webhook_secret: str | bytes, mail_url: str | None = None, *, outbox: Connect | None = None
    ) -> None:
        via_apprise = AppriseSender(mail_url)
        self._webhook = WebhookSender(webhook_secret)
        self._by_kind: dict[ChannelKind, Sender] = {
            ChannelKind.APPRISE: via_apprise,
            ChannelKind.EMAIL: via_apprise,
            ChannelKind.WEBHOOK: self._webhook,
            ChannelKind.OUTBOX: OutboxSender(outbox) if outbox is not None else _NoOutbox(),
        }

    def send(self, channel: Channel, message: Outgoing, now: datetime) -> SendResult:
        """Send on the sender of the channel's kind."""
        return self._by_kind[channel.kind].send(channel, message, now)

    def close(self) -> None:
        """Release the HTTP client."""
        self._webhook.close()
