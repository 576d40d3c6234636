"""The family page: how a family member is told (preferences and channels), their messages, and the case story."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from dashboard.schemas.people import CLOCK_TIME

ChannelKindName = Literal["apprise", "webhook", "email", "outbox"]


class ChannelPublic(BaseModel):
    """One way to reach a contact; a contact's channels are tried in this order."""

    kind: ChannelKindName
    target: str


class ChannelIn(BaseModel):
    """A channel as the family member gives it (validated by kind: ``notify.channels.channel_problem``)."""

    model_config = ConfigDict(extra="forbid")

    kind: ChannelKindName
    target: str = Field(max_length=2000)


class ContactPreferencesPublic(BaseModel):
    """How a family member wants to be told, as one of a resident's contacts."""

    contact_id: int
    resident_id: str
    resident_name: str | None = None
    name: str | None = None
    language: str
    quiet_start: str | None
    quiet_end: str | None
    min_severity: int
    wants_updates: bool
    channels: list[ChannelPublic] = []


class ContactPreferencesUpdate(BaseModel):
    """A family member's change to how they are told; ``channels`` replaces them all, in order."""

    model_config = ConfigDict(extra="forbid")

    language: str | None = Field(default=None, pattern="^(zh|en)$")
    quiet_start: str | None = Field(default=None, pattern=CLOCK_TIME)
    quiet_end: str | None = Field(default=None, pattern=CLOCK_TIME)
    min_severity: int | None = Field(default=None, ge=1, le=4)
    wants_updates: bool | None = None
    channels: list[ChannelIn] | None = Field(default=None, max_length=6)


class MessagePublic(BaseModel):
    """A notice sent (or not) to the family member: where it went, or the code of why it did not."""

    delivery_id: int
    notice_id: int
    alert_id: str | None
    resident_id: str
    event: str
    state: str  # pending | sent | failed | skipped
    at: datetime | None
    attempts: int
    reason: str | None  # no_channels | undeliverable | gave_up | quiet_hours | alert_closed | skipped | retrying
    error: str | None  # the last failed attempt's code: no_mail_server, invalid_url, unreachable, http_error …
    channel: str | None  # the kind of channel it reached them on
    title: str | None  # the text, when it was kept in their outbox
    body: str | None


StoryCode = Literal[
    "raised",
    "centre_handling",
    "staff_accepted",
    "staff_on_the_way",
    "staff_on_site",
    "contact_told",
    "contact_not_reached",
    "contact_replied",
    "resolved",
    "cancelled",
]


class StoryEntry(BaseModel):
    """One line of the case as a family reads it: a code and its parameters; the page writes the sentence."""

    code: StoryCode
    at: datetime
    staff: str | None = None
    name: str | None = None
    relation: str | None = None
    kind: str | None = None
    answer: str | None = None
    outcome: str | None = None
    eta_min: int | None = None
    by: Literal["resident", "system", "desk"] | None = None
