"""Reach the desk's own people: supervisors told of an escalation, staff offered a task.

Family notices wait, chain and retry (`notify.service`); these cannot: an escalation or an offer has its
own clock upstream (the escalation ladder, the offer window), so each is one attempt per person, now,
and the clock upstream decides what happens when nobody was reached. Every attempt is a row in
``desk_deliveries`` naming the person, the channel (its secret masked) and whether it went out, so the
case timeline and the drill can say who was reached. An escalation sent again (after a crash between
commit and delivery) skips the people it already reached.

A person's channel is one URL: ``http(s)://`` is a signed Standard Webhooks POST, ``outbox://<name>``
the platform's own outbox (``notify.channels.OutboxSender``), anything else an Apprise URL
(``wecombot://``, ``dingtalk://``, ``feishu://``, ``mailto://`` …).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final
from urllib.parse import urlsplit, urlunsplit

import psycopg

from notify.channels import Outgoing, Sender
from notify.contacts import Channel, ChannelKind
from notify.templates import render

LOG = logging.getLogger(__name__)
Connect = Callable[[], AbstractContextManager[psycopg.Connection[Any]]]
_NO_CHANNEL: Final = "no channel of their own"


@dataclass(frozen=True, slots=True)
class Person:
    """Someone at the desk or in the field, with the one URL that reaches them."""

    actor: str  # supervisor:u3, staff:s1 — as the alert lifecycle names actors
    name: str
    url: str | None
    language: str = "zh"


@dataclass(frozen=True, slots=True)
class DeskMessage:
    """What to tell: the template, its parameters, and what the delivery record is about."""

    alert_id: int
    purpose: str  # escalation | offer
    step_key: str  # ack.1, promise, offer
    event: str  # a key of notify.templates.DESK_TEMPLATES
    params: dict[str, str]
    ref_id: int | None = None  # escalations.id or dispatch_assignments.id
    data: dict[str, Any] | None = None  # extra fields for a webhook receiver (the task link, the alert id)


@dataclass(frozen=True, slots=True)
class Reached:
    """One person's delivery outcome."""

    person: Person
    ok: bool
    channel: str | None
    detail: str


def channel_of(url: str) -> Channel:
    """Tell a person's URL apart: http(s) is a signed webhook, outbox://<name> the outbox, else Apprise."""
    scheme = urlsplit(url).scheme.lower()
    if scheme == "outbox":
        return Channel(ChannelKind.OUTBOX, url.split("://", 1)[1].strip("/"))
    return Channel(ChannelKind.WEBHOOK if scheme in ("http", "https") else ChannelKind.APPRISE, url)


def masked(url: str) -> str:
    """Show where a URL goes without its secrets: a webhook's host only; of an Apprise URL only its kind."""
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https"):
        return f"{parts.scheme}://…"  # wecombot://KEY, dingtalk://TOKEN: the "host" is the secret
    host = (parts.hostname or "") + (f":{parts.port}" if parts.port else "")
    return urlunsplit((parts.scheme, host, "/…" if parts.path.strip("/") or parts.query else "", "", ""))


class DeskNotifier:
    """Send desk messages to people on their own channels and record every attempt."""

    def __init__(self, connect: Connect, sender: Sender) -> None:
        self._connect = connect
        self._sender = sender

    def tell(self, people: Sequence[Person], message: DeskMessage, now: datetime) -> list[Reached]:
        """Tell each person once (skipping those this step already reached); return what happened."""
        done = self.reached(message)
        results = [self._tell_one(p, message, now) for p in people if p.actor not in done]
        with self._connect() as conn, conn.cursor() as cur:
            cur.executemany(
                "INSERT INTO desk_deliveries (alert_id, purpose, ref_id, step_key, recipient, recipient_name,"
                " channel, target, ok, detail, at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                [
                    (
                        message.alert_id,
                        message.purpose,
                        message.ref_id,
                        message.step_key,
                        r.person.actor,
                        r.person.name,
                        r.channel,
                        masked(r.person.url) if r.person.url else None,
                        r.ok,
                        r.detail,
                        now,
                    )
                    for r in results
                ],
            )
        return results

    def record(self, message: DeskMessage, recipient: str, channel: str, ok: bool, detail: str, now: datetime) -> None:
        """Record a step that reached people another way (the consoles over the broker, the family chain)."""
        with self._connect() as conn:
            conn.execute(
                "INSERT INTO desk_deliveries (alert_id, purpose, ref_id, step_key, recipient, channel, ok, detail, at)"
                " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
                (
                    message.alert_id,
                    message.purpose,
                    message.ref_id,
                    message.step_key,
                    recipient,
                    channel,
                    ok,
                    detail,
                    now,
                ),
            )

    def _tell_one(self, person: Person, message: DeskMessage, now: datetime) -> Reached:
        if not person.url:
            return Reached(person, False, None, _NO_CHANNEL)
        channel = channel_of(person.url)
        suffix = f"_{person.language}"  # "severity_en" stands for "severity" in an English message
        params = message.params | {k.removesuffix(suffix): v for k, v in message.params.items() if k.endswith(suffix)}
        text = render(message.event, person.language, params)
        outgoing = Outgoing(
            f"desk_{message.purpose}_{message.alert_id}_{message.step_key}_{person.actor}",
            message.event,
            text.title,
            text.body,
            {"alert_id": message.alert_id, "recipient": person.actor, **(message.data or {})},
        )
        try:
            result = self._sender.send(channel, outgoing, now)
        except Exception as exc:  # a broken channel must not stop the others being told
            LOG.exception("sending %s to %s failed", message.event, person.actor)
            return Reached(person, False, channel.kind.value, f"{type(exc).__name__}: {exc}"[:500])
        return Reached(person, result.ok, channel.kind.value, result.detail[:500])

    def reached(self, message: DeskMessage) -> set[str]:
        """Return the people this step has already reached."""
        with self._connect() as conn:
            rows = conn.execute(
                "SELECT recipient FROM desk_deliveries WHERE alert_id = %s AND purpose = %s AND step_key = %s"
                " AND ref_id IS NOT DISTINCT FROM %s AND ok",
                (message.alert_id, message.purpose, message.step_key, message.ref_id),
            ).fetchall()
        return {str(r[0]) for r in rows}


def on_duty_supervisors(conn: psycopg.Connection[Any], resident_id: str | None = None) -> list[Person]:
    """List the active, on-duty supervisors who answer for a resident (their district's, and the city-wide ones)."""
    rows = conn.execute(
        "SELECT u.id, u.display_name, u.notify_url, u.locale FROM users u"
        " WHERE u.role = 'supervisor' AND u.active AND u.on_duty AND (u.district_id IS NULL OR u.district_id ="
        " (SELECT d.district_id FROM resident_districts d WHERE d.resident_id = %s)) ORDER BY u.id",
        (resident_id,),
    ).fetchall()
    return [
        Person(f"supervisor:u{uid}", name, url, "en" if locale.startswith("en") else "zh")
        for uid, name, url, locale in rows
    ]
