"""The family side: how they are told (preferences, channels), their messages, the case as they read it,
answers to an alert, and the signed reply links."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Body, Depends, Request, status

from dashboard.actions import Actions
from dashboard.deps import AlertId, Audit, Conn, client_ip, require
from dashboard.errors import refusal
from dashboard.roles import RoleName
from dashboard.schemas.family import (
    ContactPreferencesPublic,
    ContactPreferencesUpdate,
    MessagePublic,
    StoryEntry,
)
from dashboard.store import audit, family
from dashboard.store.users import User
from notify.channels import channel_problem
from notify.contacts import Channel, ChannelKind

router = APIRouter(prefix="/api", tags=["family"])
Family = Annotated[User, Depends(require(lambda r: r.name is RoleName.FAMILY))]


@router.get("/me/preferences")
def get_preferences(user: Family, conn: Conn) -> list[ContactPreferencesPublic]:
    """Return how this family member is told, per relative: preferences and channels in order."""
    return [ContactPreferencesPublic(**r) for r in family.preferences(conn, user.id)]


@router.put("/me/preferences/{contact_id}", responses={404: {}, 422: {}})
def put_preferences(
    contact_id: int, body: ContactPreferencesUpdate, user: Family, conn: Conn, log: Audit
) -> list[ContactPreferencesPublic]:
    """Change how this family member is told (only their own contact entry); channels replace theirs, in order."""
    channels = None
    if body.channels is not None:
        channels = [Channel(ChannelKind(c.kind), c.target) for c in body.channels]
        for index, channel in enumerate(channels):
            problem = channel_problem(channel.kind, channel.target)
            if problem is not None:
                raise refusal(status.HTTP_422_UNPROCESSABLE_ENTITY, problem, index=index, kind=channel.kind.value)
    changes = body.model_dump(exclude_unset=True, exclude={"channels"})
    if not family.update_preferences(conn, user.id, contact_id, changes, channels):
        raise refusal(status.HTTP_404_NOT_FOUND, "no_such_contact")
    detail = {**changes, **({"channels": [c.kind.value for c in channels]} if channels is not None else {})}
    log("update", "preferences", contact_id, detail)  # the kinds only: a channel's URL may hold a key
    return [ContactPreferencesPublic(**r) for r in family.preferences(conn, user.id)]


@router.get("/me/messages")
def my_messages(user: Family, conn: Conn) -> list[MessagePublic]:
    """List the notices sent to this family member, newest first: where each went, or why it did not."""
    return [MessagePublic(**r) for r in family.messages(conn, user.id)]


@router.get("/alerts/{alert_id}/story", responses={404: {}})
def alert_story(alert_id: AlertId, conn: Conn) -> list[StoryEntry]:
    """Tell an alert's case as a family reads it: who came and when, who was told, how it ended (codes)."""
    return [StoryEntry(**e) for e in family.story(conn, alert_id)]


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
        raise refusal(status.HTTP_409_CONFLICT, "not_told_of_alert")
    log("reply", "alert", alert_id, {"answer": answer})


@router.post("/replies/{token}", status_code=204, responses={400: {}, 503: {}})
def signed_reply(token: str, request: Request, conn: Conn) -> None:
    """Record the answer a signed link carries (no sign-in: the signature is the proof)."""
    acts: Actions = request.app.state.actions
    if acts.record_reply is None:
        raise refusal(status.HTTP_503_SERVICE_UNAVAILABLE, "notifications_not_running")
    if len(token) > 1000:
        raise refusal(status.HTTP_400_BAD_REQUEST, "reply_link_invalid")
    try:
        acts.record_reply(token)
    except Exception as exc:
        raise refusal(status.HTTP_400_BAD_REQUEST, "reply_link_invalid") from exc
    audit.record(conn, None, "reply_link", object_type="notice", object_id=None, ip=client_ip(request))
