"""`anxin users create-admin NAME` and `anxin users reset-password NAME`: the first administrator, and a way back in.

The password is asked for twice at a terminal, or read from standard input (one line) when it is not a
terminal or with ``--password-stdin``: never a default, never an argument (it would stay in the shell's
history and the process list). A reset also ends every session the account had.
"""

from __future__ import annotations

import argparse
import getpass
import json
import sys
from typing import Any

import psycopg

from anxin.commands.common import database
from anxin.settings import load_settings
from dashboard.roles import RoleName
from dashboard.security import hash_password
from dashboard.store.users import create_user

MIN_PASSWORD = 10


def register(sub: Any) -> None:
    """Add the `users` subcommand."""
    parser: argparse.ArgumentParser = sub.add_parser("users", help="the administrator account and passwords")
    verbs = parser.add_subparsers(dest="verb", required=True)
    admin = verbs.add_parser("create-admin", help="create an administrator")
    admin.add_argument("username")
    admin.add_argument("--display-name", default=None)
    admin.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    admin.set_defaults(func=create_admin)
    reset = verbs.add_parser("reset-password", help="set a new password and end the account's sessions")
    reset.add_argument("username")
    reset.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    reset.set_defaults(func=reset_password)


def read_password(from_stdin: bool) -> str:
    """Ask for the password twice at a terminal, or read one line from standard input."""
    if from_stdin or not sys.stdin.isatty():
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = getpass.getpass("Password: ")
        if getpass.getpass("Again: ") != password:
            raise SystemExit("the two passwords differ")
    if len(password) < MIN_PASSWORD:
        raise SystemExit(f"a password needs at least {MIN_PASSWORD} characters")
    return password


def create_admin(args: argparse.Namespace) -> int:
    """Create an administrator account."""
    digest = hash_password(read_password(args.password_stdin))
    with database(load_settings()) as url, psycopg.connect(url) as conn:
        try:
            user_id = create_user(conn, args.username, args.display_name or args.username, digest, RoleName.ADMIN)
        except psycopg.errors.UniqueViolation:
            raise SystemExit(f"user {args.username!r} exists; use `anxin users reset-password`") from None
        _audit(conn, "create_admin", user_id)
    print(json.dumps({"users": "create-admin", "username": args.username, "id": user_id}))
    return 0


def reset_password(args: argparse.Namespace) -> int:
    """Set a new password for an account and revoke its sessions."""
    digest = hash_password(read_password(args.password_stdin))
    with database(load_settings()) as url, psycopg.connect(url) as conn:
        row = conn.execute(
            "UPDATE users SET password_hash = %s WHERE username = %s RETURNING id", (digest, args.username)
        ).fetchone()
        if row is None:
            raise SystemExit(f"no user {args.username!r}")
        ended = conn.execute(
            "UPDATE sessions SET revoked_at = now() WHERE user_id = %s AND revoked_at IS NULL", (row[0],)
        ).rowcount
        _audit(conn, "reset_password", row[0])
    print(json.dumps({"users": "reset-password", "username": args.username, "sessions_ended": ended}))
    return 0


def _audit(conn: psycopg.Connection[Any], action: str, user_id: int) -> None:
    """Record what the command line did in the audit log, as the dashboard records what people do."""
    conn.execute(
        "INSERT INTO audit_log (username, role, action, object_type, object_id)"
        " VALUES ('cli', 'admin', %s, 'user', %s)",
        (action, str(user_id)),
    )
