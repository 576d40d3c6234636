"""Scale-out that loses nothing: several ingest workers and several alert processes on one broker and database.

An SOS taken by a separate `anxin ingest` worker reaches the operators (it used to be stored and
acknowledged but never alerted); two platforms share the residents' partitions, and when one dies
without a word its residents' SOS pressed meanwhile are alerted once by the other, after the lease runs
out, from the committed feed — none lost, none twice, and no false alert from the handover.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import psycopg

from anxin.platform import Platform, start_platform
from anxin.services import LocalMosquitto
from anxin.settings import Settings
from tests.ingest.harness import register_fleet
from tests.reliability.helpers import fleet, platform_settings, scalar, wait_for

RESIDENTS = 20


def _ingest_process(settings: Settings, mqtt_url: str, log: Path) -> subprocess.Popen[bytes]:
    """Start `anxin ingest` in the platform's shared subscription group and wait until it subscribed."""
    env = {
        **os.environ,
        "DATABASE_URL": str(settings.database_url),
        "MQTT_URL": mqtt_url,
        "ANXIN_TOPIC_PREFIX": settings.topic_prefix,
        "ANXIN_INGEST_GROUP": settings.ingest_group,
        "ANXIN_DATA_DIR": str(log.parent),
    }
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "anxin.cli", "ingest", "--client-id", f"ingest-b-{os.getpid()}"],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    wait_for(lambda: "subscribed to" in log.read_text() or proc.poll() is not None, 60, "ingest-b subscribed")
    assert proc.poll() is None, log.read_text()
    return proc


def _sos_alerts(url: str) -> int:
    return scalar(url, "SELECT count(*) FROM alerts WHERE kind = 'sos'")


def test_an_sos_taken_by_another_ingest_worker_becomes_an_alert(
    db_url: str, mqtt_broker: LocalMosquitto, topic_prefix: str, tmp_path: Path
) -> None:
    bracelets = register_fleet(db_url, RESIDENTS)
    settings = platform_settings(db_url, mqtt_broker.url, topic_prefix, tmp_path / "a")
    with start_platform(settings, with_dashboard=False) as platform:
        other = _ingest_process(settings, mqtt_broker.url, tmp_path / "ingest-b.log")
        try:
            with fleet(mqtt_broker.url, topic_prefix, bracelets) as devices:
                for bracelet in bracelets:
                    devices.critical(bracelet, "sos")
                wait_for(lambda: devices.transport.unconfirmed == 0, 30, "every SOS confirmed to its bracelet")
                wait_for(lambda: _sos_alerts(db_url) == RESIDENTS, 30, "every SOS alerted")
        finally:
            other.terminate()
            other.wait(30)
        taken_here = platform.ingest.metrics.urgent
    assert scalar(db_url, "SELECT count(*) FROM events WHERE kind = 'sos'") == RESIDENTS
    assert _sos_alerts(db_url) == RESIDENTS
    assert 0 < taken_here < RESIDENTS  # the other worker took its share of the presses


def _holders(url: str) -> dict[str, int]:
    with psycopg.connect(url) as conn:
        rows = conn.execute("SELECT owner, count(*) FROM alert_partitions GROUP BY owner").fetchall()
    return {str(owner): int(n) for owner, n in rows}


def _die(platform: Platform) -> None:
    """Make the platform's end a crash as far as its partitions know: it never gives its leases back."""
    follower = platform.pipeline.follower
    assert follower is not None
    follower.leases.leave = follower.leases.close  # type: ignore[method-assign]


def test_an_alert_process_that_dies_hands_its_residents_over(
    db_url: str, mqtt_broker: LocalMosquitto, topic_prefix: str, tmp_path: Path
) -> None:
    bracelets = register_fleet(db_url, RESIDENTS)
    # Each platform's ingest takes every message in a group of its own (stored once): this test is about
    # the alert processes. A Mosquitto shared-subscription member that dies keeps its share queued in its
    # session until it returns with the same client id, which is how ingest workers are restarted.
    a = platform_settings(db_url, mqtt_broker.url, topic_prefix, tmp_path / "a", alerts_id="alerts-a")
    b = platform_settings(db_url, mqtt_broker.url, topic_prefix, tmp_path / "b", alerts_id="alerts-b")
    with start_platform(a, with_dashboard=False):
        with start_platform(b, with_dashboard=False) as second:
            wait_for(lambda: _holders(db_url) == {"alerts-a": 32, "alerts-b": 32}, 30, "the partitions shared")
            _die(second)
        died_at = time.monotonic()
        with fleet(mqtt_broker.url, topic_prefix, bracelets) as devices:
            for bracelet in bracelets:  # pressed while half the residents' holder is dead
                devices.critical(bracelet, "sos")
            wait_for(lambda: devices.transport.unconfirmed == 0, 30, "every SOS stored and confirmed")
            took = wait_for(lambda: _sos_alerts(db_url) == RESIDENTS, 60, "every SOS alerted after the handover")
        time.sleep(3)  # a late duplicate or a false alert from the handover would show by now
        holders = _holders(db_url)
    print(f"\n[handover] every SOS alerted {took:.1f} s after the presses, {time.monotonic() - died_at:.1f} s after")
    assert holders == {"alerts-a": 64} or holders == {"None": 64}  # a gave everything back when it stopped
    assert _sos_alerts(db_url) == RESIDENTS
    assert scalar(db_url, "SELECT count(*) FROM alerts WHERE kind <> 'sos'") == 0
