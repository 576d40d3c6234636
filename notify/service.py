"""The thin shell of family notification: store notices and deliveries, send what is due, take replies.

A notice is one thing to tell a resident's contacts (an alert, staff on the way, resolved); it gets a
delivery row per contact, unique per (notice, contact), so nobody ever gets two copies. ``run_due(now)``
works like an escalation clock: it tells the next contact in a chain when the previous one did not
answer in time, claims due deliveries under a lease (so several workers never send one twice), tries
each contact's channels in order until one works, records every attempt, and backs off on failure.
Quiet hours postpone progress notices and skip a contact in an alert's chain; critical notices ignore them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Final
from zoneinfo import ZoneInfo

import psycopg
from psycopg.types.json import Jsonb

from alerts.kinds import ALERT_KINDS, Severity
from notify.channels import Outgoing, Sender
from notify.contacts import Conn, Contact, load_contact, load_contacts
from notify.errors import NotFoundError
from notify.rules import Link, RetryPolicy, next_in_chain, quiet_until
from notify.signing import make_reply_token, read_reply_token
from notify.templates import REPLY_KEYS, Audience, render, template

Connect = Callable[[], AbstractContextManager[psycopg.Connection[Any]]]
_MAX_ROUNDS: Final = 20  # a chain moves at most one contact per round; a resident has fewer contacts


@dataclass(frozen=True, slots=True)
class NotifySettings:
    """How notification behaves; the reply secret has no default."""

    reply_secret: str | bytes
    reply_url: str  # with a {token} placeholder, e.g. https://anxin.example.org/r/{token}
    answer_window: timedelta = timedelta(minutes=10)  # then the next contact in the chain is told
    reply_ttl: timedelta = timedelta(hours=24)
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    batch: int = 100


@dataclass(frozen=True, slots=True)
class Notice:
    """Something to tell a resident's contacts; ``key`` makes it idempotent (e.g. ``f"{alert_id}:raised"``)."""

    key: str
    resident_id: str
    event: str  # a key of notify.templates.TEMPLATES
    severity: Severity
    alert_id: str | None = None
    params: Mapping[str, str] = field(default_factory=dict)  # alert_kind, staff, eta, outcome …


@dataclass(frozen=True, slots=True)
class Reply:
    """A contact's answer to a notice, for the alert's timeline."""

    alert_id: str | None
    notice_id: int
    delivery_id: int
    contact_id: int
    contact_name: str
    relation: str
    answer: str
    at: datetime


@dataclass(slots=True)
class RunReport:
    """What one run of ``run_due`` did."""

    told_next: int = 0
    sent: int = 0
    retrying: int = 0
    failed: int = 0
    postponed: int = 0
    skipped: int = 0


@dataclass(frozen=True, slots=True)
class _Due:
    """A claimed delivery with its notice and resident."""

    id: int
    attempts: int
    first_attempt_at: datetime | None
    notice_id: int
    alert_id: str | None
    event: str
    severity: Severity
    audience: Audience
    params: Mapping[str, str]
    created_at: datetime
    resident: str
    tz: ZoneInfo
    contact_id: int


class FamilyNotifier:
    """Tell contacts of notices, follow up on silence, and record their replies."""

    def __init__(
        self,
        connect: Connect,
        sender: Sender,
        settings: NotifySettings,
        *,
        on_recorded: Callable[[], None] | None = None,
    ) -> None:
        self._connect = connect
        self._sender = sender
        self._settings = settings
        # Where sending happens: None sends at once in the caller's thread; the platform hands in a wake-up of
        # its care thread, so the alert path never waits on an SMTP server or a webhook (5 s timeouts).
        self._on_recorded = on_recorded

    def notify(self, notice: Notice, now: datetime) -> int:
        """Record a notice once per key and plan its deliveries; send what is due (or wake the sender)."""
        _check_params(notice.event, notice.params)
        with self._connect() as conn:
            notice_id, created = _insert_notice(conn, notice, now)
            if created:
                _plan_deliveries(conn, notice_id, notice, load_contacts(conn, notice.resident_id), now)
        if self._on_recorded is None:
            self.run_due(now)
        else:
            self._on_recorded()
        return notice_id

    def run_due(self, now: datetime) -> RunReport:
        """Tell the next contacts whose turn has come and send every delivery that is due."""
        report = RunReport()
        for _ in range(_MAX_ROUNDS):
            moved = self._advance_chains(now)
            due = self._claim(now)
            report.told_next += moved
            for delivery in due:
                outcome = self._deliver(delivery, now)
                setattr(report, outcome, getattr(report, outcome) + 1)
            if not moved and not due:
                break
        return report

    def record_reply(self, token: str, now: datetime) -> Reply:
        """Verify a reply link and record the answer on the alert's timeline (a second click changes nothing)."""
        claim = read_reply_token(self._settings.reply_secret, token, now)
        with self._connect() as conn:
            conn.execute(
                "INSERT INTO family_replies (delivery_id, alert_id, contact_id, answer, at)"
                " SELECT d.id, n.alert_id, d.contact_id, %s, %s FROM notice_deliveries d"
                " JOIN notices n ON n.id = d.notice_id WHERE d.id = %s"
                " ON CONFLICT (delivery_id, answer) DO NOTHING",
                (claim.answer, now, claim.delivery_id),
            )
            conn.execute(
                "UPDATE notice_deliveries SET answered_at = coalesce(answered_at, %s) WHERE id = %s",
                (now, claim.delivery_id),
            )
            replies = _replies(conn, "r.delivery_id = %s AND r.answer = %s", (claim.delivery_id, claim.answer))
        if not replies:
            raise NotFoundError(f"delivery {claim.delivery_id} no longer exists")
        return replies[0]

    def replies(self, alert_id: str) -> list[Reply]:
        """List the replies to an alert's notices, oldest first."""
        with self._connect() as conn:
            return _replies(conn, "r.alert_id = %s", (alert_id,))

    def close_alert(self, alert_id: str) -> int:
        """Stop telling further contacts about a closed alert; return how many deliveries were stopped."""
        with self._connect() as conn:
            return conn.execute(
                "UPDATE notice_deliveries SET state = 'skipped', skip_reason = 'alert closed'"
                " WHERE state IN ('waiting', 'pending') AND notice_id IN"
                " (SELECT id FROM notices WHERE alert_id = %s AND audience = 'chain')",
                (alert_id,),
            ).rowcount

    def _advance_chains(self, now: datetime) -> int:
        """Make the next contact of every chain due when the previous one has not answered; count them."""
        moved = 0
        with self._connect() as conn:
            notices = [
                r[0] for r in conn.execute("SELECT DISTINCT notice_id FROM notice_deliveries WHERE state = 'waiting'")
            ]
            for notice_id in notices:
                moved += _advance_chain(conn, notice_id, now, self._settings.answer_window)
        return moved

    def _claim(self, now: datetime) -> list[_Due]:
        """Take a lease on the deliveries due now that no other worker holds."""
        with self._connect() as conn:
            ids = [
                r[0]
                for r in conn.execute(
                    "UPDATE notice_deliveries SET claimed_until = %s WHERE id IN (SELECT id FROM notice_deliveries"
                    " WHERE state = 'pending' AND next_attempt_at <= %s"
                    " AND (claimed_until IS NULL OR claimed_until < %s)"
                    " ORDER BY next_attempt_at, id LIMIT %s FOR UPDATE SKIP LOCKED) RETURNING id",
                    (now + self._settings.retry.lease, now, now, self._settings.batch),
                )
            ]
            return [_load_due(conn, i) for i in sorted(ids)]

    def _deliver(self, due: _Due, now: datetime) -> str:
        """Send one delivery, or postpone or skip it for quiet hours; return the report field it counts in."""
        with self._connect() as conn:
            contact = load_contact(conn, due.contact_id)
        if contact is None:
            return self._finish(due, "skipped", now, reason="contact removed")
        quiet_end = quiet_until(now, contact.quiet_start, contact.quiet_end, due.tz)
        if quiet_end is not None and due.severity < Severity.CRITICAL:
            if due.audience is Audience.CHAIN:
                return self._finish(due, "skipped", now, reason=f"quiet hours until {quiet_end:%H:%M}")
            return self._postpone(due, quiet_end)
        if not contact.channels:
            return self._finish(due, "failed", now, reason="no channels")
        return self._send(due, contact, now)

    def _send(self, due: _Due, contact: Contact, now: datetime) -> str:
        """Try the contact's channels in order until one works; record each attempt."""
        message = self._message(due, contact, now)
        attempt = due.attempts + 1
        hopeless = True  # every channel failed in a way that trying again cannot mend
        for channel in contact.channels:
            result = self._sender.send(channel, message, now)
            with self._connect() as conn:
                conn.execute(
                    "INSERT INTO delivery_attempts (delivery_id, channel_id, attempt, at, ok, detail, code,"
                    " channel_kind) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
                    (due.id, channel.id, attempt, now, result.ok, result.detail, result.code or None, channel.kind),
                )
            if result.ok:
                return self._finish(due, "sent", now, attempted=True)
            hopeless = hopeless and result.permanent
        if hopeless:
            return self._finish(due, "failed", now, reason="undeliverable", attempted=True)
        retry_at = self._settings.retry.next_attempt(attempt, due.first_attempt_at or now, now)
        if retry_at is None:
            return self._finish(due, "failed", now, reason="gave up after retries", attempted=True)
        with self._connect() as conn:
            conn.execute(
                "UPDATE notice_deliveries SET attempts = %s, first_attempt_at = coalesce(first_attempt_at, %s),"
                " next_attempt_at = %s, claimed_until = NULL WHERE id = %s",
                (attempt, now, retry_at, due.id),
            )
        return "retrying"

    def _finish(
        self, due: _Due, state: str, now: datetime, *, reason: str | None = None, attempted: bool = False
    ) -> str:
        """End a delivery as sent, failed or skipped."""
        with self._connect() as conn:
            conn.execute(
                "UPDATE notice_deliveries SET state = %s, skip_reason = %s, claimed_until = NULL,"
                " attempts = attempts + %s, sent_at = CASE WHEN %s = 'sent' THEN %s END,"
                " first_attempt_at = CASE WHEN %s THEN coalesce(first_attempt_at, %s) ELSE first_attempt_at END"
                " WHERE id = %s",
                (state, reason, int(attempted), state, now, attempted, now, due.id),
            )
        return state

    def _postpone(self, due: _Due, until: datetime) -> str:
        """Hold a delivery until the contact's quiet hours end."""
        with self._connect() as conn:
            conn.execute(
                "UPDATE notice_deliveries SET next_attempt_at = %s, claimed_until = NULL WHERE id = %s", (until, due.id)
            )
        return "postponed"

    def _message(self, due: _Due, contact: Contact, now: datetime) -> Outgoing:
        """Render a delivery's message in the contact's language, with signed reply links."""
        links = self._reply_links(due, now)
        suffix = f"_{contact.language}"  # "outcome_en" stands for "outcome" in an English message
        localised = {k.removesuffix(suffix): v for k, v in due.params.items() if k.endswith(suffix)}
        params = {
            **due.params,
            **localised,
            **_alert_title(due.params, contact.language),
            "resident": due.resident,
            "time": due.created_at.astimezone(due.tz).strftime("%H:%M"),
            **{f"reply_{answer}": url for answer, url in links.items()},
        }
        text = render(due.event, contact.language, params)
        data = {
            "notice_id": due.notice_id,
            "alert_id": due.alert_id,
            "event": due.event,
            "severity": due.severity.name.lower(),
            "resident": due.resident,
            "language": contact.language,
            "contact_id": due.contact_id,
            "recipient": f"contact:{due.contact_id}",
            "replies": links if template(due.event).asks_reply else {},
        }
        return Outgoing(f"msg_{due.notice_id}_{due.contact_id}", due.event, text.title, text.body, data)

    def _reply_links(self, due: _Due, now: datetime) -> dict[str, str]:
        """Sign one reply link per answer."""
        expires = now + self._settings.reply_ttl
        return {
            key.removeprefix("reply_"): self._settings.reply_url.format(
                token=make_reply_token(self._settings.reply_secret, due.id, key.removeprefix("reply_"), expires)
            )
            for key in REPLY_KEYS
        }


def _check_params(event: str, params: Mapping[str, str]) -> None:
    """Render every language once with placeholders, so a missing parameter fails the caller, not a send."""
    filler = {"resident": "", "time": "", "alert_title": "", **dict.fromkeys(REPLY_KEYS, ""), **params}
    for language in template(event).texts:
        render(event, language, filler)


def _insert_notice(conn: Conn, n: Notice, now: datetime) -> tuple[int, bool]:
    """Store a notice unless its key exists; return its id and whether it is new."""
    row = conn.execute(
        "INSERT INTO notices (key, alert_id, resident_id, event, severity, audience, params, created_at)"
        " VALUES (%s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT (key) DO NOTHING RETURNING id",
        (
            n.key,
            n.alert_id,
            n.resident_id,
            n.event,
            int(n.severity),
            template(n.event).audience.value,
            Jsonb(dict(n.params)),
            now,
        ),
    ).fetchone()
    if row is not None:
        return int(row[0]), True
    existing = conn.execute("SELECT id FROM notices WHERE key = %s", (n.key,)).fetchone()
    assert existing is not None
    return int(existing[0]), False


def _plan_deliveries(conn: Conn, notice_id: int, notice: Notice, contacts: list[Contact], now: datetime) -> None:
    """Make a delivery per contact who wants this notice: a chain tells the first now and the rest wait."""
    audience = template(notice.event).audience
    if audience is Audience.TOLD:
        told = _told_contacts(conn, notice.alert_id)
        wanted = [c for c in contacts if c.id in told]
    else:
        wanted = [
            c for c in contacts if notice.severity >= c.min_severity and (audience is Audience.CHAIN or c.wants_updates)
        ]
    rows = []
    for i, contact in enumerate(wanted):
        due = audience is not Audience.CHAIN or i == 0
        rows.append(
            (
                notice_id,
                contact.id,
                contact.position,
                "pending" if due else "waiting",
                now if due else None,
                now if due else None,
            )
        )
    with conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO notice_deliveries (notice_id, contact_id, position, state, due_at, next_attempt_at)"
            " VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (notice_id, contact_id) DO NOTHING",
            rows,
        )


def _told_contacts(conn: Conn, alert_id: str | None) -> set[int]:
    """Return the contacts that an earlier notice of an alert reached."""
    rows = conn.execute(
        "SELECT DISTINCT d.contact_id FROM notice_deliveries d JOIN notices n ON n.id = d.notice_id"
        " WHERE n.alert_id = %s AND d.state = 'sent'",
        (alert_id,),
    ).fetchall()
    return {int(r[0]) for r in rows}


def _advance_chain(conn: Conn, notice_id: int, now: datetime, answer_window: timedelta) -> int:
    """Make the next waiting contact of one chain due if the rule says so; return 1 if it did."""
    if conn.execute("SELECT 1 FROM notices WHERE id = %s FOR UPDATE SKIP LOCKED", (notice_id,)).fetchone() is None:
        return 0  # another worker is moving this chain
    rows = conn.execute(
        "SELECT d.id, d.state, d.sent_at, (SELECT r.answer FROM family_replies r WHERE r.delivery_id = d.id"
        " ORDER BY r.at DESC, r.id DESC LIMIT 1), d.due_at FROM notice_deliveries d WHERE d.notice_id = %s"
        " ORDER BY d.position",
        (notice_id,),
    ).fetchall()
    chain = [Link(state, sent_at, answer, due_at) for _, state, sent_at, answer, due_at in rows]
    index = next_in_chain(chain, now, answer_window)
    if index is None:
        return 0
    conn.execute(
        "UPDATE notice_deliveries SET state = 'pending', due_at = %s, next_attempt_at = %s"
        " WHERE id = %s AND state = 'waiting'",
        (now, now, rows[index][0]),
    )
    return 1


def _load_due(conn: Conn, delivery_id: int) -> _Due:
    """Load a claimed delivery with its notice and resident."""
    row = conn.execute(
        "SELECT d.id, d.attempts, d.first_attempt_at, n.id, n.alert_id, n.event, n.severity, n.audience, n.params,"
        " n.created_at, r.name, r.timezone, d.contact_id FROM notice_deliveries d"
        " JOIN notices n ON n.id = d.notice_id JOIN residents r ON r.id = n.resident_id WHERE d.id = %s",
        (delivery_id,),
    ).fetchone()
    assert row is not None
    (did, attempts, first, nid, alert_id, event, severity, audience, params, created, name, tz, contact_id) = row
    return _Due(
        did,
        attempts,
        first,
        nid,
        alert_id,
        event,
        Severity(severity),
        Audience(audience),
        params,
        created,
        name,
        ZoneInfo(tz),
        contact_id,
    )


def _alert_title(params: Mapping[str, str], language: str) -> dict[str, str]:
    """Name the alert in the contact's language from its kind, unless the caller named it."""
    kind = ALERT_KINDS.get(params.get("alert_kind", ""))
    if "alert_title" in params or kind is None:
        return {"alert_title": params.get("alert_title", "")}
    return {"alert_title": kind.title_en if language == "en" else kind.title_zh}


def _replies(conn: Conn, where: str, args: tuple[Any, ...]) -> list[Reply]:
    """Load replies with their contact's name and relation."""
    query = (
        "SELECT r.alert_id, d.notice_id, r.delivery_id, r.contact_id, c.name, c.relation, r.answer, r.at"
        " FROM family_replies r JOIN notice_deliveries d ON d.id = r.delivery_id"
        " JOIN emergency_contacts c ON c.id = r.contact_id WHERE " + where + " ORDER BY r.at, r.id"
    )
    return [Reply(*row) for row in conn.execute(query, args)]
