"""Welfare visits: one as the pages show it, the structured note that closes one, and what closing it made."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from dispatch.visits import VisitNote, Wellbeing


class VisitPublic(BaseModel):
    """A welfare visit: whom, where, when and why; for a done one, who went and what they noted."""

    id: int
    resident_id: str
    resident_name: str | None
    address: str | None
    reason: str  # scheduled, trend, follow_up
    signals: list[str]  # for a trend visit: the codes of dispatch.visits.TrendSignal
    due_at: datetime
    overdue: bool
    status: str
    staff_id: str | None
    staff_name: str | None
    done_at: datetime | None
    notes: str | None
    findings: dict[str, Any]


class VisitReport(BaseModel):
    """Close a planned visit with a short structured note."""

    model_config = ConfigDict(extra="forbid")

    wellbeing: Wellbeing
    home_safe: bool
    follow_up: bool
    note: str = Field(default="", max_length=500)

    def to_note(self) -> VisitNote:
        """Return the note as dispatch records it."""
        return VisitNote(self.wellbeing, self.home_safe, self.follow_up, self.note.strip())


class VisitRecorded(BaseModel):
    """The visit as recorded, and the follow-up visit it asked for."""

    visit: VisitPublic
    follow_up: VisitPublic | None
