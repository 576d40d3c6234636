"""Passwords and tokens, without I/O: scrypt password hashes, HMAC-signed session ids and link tokens.

A session token is ``<random id>.<HMAC-SHA256(secret, id)>``: a forged token is refused before the
database is asked, and the database stores only the SHA-256 of the id, so a copy of the table cannot
be replayed as a cookie.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from typing import Final

_N: Final = 2**14
_R: Final = 8
_P: Final = 1
_DKLEN: Final = 32


def _b64(data: bytes) -> str:
    """Encode bytes as unpadded URL-safe base64."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    """Decode unpadded URL-safe base64."""
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def hash_password(password: str) -> str:
    """Hash a password with scrypt and a random salt."""
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=_N, r=_R, p=_P, dklen=_DKLEN)
    return f"scrypt${_N}${_R}${_P}${_b64(salt)}${_b64(digest)}"


def verify_password(password: str, stored: str) -> bool:
    """Tell whether ``password`` matches a hash made by `hash_password`."""
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        expected = _unb64(digest)
        got = hashlib.scrypt(password.encode(), salt=_unb64(salt), n=int(n), r=int(r), p=int(p), dklen=len(expected))
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(got, expected)


# A fixed hash to verify against when the user does not exist, so both paths take the same time.
DUMMY_HASH: Final = hash_password(secrets.token_urlsafe(16))


def _mac(secret: bytes, purpose: str, value: str) -> str:
    """Sign ``value`` for one purpose."""
    return _b64(hmac.new(secret, f"{purpose}:{value}".encode(), hashlib.sha256).digest())


def new_session_token(secret: bytes) -> str:
    """Make a new signed session token."""
    sid = secrets.token_urlsafe(32)
    return f"{sid}.{_mac(secret, 'session', sid)}"


def session_token_hash(secret: bytes, token: str) -> bytes | None:
    """Return the stored key of a session token, or None when its signature is wrong."""
    sid, _, mac = token.partition(".")
    if not sid or not mac or len(token) > 200:
        return None
    if not hmac.compare_digest(mac, _mac(secret, "session", sid)):
        return None
    return hashlib.sha256(sid.encode()).digest()
