"""Passwords and session tokens (pure functions)."""

from __future__ import annotations

from dashboard.security import hash_password, new_session_token, session_token_hash, verify_password

SECRET = b"k" * 32


def test_password_hashes_verify_and_differ() -> None:
    first, second = hash_password("s3cret pass"), hash_password("s3cret pass")
    assert first != second
    assert verify_password("s3cret pass", first)
    assert not verify_password("s3cret pasS", first)
    assert not verify_password("anything", "not-a-hash")


def test_session_tokens_are_signed() -> None:
    token = new_session_token(SECRET)
    key = session_token_hash(SECRET, token)
    assert key is not None and len(key) == 32
    sid, _, mac = token.partition(".")
    assert session_token_hash(SECRET, f"{sid}x.{mac}") is None
    assert session_token_hash(b"other" * 8, token) is None
    assert session_token_hash(SECRET, sid) is None
