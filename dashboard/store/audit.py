"""The audit log: every read of health data and every action, with who, what, which object, when, from where."""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from dashboard.store.users import User


def record(
    conn: psycopg.Connection[Any],
    user: User | None,
    action: str,
    *,
    object_type: str,
    object_id: str | None,
    ip: str | None,
    detail: dict[str, Any] | None = None,
) -> None:
    """Write one audit row."""
    conn.execute(
        "INSERT INTO audit_log (user_id, username, role, action, object_type, object_id, ip, detail)"
        " VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
        (
            user.id if user else None,
            user.username if user else None,
            user.role.value if user else None,
            action,
            object_type,
            object_id,
            ip,
            Jsonb(detail) if detail is not None else None,
        ),
    )
