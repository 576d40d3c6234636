"""The dispatch flow against a real database: assign, decline to the next, every stage time stored."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest

from dispatch.errors import StageError
from dispatch.flow import DispatchFlow, StaffTask
from dispatch.messages import DispatchChange, DispatchEvent, StaffPosition
from dispatch.people import ResidentProfile, add_shift, add_staff, add_station, save_resident_profile
from dispatch.places import AreaType, Point, RiskClass, Role, Station
from dispatch.ranking import RankingPolicy

T0 = datetime(2026, 11, 1, 8, 0, tzinfo=UTC)
HOME = Point(31.2304, 121.4737)


def north_of(p: Point, km: float) -> Point:
    return Point(p.lat + km / 111.195, p.lon)


@dataclass
class Recorder:
    """Stand in for the staff app and the alert lifecycle."""

    unreachable: set[str] = field(default_factory=set)
    told: list[StaffTask] = field(default_factory=list)
    stages: list[tuple[str, str, str, datetime, str | None]] = field(default_factory=list)

    def notify(self, task: StaffTask) -> bool:
        self.told.append(task)
        return task.staff_id not in self.unreachable

    def on_stage(
        self, alert_id: str, stage: str, actor: str, at: datetime, *, note: str = "", outcome: str | None = None
    ) -> None:
        del note
        self.stages.append((alert_id, stage, actor, at, outcome))


def seed(db_url: str) -> None:
    """One city resident and three caregivers 1, 2 and 3 km away, on shift."""
    with psycopg.connect(db_url) as conn:
        save_resident_profile(
            conn,
            ResidentProfile(
                "r1",
                "王奶奶",
                HOME,
                AreaType.CITY,
                address="南京东路1号",
                categories=("living_alone", "advanced_age"),
                risk_class=RiskClass.A,
                key_holder="邻居李阿姨 13800000000",
            ),
        )
        add_station(conn, Station("st1", "外滩服务站", north_of(HOME, 1), AreaType.CITY))
        for i, sid in enumerate(("s1", "s2", "s3"), start=1):
            add_staff(conn, sid, f"护理员{i}", Role.CAREGIVER, "st1")
            add_shift(conn, sid, T0 - timedelta(hours=4), T0 + timedelta(hours=8))
            conn.execute(
                "UPDATE staff SET last_lat = %s, last_lon = %s, last_seen_at = %s WHERE id = %s",
                (north_of(HOME, i).lat, HOME.lon, T0, sid),
            )


@pytest.fixture
def connect(db_url: str) -> Callable[[], AbstractContextManager[psycopg.Connection[Any]]]:
    seed(db_url)
    return lambda: psycopg.connect(db_url)


def flow_for(connect: Callable[[], AbstractContextManager[psycopg.Connection[Any]]], rec: Recorder) -> DispatchFlow:
    return DispatchFlow(connect, policy=RankingPolicy(), notify_staff=rec.notify, on_stage=rec.on_stage)


def status(db_url: str) -> dict[str, str]:
    with psycopg.connect(db_url) as conn:
        return dict(conn.execute("SELECT id, status FROM staff").fetchall())


def test_declines_move_to_the_next_and_every_stage_is_stored(connect: Any, db_url: str) -> None:
    rec = Recorder()
    flow = flow_for(connect, rec)
    offer = flow.assign("a1", "r1", raised_at=T0, actor="op:zhang", now=T0 + timedelta(minutes=1))
    assert offer.staff_id == "s1"
    assert offer.assignment_id is not None
    assert status(db_url)["s1"] == "on_task"
    assert rec.stages == [("a1", "dispatched", "op:zhang", T0 + timedelta(minutes=1), None)]

    second = flow.decline(offer.assignment_id, T0 + timedelta(minutes=2), "with another resident")
    assert second.staff_id == "s2"
    assert status(db_url)["s1"] == "available"
    assert second.assignment_id is not None
    flow.accept(second.assignment_id, T0 + timedelta(minutes=3))
    flow.en_route(second.assignment_id, T0 + timedelta(minutes=4))
    flow.on_site(second.assignment_id, T0 + timedelta(minutes=12))
    flow.finish(second.assignment_id, "helped_at_home", T0 + timedelta(minutes=40), note="扶起，无外伤")

    assert [t.staff_id for t in rec.told] == ["s1", "s2"]
    assert [s[1] for s in rec.stages] == ["dispatched", "en_route", "on_site", "resolved"]
    assert rec.stages[-1][2] == "staff:s2"  # named as the lifecycle names actors
    assert rec.stages[-1][4] == "helped_at_home"
    assert status(db_url) == {"s1": "available", "s2": "available", "s3": "available"}
    with psycopg.connect(db_url) as conn:
        rows = conn.execute(
            "SELECT staff_id, state, assigned_at, notified_at, accepted_at, declined_at, decline_reason,"
            " en_route_at, on_site_at, outcome_at, outcome, reason_zh FROM dispatch_assignments ORDER BY id"
        ).fetchall()
        d = conn.execute("SELECT state, deadline, outcome, outcome_note, closed_at FROM dispatches").fetchone()

    def m(n: int) -> datetime:
        return T0 + timedelta(minutes=n)

    assert rows[0][:7] == ("s1", "declined", m(1), m(1), None, m(2), "with another resident")
    assert rows[1][:11] == ("s2", "done", m(2), m(2), m(3), None, None, m(4), m(12), m(40), "helped_at_home")
    assert "最快" in rows[1][11]
    assert d == ("closed", m(15), "helped_at_home", "扶起，无外伤", m(40))


def test_unreachable_staff_is_skipped(connect: Any) -> None:
    rec = Recorder(unreachable={"s1"})
    offer = flow_for(connect, rec).assign("a1", "r1", raised_at=T0, actor="op", now=T0)
    assert offer.staff_id == "s2"
    assert [t.staff_id for t in rec.told] == ["s1", "s2"]
    assert [s[1] for s in rec.stages] == ["dispatched"]


def test_everyone_declines_then_escalate(connect: Any, db_url: str) -> None:
    flow = flow_for(connect, Recorder())
    offer = flow.assign("a1", "r1", raised_at=T0, actor="op", now=T0)
    for _ in range(3):
        assert offer.assignment_id is not None
        offer = flow.decline(offer.assignment_id, T0 + timedelta(minutes=1))
    assert offer.must_escalate
    assert offer.ranking.must_escalate
    with psycopg.connect(db_url) as conn:
        assert conn.execute("SELECT state FROM dispatches").fetchone() == ("escalated",)


def test_unanswered_offer_expires_to_the_next(connect: Any) -> None:
    flow = flow_for(connect, Recorder())
    flow.assign("a1", "r1", raised_at=T0, actor="op", now=T0)
    assert flow.expire_offers(T0 + timedelta(minutes=1)) == []
    moved = flow.expire_offers(T0 + timedelta(minutes=4))
    assert [o.staff_id for o in moved] == ["s2"]


def test_steps_out_of_order_are_refused(connect: Any) -> None:
    flow = flow_for(connect, Recorder())
    offer = flow.assign("a1", "r1", raised_at=T0, actor="op", now=T0)
    assert offer.assignment_id is not None
    with pytest.raises(StageError):
        flow.finish(offer.assignment_id, "helped_at_home", T0)
    with pytest.raises(StageError):
        flow.assign("a1", "r1", raised_at=T0, actor="op", now=T0)  # someone is already on it
    with pytest.raises(StageError):
        flow.finish(offer.assignment_id, "teleported", T0)


def test_operator_may_pick_someone_else(connect: Any) -> None:
    offer = flow_for(connect, Recorder()).assign("a1", "r1", raised_at=T0, actor="op", now=T0, staff_id="s3")
    assert offer.staff_id == "s3"
    assert offer.ranking.best is not None
    assert offer.ranking.best.staff.id == "s1"


def test_every_change_is_published_for_the_consoles(connect: Any, db_url: str) -> None:
    published: list[tuple[str, DispatchChange]] = []
    flow = DispatchFlow(
        connect,
        policy=RankingPolicy(),
        notify_staff=Recorder(unreachable={"s1"}).notify,
        on_stage=Recorder().on_stage,
        publish=lambda topic, payload: published.append((topic, DispatchChange.model_validate_json(payload))),
        topic_root="t/anxin/v1",
    )
    offer = flow.assign("a1", "r1", raised_at=T0, actor="op", now=T0)
    assert offer.assignment_id is not None
    flow.expire_offers(T0 + timedelta(minutes=4))  # s2 never answers: s3 is offered next
    events = [(c.event, c.staff_id) for _, c in published]
    assert events == [
        (DispatchEvent.UNREACHABLE, "s1"),
        (DispatchEvent.OFFERED, "s2"),
        (DispatchEvent.TIMED_OUT, "s2"),
        (DispatchEvent.OFFERED, "s3"),
    ]
    assert {topic for topic, _ in published} == {"t/anxin/v1/dispatch/r1"}
    assert published[1][1].staff_name == "护理员2"
    assert published[1][1].eta_min is not None
    with psycopg.connect(db_url) as conn:
        states = conn.execute("SELECT staff_id, state, decline_reason FROM dispatch_assignments ORDER BY id").fetchall()
    assert states == [
        ("s1", "unreachable", "could not be told"),
        ("s2", "timed_out", "no answer"),
        ("s3", "offered", None),
    ]


def test_closing_the_alert_withdraws_the_task_and_frees_the_staff(connect: Any, db_url: str) -> None:
    published: list[DispatchChange] = []
    flow = DispatchFlow(
        connect,
        policy=RankingPolicy(),
        notify_staff=Recorder().notify,
        on_stage=Recorder().on_stage,
        publish=lambda _, payload: published.append(DispatchChange.model_validate_json(payload)),
    )
    offer = flow.assign("a1", "r1", raised_at=T0, actor="op", now=T0)
    assert offer.assignment_id is not None
    flow.accept(offer.assignment_id, T0 + timedelta(minutes=1))
    assert status(db_url)["s1"] == "on_task"
    assert flow.withdraw("a1", T0 + timedelta(minutes=2), "cancelled") == ["s1"]
    assert status(db_url)["s1"] == "available"
    assert flow.withdraw("a1", T0 + timedelta(minutes=3), "cancelled") == []  # twice changes nothing
    assert published[-1].event is DispatchEvent.WITHDRAWN
    with pytest.raises(StageError):
        flow.on_site(offer.assignment_id, T0 + timedelta(minutes=4))  # the task is over for the phone too
    with psycopg.connect(db_url) as conn:
        assert conn.execute("SELECT state FROM dispatches").fetchone() == ("withdrawn",)


def test_a_reported_position_is_stored_and_published(connect: Any, db_url: str) -> None:
    published: list[tuple[str, StaffPosition]] = []
    flow = DispatchFlow(
        connect,
        policy=RankingPolicy(),
        notify_staff=Recorder().notify,
        on_stage=Recorder().on_stage,
        publish=lambda topic, payload: published.append((topic, StaffPosition.model_validate_json(payload))),
    )
    flow.report_position("s2", HOME, T0 + timedelta(minutes=5))
    assert published == [
        (
            "anxin/v1/staff/s2/position",
            StaffPosition(staff_id="s2", lat=HOME.lat, lon=HOME.lon, at=T0 + timedelta(minutes=5)),
        )
    ]
    with psycopg.connect(db_url) as conn:
        assert conn.execute("SELECT last_lat, last_lon FROM staff WHERE id = 's2'").fetchone() == (HOME.lat, HOME.lon)


def test_a_district_sends_its_own_staff(connect: Any, db_url: str) -> None:
    with psycopg.connect(db_url) as conn:
        east = conn.execute("INSERT INTO districts (name) VALUES ('东区') RETURNING id").fetchone()
        west = conn.execute("INSERT INTO districts (name) VALUES ('西区') RETURNING id").fetchone()
        assert east is not None and west is not None
        conn.execute("UPDATE stations SET district_id = %s WHERE id = 'st1'", east)
        add_station(conn, Station("st9", "西区站", north_of(HOME, 5), AreaType.CITY))
        conn.execute("UPDATE stations SET district_id = %s WHERE id = 'st9'", west)
        add_staff(conn, "w1", "西区护理员", Role.CAREGIVER, "st9")
        add_shift(conn, "w1", T0 - timedelta(hours=1), T0 + timedelta(hours=8))
        conn.execute(
            "UPDATE staff SET last_lat = %s, last_lon = %s, last_seen_at = %s WHERE id = 'w1'", (HOME.lat, HOME.lon, T0)
        )
        conn.execute("UPDATE residents SET station_id = 'st1' WHERE id = 'r1'")
    flow = flow_for(connect, Recorder())
    ranking = flow.preview("r1", T0, T0)
    assert "w1" not in {c.staff.id for c in ranking.candidates}, "the nearest is another district's: not ours to send"
    assert flow.assign("a1", "r1", raised_at=T0, actor="op", now=T0).staff_id == "s1"
