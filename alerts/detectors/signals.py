"""Which device messages show that a resident is moving about, read the same way by every detector."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Final

from gateway.contract import BathroomEvent, BedEvent, Body, DoorEvent, MotionEvent, Telemetry

# Events a person causes by moving at home; alarms and key presses are not "activity". Classes, not
# ``kind`` strings: isinstance is cheap, while getattr on a pydantic model that lacks the field is not.
ACTIVITY_EVENTS: Final = (MotionEvent, DoorEvent, BedEvent, BathroomEvent)
BED_ROOM: Final = "bedroom"  # where a bed mat is; its events name no room


def is_activity_event(body: Body) -> bool:
    """Tell whether a message is a home sensor event that a moving person causes."""
    return isinstance(body, ACTIVITY_EVENTS)


def is_front_door(body: Body) -> bool:
    """Tell whether a message is the front door opening or closing."""
    return isinstance(body, DoorEvent) and body.door == "front"


@dataclass(slots=True)
class StepWatch:
    """Tell whether a bracelet's step counter moved since the previous reading of the same resident."""

    min_steps: int = 5  # a few counts of jitter are not walking
    max_gap: timedelta = timedelta(minutes=5)  # steps owed across a longer gap were walked back then
    _last: dict[str, tuple[datetime, int]] = field(default_factory=dict)

    def walked(self, resident_id: str, body: Telemetry) -> bool:
        """Record a reading and tell whether the resident took steps since the last one."""
        if body.steps is None:
            return False
        before = self._last.get(resident_id)
        self._last[resident_id] = (body.ts, body.steps)
        if before is None or body.ts - before[0] > self.max_gap:
            return False  # after a disconnection the counter catches up: that is not walking now
        if not body.worn:
            return False  # a bracelet in a bag or a pocket counts steps that are not the resident's
        # The counter restarts at midnight, so a drop is a reset, not movement.
        return body.steps - before[1] >= self.min_steps
