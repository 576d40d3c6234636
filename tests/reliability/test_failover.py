"""The primary PostgreSQL killed under load and its synchronous standby promoted: nothing acknowledged is lost.

The standby is made to fall behind just before the kill, so the test fails with an asynchronous standby.

The platform reaches the database only through a multi-host URL with ``target_session_attrs=read-write``;
while no server accepts writes, the ingest worker spools to disk, and it replays into the promoted standby.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from anxin.platform import start_platform
from anxin.services import LocalMosquitto, LocalPostgres
from ingest.database import migrate
from tests.ingest.harness import register_fleet
from tests.reliability.failover import PRIMARY_OPTIONS, LocalStandby, failover_url
from tests.reliability.helpers import Load, fleet, platform_settings, scalar, wait_for

RATE = 300.0
LOAD_S = 15.0
STALL_S = 1.0  # the standby receives nothing just before the primary dies
GAP_S = 3.0  # from the kill to `pg_ctl promote`: no server accepts writes


@pytest.fixture
def replicated_pg(service_root: Path) -> Iterator[tuple[LocalPostgres, LocalStandby]]:
    """Start a primary and a hot standby it waits for on every commit."""
    tag = os.urandom(4).hex()
    primary = LocalPostgres(service_root / f"pg-primary-{tag}", durable=False, options=PRIMARY_OPTIONS).start()
    try:
        standby = LocalStandby(service_root / f"pg-standby-{tag}", durable=False, primary=primary).start()
        try:
            standby.make_synchronous()
            yield primary, standby
        finally:
            standby.stop()
    finally:
        primary.stop()


@pytest.mark.slow
def test_primary_killed_standby_promoted(
    replicated_pg: tuple[LocalPostgres, LocalStandby], own_broker: LocalMosquitto, topic_prefix: str, tmp_path: Path
) -> None:
    primary, standby = replicated_pg
    url = failover_url(primary, standby)
    with psycopg.connect(primary.url()) as conn:
        migrate(conn)
    bracelets = register_fleet(url, 4)
    settings = platform_settings(url, own_broker.url, topic_prefix, tmp_path)
    promoted = standby.url()  # the only database left once the primary is gone
    with (
        start_platform(settings, with_dashboard=False) as platform,
        fleet(own_broker.url, topic_prefix, bracelets) as devices,
    ):
        load = Load(devices, bracelets, RATE).start()
        started = time.monotonic()
        wait_for(lambda: scalar(url, "SELECT count(*) FROM telemetry") >= RATE, 20, "ingest running")
        devices.critical(bracelets[0], "sos")
        wait_for(lambda: devices.transport.unconfirmed == 0, 10, "the first SOS confirmed")
        # The standby falls behind just before the primary dies, and never gets what it had not received:
        # with an asynchronous standby the rows acknowledged meanwhile are lost; a synchronous one holds
        # every commit until it has the WAL, so none of them was acknowledged.
        standby.stall_receiver()
        time.sleep(STALL_S)
        primary.kill()
        killed = time.monotonic()
        standby.drop_stalled_wal()
        devices.critical(bracelets[1], "sos")  # no server accepts writes: spooled, acknowledged
        time.sleep(max(0.0, killed + GAP_S - time.monotonic()))
        standby.promote()
        devices.critical(bracelets[2], "sos")
        wait_for(lambda: time.monotonic() - started >= LOAD_S, LOAD_S + 1, "the load to run", poll=0.2)
        load.finish()
        wait_for(lambda: devices.transport.unconfirmed == 0, 30, "every SOS confirmed to its bracelet")
        wait_for(lambda: devices.transport.backlog == 0, 30, "every message PUBACKed")
        sent = devices.sent_telemetry
        drained = wait_for(
            lambda: scalar(promoted, "SELECT count(*) FROM telemetry") >= sent, 40, "every acknowledged message stored"
        )
        wait_for(lambda: not any((tmp_path / "spool").rglob("*.seg")), 30, "the spool empty")
        wait_for(
            lambda: scalar(promoted, "SELECT count(DISTINCT resident_id) FROM alerts WHERE kind = 'sos'") == 3,
            30,
            "an SOS alert per pressed bracelet",
        )
        spooled, replayed = platform.ingest.metrics.spooled, platform.ingest.metrics.replayed
    with psycopg.connect(promoted) as conn:
        in_recovery, stored, distinct = conn.execute(
            "SELECT pg_is_in_recovery(), count(*), count(DISTINCT (device_id, seq)) FROM telemetry"
        ).fetchone() or (None, 0, 0)
        sos = {
            (device, seq): n
            for device, seq, n in conn.execute(
                "SELECT device_id, seq, count(*) FROM events WHERE kind = 'sos' GROUP BY device_id, seq"
            )
        }
    print(
        f"\n[failover] telemetry sent {sent} (all PUBACKed), stored {stored} on the promoted standby, "
        f"spooled {spooled}, replayed {replayed}, drained {drained:.1f} s after the load; SOS stored {sos}"
    )
    assert in_recovery is False
    assert stored == distinct == sent
    assert sos == {(device, seq): 1 for device, _kind, seq in devices.sent_critical}
    assert spooled > 0  # the gap was covered by the spool, not by luck
