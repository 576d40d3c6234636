"""Drill scenarios (演练): a scripted emergency through the live platform, with actors that answer or stay silent.

Each scenario is a list of steps run in order; a step acts as one person would (presses the SOS key,
acknowledges on the console, accepts on the phone) or waits for what a person should receive (the
alert on an open console, the offer on the staff member's channel, the all clear in the family's inbox)
and records when it came, in seconds from the key press. The first step that does not happen in time
ends the scenario and is reported as a failure; the drill then cancels its alert so nothing is left open.

* ``sos-handled`` — the operator acknowledges and dispatches, the staff member accepts, arrives and closes
  the case; the family is told, hears who is coming, and gets the all clear.
* ``nobody-answers`` — nobody acknowledges: every console re-alarms, then the supervisor is reached on
  their own channel; the first staff member offered stays silent, the offer times out and goes to the next.
* ``im-ok`` — staff are on the way when the resident presses "I'm OK": the desk sees it, calls, cancels;
  the staff member is freed and the family gets the all clear. (Once someone is on the way, the key alone
  does not call them back: the desk confirms first, by the lifecycle's rule.)
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Final

from anxin.drills.actors import Bracelet, ConsoleWatcher, DrillError, Inbox, Person, Seen, wait_for
from anxin.drills.world import DrillWorld

_TASK = re.compile(r"/staff\?task=(\d+)")


@dataclass
class Drill:
    """One running drill: its actors, what it registered, and what it has measured so far."""

    name: str
    world: DrillWorld
    inbox: Inbox
    console: ConsoleWatcher
    operator: Person
    staff: tuple[Person, Person]
    bracelet: Bracelet
    stage_timeout_s: float
    stages: dict[str, float] = field(default_factory=dict)
    reached: dict[str, bool | None] = field(
        default_factory=lambda: {"operator": None, "supervisor": None, "staff": None, "family": None}
    )
    failures: list[str] = field(default_factory=list)
    t0: float = 0.0
    alert_id: int | None = None
    assignments: dict[int, int] = field(default_factory=dict)  # staff index → assignment id
    all_clear_sent: bool | None = None
    staff_freed: bool | None = None

    def mark(self, stage: str, seen: Seen | float) -> None:
        """Record when a stage happened, in seconds after the key press (``*_ms`` stages in milliseconds)."""
        at = seen.at if isinstance(seen, Seen) else seen
        elapsed = at - self.t0
        self.stages[stage] = round(elapsed * 1000, 1) if stage.endswith("_ms") else round(elapsed, 2)

    def wait(self, find: Callable[[], Seen | None], what: str) -> Seen:
        """Wait for something a person should receive."""
        return wait_for(find, self.stage_timeout_s, what)

    def report(self) -> dict[str, Any]:
        """Return the drill's outcome as the JSON line the command prints."""
        return {
            "drill": self.name,
            "resident_id": self.world.resident_id,
            "alert_id": self.alert_id,
            "stages": self.stages,
            "reached": self.reached,
            "all_clear_sent": self.all_clear_sent,
            "staff_freed": self.staff_freed,
            "failures": self.failures,
        }


Step = Callable[[Drill], None]


def press_sos(d: Drill) -> None:
    """The resident presses SOS; an open console shows the alert."""
    d.t0 = d.bracelet.press("sos")
    seen = d.wait(
        lambda: d.console.first("alert", d.t0, resident_id=d.world.resident_id, kind="sos", action="raised"),
        "the SOS on an open console",
    )
    d.alert_id = int(seen.body["alert_id"])
    d.mark("console_ms", seen)
    d.reached["operator"] = True


def family_told(d: Drill) -> None:
    """The family's channel receives the alert."""
    d.mark("family_told_s", d.wait(lambda: d.inbox.first(d.world.family_path, "alert_raised"), "the family notice"))
    d.reached["family"] = True


def acknowledge(d: Drill) -> None:
    """The operator acknowledges."""
    d.operator.post(f"/api/alerts/{d.alert_id}/acknowledge", {})
    d.mark("acknowledged_s", time.monotonic())


def _dispatch_to(index: int) -> Step:
    def dispatch(d: Drill) -> None:
        """The operator sends the drill's staff member ``index``; every console sees the offer."""
        d.operator.post(f"/api/alerts/{d.alert_id}/dispatch", {"staff_id": d.world.staff_ids[index]})
        seen = d.wait(
            lambda: d.console.first("dispatch", d.t0, event="offered", staff_id=d.world.staff_ids[index]),
            "the offer on the console",
        )
        d.mark("console_offer_s", seen)

    return dispatch


def _offer_reaches(index: int, stage: str) -> Step:
    def offer(d: Drill) -> None:
        """The staff member's own channel receives the offer; its signed link opens the task."""
        seen = d.wait(lambda: d.inbox.first(d.world.staff_path(index), "task_offer"), f"the offer to staff {index + 1}")
        d.mark(stage, seen)
        d.reached["staff"] = True
        link = str(seen.body.get("data", {}).get("link", ""))
        path = link[link.find("/api/task-link/") :]
        answer = d.staff[index].client.get(path)
        match = _TASK.search(answer.headers.get("location", ""))
        if answer.status_code != 303 or match is None:
            raise DrillError(f"the offer's link did not open the task (HTTP {answer.status_code})")
        d.assignments[index] = int(match.group(1))

    return offer


def _staff_goes(index: int, outcome: str | None) -> Step:
    def go(d: Drill) -> None:
        """The staff member accepts; the family hears who is coming; then arrival and the outcome."""
        person, task = d.staff[index], d.assignments[index]
        person.post(f"/api/tasks/{task}/accept")
        d.mark("accepted_s", time.monotonic())
        d.wait(lambda: d.inbox.first(d.world.family_path, "staff_dispatched"), "the family told who is coming")
        if outcome is None:
            return
        person.post(f"/api/tasks/{task}/en_route")
        person.post(f"/api/tasks/{task}/on_site")
        d.mark("on_site_s", time.monotonic())
        person.post(f"/api/tasks/{task}/outcome", {"outcome": outcome, "note": "演练：上门查看，老人平安"})
        d.mark("resolved_s", time.monotonic())

    return go


def realarm(d: Drill) -> None:
    """Nobody acknowledges: every open console is re-alarmed."""
    seen = d.wait(
        lambda: d.console.first("alert", d.t0, alert_id=d.alert_id, action="escalated"),
        "the re-alarm on the consoles",
    )
    d.mark("realarm_s", seen)


def supervisor_reached(d: Drill) -> None:
    """Still nobody: the supervisor's own channel receives the escalation."""
    seen = d.wait(
        lambda: d.inbox.first(d.world.supervisor_path, "escalation_unacknowledged"), "the supervisor's escalation"
    )
    d.mark("supervisor_reached_s", seen)
    d.reached["supervisor"] = True


def offer_times_out(d: Drill) -> None:
    """The first staff member stays silent: the offer times out, on every console, and goes to the next."""
    first = d.world.staff_ids[0]
    seen = d.wait(lambda: d.console.first("dispatch", d.t0, event="timed_out", staff_id=first), "the offer timeout")
    d.mark("offer_timed_out_s", seen)


def im_ok(d: Drill) -> None:
    """The resident presses "I'm OK"; the desk sees it, calls back, and cancels."""
    pressed = d.bracelet.press("ok")
    seen = d.wait(
        lambda: d.console.first("alert", pressed, alert_id=d.alert_id, action="noted"), "I'm OK on the console"
    )
    d.mark("im_ok_seen_s", seen)
    d.operator.post(f"/api/alerts/{d.alert_id}/cancel", {"note": "演练：老人按下“我很好”，电话确认平安"})
    d.mark("cancelled_s", time.monotonic())


def all_clear(d: Drill) -> None:
    """The family gets the all clear; the drill's staff are free again."""
    d.all_clear_sent = False
    seen = d.wait(lambda: d.inbox.first(d.world.family_path, "all_clear"), "the family's all clear")
    d.mark("all_clear_s", seen)
    d.all_clear_sent = True
    d.staff_freed = False

    def freed() -> Seen | None:
        statuses = [d.operator.get(f"/api/staff/{s}")["status"] for s in d.world.staff_ids]
        return Seen(time.monotonic(), "", {}) if all(s == "available" for s in statuses) else None

    d.mark("staff_freed_s", d.wait(freed, "the staff freed"))
    d.staff_freed = True


SCENARIOS: Final[Mapping[str, tuple[Step, ...]]] = MappingProxyType(
    {
        "sos-handled": (
            press_sos,
            family_told,
            acknowledge,
            _dispatch_to(0),
            _offer_reaches(0, "staff_reached_s"),
            _staff_goes(0, "helped_at_home"),
            all_clear,
        ),
        "nobody-answers": (
            press_sos,
            family_told,
            realarm,
            supervisor_reached,
            acknowledge,
            _dispatch_to(0),
            _offer_reaches(0, "staff_reached_s"),
            offer_times_out,
            _offer_reaches(1, "next_candidate_reached_s"),
            _staff_goes(1, "helped_at_home"),
            all_clear,
        ),
        "im-ok": (
            press_sos,
            family_told,
            acknowledge,
            _dispatch_to(0),
            _offer_reaches(0, "staff_reached_s"),
            _staff_goes(0, None),
            im_ok,
            all_clear,
        ),
    }
)


def run_scenario(d: Drill) -> dict[str, Any]:
    """Run every step of the drill's scenario until one fails; close the alert if it was left open."""
    for step in SCENARIOS[d.name]:
        try:
            step(d)
        except DrillError as exc:
            d.failures.append(f"{step.__name__}: {exc}")
            break
    if d.failures and d.alert_id is not None:
        _close_left_open(d)
    return d.report()


def _close_left_open(d: Drill) -> None:
    """Cancel a failed drill's alert (acknowledging first if needed), so no drill alert stays on the queue."""
    for path, body in (
        (f"/api/alerts/{d.alert_id}/acknowledge", {}),
        (f"/api/alerts/{d.alert_id}/cancel", {"note": "演练中止"}),
    ):
        try:
            d.operator.post(path, body)
        except DrillError:
            continue
