"""The family side: notification preferences, answers to an alert, and the signed reply links."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Body, Depends, HTTPException, Request, status

from dashboard.actions import Actions
from dashboard.deps import AlertId, Audit, Conn, client_ip, require
from dashboard.roles import RoleName
from dashboard.schemas.people import ContactPreferencesPublic, ContactPreferencesUpdate
from dashboard.store import audit, family
from dashboard.store.users import User

router = APIRouter(prefix="/api", tags=["family"])
Family = Annotated[User, Depends(require(lambda r: r.name is RoleName.FAMILY))]


@router.get("/me/preferences")
def get_preferences(user: Family, conn: Conn) -> list[ContactPreferencesPublic]:
    """Return how this family member is told, per relative."""
    return [ContactPreferencesPublic(**r) for r in family.preferences(conn, user.id)]


@router.put("/me/preferences/{contact_id}", responses={404: {}})
def put_preferences(
    contact_id: int, body: ContactPreferencesUpdate, user: Family, conn: Conn, log: Audit
) -> list[ContactPreferencesPublic]:
    """Change how this family member is told."""
    if not family.update_preferences(conn, user.id, contact_id, body.model_dump(exclude_unset=True)):
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such contact")
    log("update", "preferences", contact_id, body.model_dump(exclude_unset=True))
    return [ContactPreferencesPublic(**r) for r in family.preferences(conn, user.id)]


@router.post("/alerts/{alert_id}/reply", status_code=204, responses={404: {}, 409: {}})
def reply(
    alert_id: AlertId,
    answer: Annotated[Literal["going", "cant", "call_me"], Body(embed=True)],
    user: Family,
    conn: Conn,
    log: Audit,
) -> None:
    """Answer an alert about a relative: "I'm going", "I can't", "call me"."""
    if not family.reply(conn, user.id, alert_id, answer):
        raise HTTPException(status.HTTP_409_CONFLICT, "you were not told of this alert")
    log("reply", "alert", alert_id, {"answer": answer})


@router.post("/replies/{token}", status_code=204, responses={400: {}, 503: {}})
def signed_reply(token: str, request: Request, conn: Conn) -> None:
    """Record the answer a signed link carries (no sign-in: the signature is the proof)."""
    acts: Actions = request.app.state.actions
    if acts.record_reply is None:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, "notifications are not running")
    if len(token) > 1000:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, "bad link")
    try:
        acts.record_reply(token)
    except Exception as exc:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, "this link is not valid or has expired") from exc
    audit.record(conn, None, "reply_link", object_type="notice", object_id=None, ip=client_ip(request))
