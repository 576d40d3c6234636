"""Send one message on one channel: Apprise for everything it supports, httpx for signed webhooks.

Apprise cannot add a per-message signature, so webhooks are posted here with the Standard Webhooks
headers; every other kind goes through Apprise. A sender never raises for a failed delivery: it
returns the outcome with a reason, and the service records it as an attempt.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol
from urllib.parse import quote

import apprise
import httpx

from notify.contacts import Channel, ChannelKind
from notify.signing import sign_webhook


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
            return SendResult(False, "no SMTP URL configured for e-mail channels")
        notifier = apprise.Apprise(asset=self._asset)
        if not notifier.add(url):
            return SendResult(False, "not a valid Apprise URL")
        with apprise.LogCapture(level=logging.WARNING) as log:  # type: ignore[no-untyped-call]  # untyped in apprise
            ok = bool(notifier.notify(body=message.body, title=message.title))
            detail = "" if ok else log.getvalue().strip()[-500:]
        return SendResult(ok, detail or ("" if ok else "Apprise reported a failure"))

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
            return SendResult(False, f"{type(exc).__name__}: {exc}")
        if response.is_success:
            return SendResult(True)
        return SendResult(False, f"HTTP {response.status_code}")

    def close(self) -> None:
        """Close the HTTP client."""
        self._client.close()


class ChannelSenders:
    """Route each channel kind to its sender."""

    def __init__(self, webhook_secret: str | bytes, mail_url: str | None = None) -> None:
        via_apprise = AppriseSender(mail_url)
        self._webhook = WebhookSender(webhook_secret)
        self._by_kind: dict[ChannelKind, Sender] = {
            ChannelKind.APPRISE: via_apprise,
            ChannelKind.EMAIL: via_apprise,
            ChannelKind.WEBHOOK: self._webhook,
        }

    def send(self, channel: Channel, message: Outgoing, now: datetime) -> SendResult:
        """Send on the sender of the channel's kind."""
        return self._by_kind[channel.kind].send(channel, message, now)

    def close(self) -> None:
        """Release the HTTP client."""
        self._webhook.close()
