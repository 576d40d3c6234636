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
    replace_channels(conn, int(row[0]), c.channels)
    return int(row[0])


_CONTACT_SQL = """
SELECT id, resident_id, position, relation, name, phone, language, quiet_start, quiet_end, min_severity,
       wants_updates
FROM emergency_contacts WHERE {where} ORDER BY position
"""


def load_contacts(conn: Conn, resident_id: str) -> list[Contact]:
    """Load a resident's contacts in order, with their channels."""
    rows = conn.execute(_CONTACT_SQL.format(where="resident_id = %s AND active"), (resident_id,)).fetchall()
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


def update_contact(conn: Conn, contact_id: int, contact: Contact) -> None:
    """Change a contact's details and channels (their place in the calling order moves with `order_contacts`)."""
    c = contact
    conn.execute(
        "UPDATE emergency_contacts SET relation = %s, name = %s, phone = %s, language = %s, quiet_start = %s,"
        " quiet_end = %s, min_severity = %s, wants_updates = %s WHERE id = %s",
        (
            c.relation.value,
            c.name,
            c.phone,
            c.language,
            c.quiet_start,
            c.quiet_end,
            int(c.min_severity),
            c.wants_updates,
            contact_id,
        ),
    )
    replace_channels(conn, contact_id, c.channels)


def next_position(conn: Conn, resident_id: str) -> int:
    """Return the position after the resident's last contact (active or not)."""
    row = conn.execute(
        "SELECT coalesce(max(position), 0) + 1 FROM emergency_contacts WHERE resident_id = %s", (resident_id,)
    ).fetchone()
    return int(row[0]) if row else 1


def order_contacts(conn: Conn, resident_id: str, first: list[int]) -> None:
    """Put the resident's active contacts in this order (ids), the others after them; positions 1, 2, …."""
    rows = conn.execute(
        "SELECT id, active FROM emergency_contacts WHERE resident_id = %s ORDER BY position", (resident_id,)
    ).fetchall()
    known = [int(r[0]) for r in rows]
    active = [cid for cid in first if cid in known]
    rest = [int(r[0]) for r in rows if int(r[0]) not in active and r[1]]
    order = active + rest + [int(r[0]) for r in rows if not r[1]]
    # Two steps: the positions are unique per resident at every moment.
    conn.execute("UPDATE emergency_contacts SET position = position + 10000 WHERE resident_id = %s", (resident_id,))
    with conn.cursor() as cur:
        cur.executemany(
            "UPDATE emergency_contacts SET position = %s WHERE id = %s",
            [(i, cid) for i, cid in enumerate(order, start=1)],
        )


def set_contact_active(conn: Conn, contact_id: int, active: bool) -> None:
    """Take a contact out of the calling order (kept for the record) or put them back at its end."""
    row = conn.execute(
        "UPDATE emergency_contacts SET active = %s WHERE id = %s RETURNING resident_id", (active, contact_id)
    ).fetchone()
    if row is None:
        return
    order = [c.id for c in load_contacts(conn, str(row[0])) if c.id is not None and c.id != contact_id]
    order_contacts(conn, str(row[0]), order + ([contact_id] if active else []))
