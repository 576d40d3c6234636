"""Emergency contacts in the order to tell them, their channels and preferences, and their storage."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import time
from enum import StrEnum
from types import MappingProxyType
from typing import Any, Final

import psycopg

from alerts.kinds import Severity

Conn = psycopg.Connection[Any]


class ChannelKind(StrEnum):
    """How a message reaches a contact."""

    APPRISE = "apprise"  # any Apprise URL: wecombot://, dingtalk://, feishu://, json://, mailto:// …
    WEBHOOK = "webhook"  # an http(s) URL that receives a signed Standard Webhooks POST
    EMAIL = "email"  # a bare address, sent through the platform's SMTP URL
    OUTBOX = "outbox"  # a named box in the platform's own database: works with no server (demos, drills)


class Relation(StrEnum):
    """Who a contact is to the resident."""

    FAMILY = "family"
    NEIGHBOUR = "neighbour"
    GRID_WORKER = "grid_worker"  # 网格员
    VOLUNTEER = "volunteer"
    OTHER = "other"


RELATION_NAMES: Final = MappingProxyType(
    {
        Relation.FAMILY: ("family", "家属"),
        Relation.NEIGHBOUR: ("neighbour", "邻居"),
        Relation.GRID_WORKER: ("grid worker", "网格员"),
        Relation.VOLUNTEER: ("volunteer", "志愿者"),
        Relation.OTHER: ("other", "其他"),
    }
)


@dataclass(frozen=True, slots=True)
class Channel:
    """One way to reach a contact; a contact's channels are tried in order until one works."""

    kind: ChannelKind
    target: str
    id: int | None = None


@dataclass(frozen=True, slots=True)
class Contact:
    """An emergency contact and their preferences."""

    name: str
    relation: Relation
    channels: tuple[Channel, ...]
    position: int = 1  # 1 is told first
    language: str = "zh"
    phone: str | None = None
    quiet_start: time | None = None  # local quiet hours; critical notices ignore them
    quiet_end: time | None = None
    min_severity: Severity = Severity.LOW
    wants_updates: bool = True  # progress notices: staff on the way, on site, resolved
    id: int | None = None
    resident_id: str | None = None


def save_contact(conn: Conn, resident_id: str, contact: Contact) -> int:
    """Store a contact with their channels at their position; return the contact's id."""
    c = contact
    row = conn.execute(
        "INSERT INTO emergency_contacts (resident_id, position, relation, name, phone, language, quiet_start,"
        " quiet_end, min_severity, wants_updates) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s) RETURNING id",
        (
            resident_id,
            c.position,
            c.relation.value,
            c.name,
            c.phone,
            c.language,
            c.quiet_start,
            c.quiet_end,
            int(c.min_severity),
            c.wants_updates,
        ),
    ).fetchone()
    assert row is not None
    with conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO contact_channels (contact_id, position, kind, target) VALUES (%s, %s, %s, %s)",
            [(row[0], i, ch.kind.value, ch.target) for i, ch in enumerate(c.channels, start=1)],
        )
    return int(row[0])


_CONTACT_SQL = """
SELECT id, resident_id, position, relation, name, phone, language, quiet_start, quiet_end, min_severity,
       wants_updates
FROM emergency_contacts WHERE {where} ORDER BY position
"""


def load_contacts(conn: Conn, resident_id: str) -> list[Contact]:
    """Load a resident's contacts in order, with their channels."""
    rows = conn.execute(_CONTACT_SQL.format(where="resident_id = %s"), (resident_id,)).fetchall()
    return [_contact(conn, row) for row in rows]


def load_contact(conn: Conn, contact_id: int) -> Contact | None:
    """Load one contact with their channels."""
    row = conn.execute(_CONTACT_SQL.format(where="id = %s"), (contact_id,)).fetchone()
    return None if row is None else _contact(conn, row)


def replace_channels(conn: Conn, contact_id: int, channels: tuple[Channel, ...]) -> None:
    """Replace a contact's channels with these, in this order (the first is tried first)."""
    conn.execute("DELETE FROM contact_channels WHERE contact_id = %s", (contact_id,))
    with conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO contact_channels (contact_id, position, kind, target) VALUES (%s, %s, %s, %s)",
            [(contact_id, i, ch.kind.value, ch.target) for i, ch in enumerate(channels, start=1)],
        )


def _contact(conn: Conn, row: tuple[Any, ...]) -> Contact:
    """Build a contact from a row of ``_CONTACT_SQL`` and its channels."""
    cid, rid, pos, relation, name, phone, lang, q_start, q_end, min_sev, updates = row
    channels = tuple(
        Channel(ChannelKind(kind), target, ch_id)
        for ch_id, kind, target in conn.execute(
            "SELECT id, kind, target FROM contact_channels WHERE contact_id = %s ORDER BY position", (cid,)
        )
    )
    return Contact(
        name, Relation(relation), channels, pos, lang, phone, q_start, q_end, Severity(min_sev), updates, cid, rid
    )
