"""`anxin users`: the first administrator from the command line (no default password); a reset ends sessions."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import psycopg

from dashboard.security import verify_password

REPO = Path(__file__).resolve().parents[2]


def _anxin(db_url: str, *args: str, password: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATABASE_URL": db_url}
    return subprocess.run(
        [sys.executable, "-m", "anxin.cli", "--log-level", "WARNING", "users", *args],
        input=password + "\n",
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_create_the_first_admin_then_reset_the_password(db_url: str) -> None:
    made = _anxin(db_url, "create-admin", "chief", "--display-name", "值班主任", password="first-password-1")
    assert made.returncode == 0, made.stderr
    with psycopg.connect(db_url) as conn:
        row = conn.execute(
            "SELECT id, role, display_name, password_hash FROM users WHERE username = 'chief'"
        ).fetchone()
        assert row is not None
        conn.execute(
            "INSERT INTO sessions (token_hash, user_id, expires_at) VALUES ('\\x01', %s, now() + interval '1 hour')",
            (row[0],),
        )
    assert row[1:3] == ("admin", "值班主任")
    assert verify_password("first-password-1", row[3])

    again = _anxin(db_url, "create-admin", "chief", password="another-password")
    assert again.returncode != 0 and "reset-password" in again.stderr

    short = _anxin(db_url, "reset-password", "chief", password="short")
    assert short.returncode != 0 and "at least 10" in short.stderr

    reset = _anxin(db_url, "reset-password", "chief", password="second-password-2")
    assert reset.returncode == 0, reset.stderr
    assert '"sessions_ended": 1' in reset.stdout
    with psycopg.connect(db_url) as conn:
        stored = conn.execute("SELECT password_hash FROM users WHERE username = 'chief'").fetchone()
        audit = conn.execute("SELECT action FROM audit_log WHERE username = 'cli' ORDER BY id").fetchall()
    assert stored is not None and verify_password("second-password-2", stored[0])
    assert audit == [("create_admin",), ("reset_password",)]
