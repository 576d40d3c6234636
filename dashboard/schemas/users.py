"""Sign-in and user bodies."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from dashboard.roles import RoleName

Locale = Literal["zh-CN", "en"]  # the languages the pages and the notices speak


class LoginRequest(BaseModel):
    """Credentials for signing in, and the language the person chose on the sign-in page (kept as theirs)."""

    model_config = ConfigDict(extra="forbid")

    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=256)
    locale: Locale | None = None


class LocaleUpdate(BaseModel):
    """The language a user chose."""

    model_config = ConfigDict(extra="forbid")

    locale: Locale


class UserPublic(BaseModel):
    """A user as others may see them."""

    id: int
    username: str
    display_name: str
    role: RoleName
    staff_id: str | None
    locale: str
    resident_ids: list[str]
    home: str
    district_id: int | None = None  # an operator's or supervisor's district; None: the whole city
    district: str | None = None


class Session(BaseModel):
    """A new session: the bearer token (also set as an HttpOnly cookie) and when it ends."""

    token: str
    expires_at: datetime
    user: UserPublic


# An Apprise URL (wecombot://, dingtalk://, feishu://, mailto://, json:// …) or an http(s) webhook.
CHANNEL_URL = r"^[a-z][a-z0-9+.-]*://\S+$"


class DutyUpdate(BaseModel):
    """Whether a desk user is on duty, and the channel escalations reach them on."""

    model_config = ConfigDict(extra="forbid")

    on_duty: bool | None = None
    notify_url: str | None = Field(default=None, max_length=2000, pattern=CHANNEL_URL)
    clear_notify_url: bool = False


class DutyPublic(BaseModel):
    """A desk user's duty and channel (its secret parts masked)."""

    user_id: int
    on_duty: bool
    channel: str | None
