"""What the bracelet says about life: steps walked, a wrist that moves, or nothing at all.

The bracelet reports its step counter with every reading (about every 30–60 s) and whether it is on the
wrist. Read against the previous reading of the same resident, a rise of ``min_steps`` or more is walking;
a smaller rise is the wrist moving (arm swings count as a step or two), which shows a living, moving person
but not one who is up and about. A bracelet off the wrist, a first reading, a reading after a long gap (the
counter catching up after a disconnection) or a counter that went down (its midnight reset) is no evidence
either way: an unworn bracelet lying still must never pass for a resident lying still, and one carried in a
bag must never pass for a resident walking.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import Enum

from gateway.contract import Telemetry


class Wrist(Enum):
    """What one bracelet reading shows."""

    NO_EVIDENCE = "no_evidence"  # not worn, no counter, or nothing to compare with
    STILL = "still"  # worn, counter unchanged
    MOVING = "moving"  # worn, a step or a few: the wrist moved
    WALKING = "walking"  # worn, at least ``min_steps``


@dataclass(slots=True)
class WristWatch:
    """Read each resident's bracelet step counter into `Wrist` signs."""

    min_steps: int = 5  # a few counts are the arm moving, not walking
    max_gap: timedelta = timedelta(minutes=5)  # steps owed across a longer gap were walked back then
    _last: dict[str, tuple[datetime, int]] = field(default_factory=dict)

    def read(self, resident_id: str, body: Telemetry) -> Wrist:
        """Take one reading of a resident's bracelet and say what it shows."""
        if not body.worn or body.steps is None:
            self._last.pop(resident_id, None)  # what is counted off the wrist is nobody's movement
            return Wrist.NO_EVIDENCE
        before = self._last.get(resident_id)
        self._last[resident_id] = (body.ts, body.steps)
        if before is None or body.ts - before[0] > self.max_gap:
            return Wrist.NO_EVIDENCE
        delta = body.steps - before[1]
        if delta < 0:
            return Wrist.NO_EVIDENCE  # the counter's reset
        if delta >= self.min_steps:
            return Wrist.WALKING
        return Wrist.MOVING if delta > 0 else Wrist.STILL
