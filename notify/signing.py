"""Signatures: outgoing webhooks (the Standard Webhooks scheme) and the signed reply links families click.

Webhooks carry ``webhook-id``, ``webhook-timestamp`` and ``webhook-signature: v1,<base64 HMAC-SHA256>``
over ``f"{id}.{timestamp}.{body}"``; the id stays the same across retries so receivers can de-duplicate.
A secret is raw bytes or the ``whsec_<base64>`` form. Reply tokens are ``<payload>.<mac>`` in URL-safe
base64, the payload naming the delivery, the answer and the expiry. Secrets are always passed in.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from notify.errors import SignatureError, TokenError

ANSWERS: Final = frozenset({"going", "cant", "call_me"})
DEFAULT_TOLERANCE: Final = timedelta(minutes=5)


def signing_key(secret: str | bytes) -> bytes:
    """Turn a secret into key bytes; ``whsec_`` secrets are base64, as Standard Webhooks prescribes."""
    if isinstance(secret, bytes):
        key = secret
    elif secret.startswith("whsec_"):
        key = base64.b64decode(secret.removeprefix("whsec_"))
    else:
        key = secret.encode()
    if len(key) < 16:
        raise SignatureError("a signing secret must be at least 16 bytes")
    return key


def _mac(key: bytes, message: bytes) -> bytes:
    """Compute HMAC-SHA256."""
    return hmac.new(key, message, hashlib.sha256).digest()


def sign_webhook(secret: str | bytes, msg_id: str, at: datetime, body: bytes) -> dict[str, str]:
    """Return the Standard Webhooks headers for one message."""
    ts = str(int(at.timestamp()))
    signature = base64.b64encode(_mac(signing_key(secret), f"{msg_id}.{ts}.".encode() + body)).decode()
    return {"webhook-id": msg_id, "webhook-timestamp": ts, "webhook-signature": f"v1,{signature}"}


def verify_webhook(
    headers: Mapping[str, str],
    body: bytes,
    secret: str | bytes,
    now: datetime,
    tolerance: timedelta = DEFAULT_TOLERANCE,
) -> str:
    """Verify a received webhook's signature and freshness; return its id for de-duplication."""
    lowered = {k.lower(): v for k, v in headers.items()}
    try:
        msg_id, ts = lowered["webhook-id"], lowered["webhook-timestamp"]
        sent = datetime.fromtimestamp(int(ts), UTC)
    except (KeyError, ValueError) as exc:
        raise SignatureError(f"missing or malformed webhook header: {exc}") from exc
    if abs(now - sent) > tolerance:
        raise SignatureError("webhook timestamp outside the tolerance")
    expected = sign_webhook(secret, msg_id, sent, body)["webhook-signature"].removeprefix("v1,")
    # Several space-separated signatures may be present while a secret is being rotated.
    for candidate in lowered.get("webhook-signature", "").split():
        version, _, value = candidate.partition(",")
        if version == "v1" and hmac.compare_digest(value, expected):
            return msg_id
    raise SignatureError("no webhook signature matches")


@dataclass(frozen=True, slots=True)
class ReplyClaim:
    """What a verified reply link says."""

    delivery_id: int
    answer: str
    expires_at: datetime


def _b64(data: bytes) -> str:
    """Encode URL-safe base64 without padding."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    """Decode URL-safe base64 with or without padding."""
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _sign(secret: str | bytes, purpose: bytes, fields: dict[str, object], expires_at: datetime) -> str:
    """Sign a link token: the fields and expiry as JSON, and a MAC bound to the link's purpose."""
    payload = json.dumps({**fields, "e": int(expires_at.timestamp())}, separators=(",", ":")).encode()
    return f"{_b64(payload)}.{_b64(_mac(signing_key(secret), purpose + b'.' + payload))}"


def _verify(secret: str | bytes, purpose: bytes, token: str, now: datetime) -> tuple[dict[str, Any], datetime]:
    """Check a link token's MAC (for this purpose only) and expiry; return its fields and expiry."""
    what = purpose.decode()
    try:
        payload_text, mac_text = token.split(".")
        payload, mac = _unb64(payload_text), _unb64(mac_text)
    except ValueError as exc:
        raise TokenError(f"malformed {what} token") from exc
    if not hmac.compare_digest(mac, _mac(signing_key(secret), purpose + b"." + payload)):
        raise TokenError(f"{what} token signature does not match")
    fields = json.loads(payload)
    expires_at = datetime.fromtimestamp(int(fields["e"]), UTC)
    if now >= expires_at:
        raise TokenError(f"{what} link has expired")
    return fields, expires_at


def make_reply_token(secret: str | bytes, delivery_id: int, answer: str, expires_at: datetime) -> str:
    """Sign a reply link's token for one delivery and one answer."""
    if answer not in ANSWERS:
        raise TokenError(f"unknown answer {answer!r}")
    return _sign(secret, b"reply", {"d": delivery_id, "a": answer}, expires_at)


def read_reply_token(secret: str | bytes, token: str, now: datetime) -> ReplyClaim:
    """Verify a reply token and return what it claims; refuse forged or expired ones."""
    fields, expires_at = _verify(secret, b"reply", token, now)
    claim = ReplyClaim(int(fields["d"]), str(fields["a"]), expires_at)
    if claim.answer not in ANSWERS:
        raise TokenError(f"unknown answer {claim.answer!r}")
    return claim


@dataclass(frozen=True, slots=True)
class TaskClaim:
    """What a verified task link says: which offer, made to whom."""

    assignment_id: int
    staff_id: str
    expires_at: datetime


def make_task_token(secret: str | bytes, assignment_id: int, staff_id: str, expires_at: datetime) -> str:
    """Sign the token of a link that opens one task offer on the staff member's phone."""
    return _sign(secret, b"task", {"t": assignment_id, "s": staff_id}, expires_at)


def read_task_token(secret: str | bytes, token: str, now: datetime) -> TaskClaim:
    """Verify a task link's token and return what it claims; a reply token is not one (its MAC differs)."""
    fields, expires_at = _verify(secret, b"task", token, now)
    return TaskClaim(int(fields["t"]), str(fields["s"]), expires_at)
