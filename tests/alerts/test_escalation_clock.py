"""The durable escalation clock: deadlines in the database, fired once by whichever process runs it."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from alerts.escalation import EscalationAction, EscalationKind
from alerts.findings import Finding
from alerts.lifecycle import AlertState
from alerts.service import AlertService

Query = Callable[..., list[tuple[Any, ...]]]
MakeFinding = Callable[..., Finding]
MakeService = Callable[..., AlertService]


def kinds(actions: list[EscalationAction]) -> list[EscalationKind]:
    return [a.action for a in actions]


def test_an_unacknowledged_sos_climbs_the_ladder(
    service: AlertService, finding: MakeFinding, clock: Any, broker: Any, notified: list[EscalationAction]
) -> None:
    service.handle([finding("sos")])
    clock.advance(seconds=59)
    assert service.run_due() == []
    clock.advance(seconds=1)
    assert kinds(service.run_due()) == [EscalationKind.NOTIFY_OPERATORS]
    assert service.run_due() == []  # the same minute again fires nothing
    clock.advance(seconds=60)
    assert kinds(service.run_due()) == [EscalationKind.NOTIFY_SUPERVISOR]
    clock.advance(seconds=60)
    assert kinds(service.run_due()) == [EscalationKind.NOTIFY_FAMILY]
    clock.advance(hours=1)
    assert service.run_due() == []
    assert kinds(notified) == [
        EscalationKind.NOTIFY_OPERATORS,
        EscalationKind.NOTIFY_SUPERVISOR,
        EscalationKind.NOTIFY_FAMILY,
    ]
    assert [m.action for m in broker.escalations()] == kinds(notified)


def test_acknowledging_in_time_stops_the_clock(
    service: AlertService, finding: MakeFinding, clock: Any, query: Query
) -> None:
    (raised,) = service.handle([finding("sos")])
    clock.advance(seconds=30)
    service.transition(raised.alert_id, AlertState.ACKNOWLEDGED, "operator:u12")
    assert query("SELECT next_deadline FROM alerts") == [(None,)]
    clock.advance(hours=2)
    assert service.run_due() == []


def test_a_restart_in_the_middle_of_an_escalation_still_fires_once(
    make_service: MakeService, finding: MakeFinding, clock: Any, query: Query
) -> None:
    first = make_service()
    first.handle([finding("sos")])
    clock.advance(seconds=61)
    assert kinds(first.run_due()) == [EscalationKind.NOTIFY_OPERATORS]
    del first  # the process dies before the supervisor's turn
    clock.advance(seconds=70)  # past the supervisor's deadline while nobody ran the clock
    restarted = make_service()
    assert kinds(restarted.run_due()) == [EscalationKind.NOTIFY_SUPERVISOR]
    assert make_service().run_due() == []
    assert restarted.run_due() == []
    assert query("SELECT step_key, count(*) FROM escalations GROUP BY step_key ORDER BY step_key") == [
        ("ack.0", 1),
        ("ack.1", 1),
    ]
    assert query("SELECT escalation_step FROM alerts") == [(2,)]


def test_processes_running_the_clock_together_fire_each_step_once(
    make_service: MakeService, finding: MakeFinding, clock: Any, query: Query
) -> None:
    make_service().handle([finding("sos", f"r{i}") for i in range(20)])
    clock.advance(minutes=10)
    services = [make_service(due_batch=3) for _ in range(4)]
    fired: list[list[EscalationAction]] = [[] for _ in services]
    start = threading.Barrier(len(services))

    def run(i: int) -> None:
        start.wait()
        fired[i] = services[i].run_due()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(services))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    keys = [(a.alert_id, a.key) for actions in fired for a in actions]
    assert len(keys) == len(set(keys)) == 20 * 3
    assert query("SELECT count(*) FROM escalations") == [(60,)]


def test_the_promise_is_15_minutes_in_town_and_30_in_the_countryside(
    make_service: MakeService, finding: MakeFinding, clock: Any, query: Query
) -> None:
    areas = {"town": "city", "farm": "countryside"}
    service = make_service(area_of=lambda conn, resident_id: areas[resident_id])
    raised = service.handle([finding("fall", "town"), finding("fall", "farm")])
    assert query("SELECT resident_id, promise_minutes FROM alerts ORDER BY resident_id") == [("farm", 30), ("town", 15)]
    clock.advance(seconds=20)
    for change in raised:
        service.transition(change.alert_id, AlertState.ACKNOWLEDGED, "operator:u12")
        service.transition(change.alert_id, AlertState.DISPATCHED, "operator:u12")
    clock.advance(minutes=14, seconds=39)
    assert service.run_due() == []
    clock.advance(seconds=1)  # 15 minutes after the raise
    (town,) = service.run_due()
    assert (town.resident_id, town.action) == ("town", EscalationKind.PROMISE_BREACHED)
    clock.advance(minutes=15)
    (farm,) = service.run_due()
    assert (farm.resident_id, farm.action) == ("farm", EscalationKind.PROMISE_BREACHED)
    assert query("SELECT count(*) FROM alerts WHERE promise_breached_at IS NOT NULL") == [(2,)]


def test_staff_on_site_in_time_breach_nothing(service: AlertService, finding: MakeFinding, clock: Any) -> None:
    (raised,) = service.handle([finding("fall")])
    for to, actor in [
        (AlertState.ACKNOWLEDGED, "operator:u1"),
        (AlertState.DISPATCHED, "operator:u1"),
        (AlertState.EN_ROUTE, "staff:s3"),
    ]:
        service.transition(raised.alert_id, to, actor)
    clock.advance(minutes=12)
    service.transition(raised.alert_id, AlertState.ON_SITE, "staff:s3")
    clock.advance(hours=1)
    assert service.run_due() == []


def test_an_escalation_nobody_delivered_is_sent_again(
    make_service: MakeService, finding: MakeFinding, clock: Any, query: Query
) -> None:
    delivered: list[EscalationAction] = []

    def flaky(action: EscalationAction) -> None:
        if not delivered and not getattr(flaky, "failed", False):
            flaky.failed = True  # type: ignore[attr-defined]
            raise ConnectionError("notification engine down")
        delivered.append(action)

    service = make_service(notify=flaky)
    service.handle([finding("sos")])
    clock.advance(seconds=61)
    assert kinds(service.run_due()) == [EscalationKind.NOTIFY_OPERATORS]  # fired and stored, not delivered
    assert query("SELECT count(*) FROM escalations WHERE published_at IS NULL") == [(1,)]
    clock.advance(seconds=10)
    service.run_due()
    assert delivered == []  # too soon: the process that fired it might still be delivering
    clock.advance(seconds=60)
    service.run_due()  # also fires the supervisor rung, which is delivered at once
    assert [a.key for a in delivered] == ["ack.1", "ack.0"]
    assert query("SELECT count(*) FROM escalations WHERE published_at IS NULL") == [(0,)]
