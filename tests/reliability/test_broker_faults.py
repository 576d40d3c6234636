"""The broker stopped (SIGTERM) or killed (SIGKILL) under load: every SOS and fall stored and alerted exactly once."""

from __future__ import annotations

import contextlib
import signal
import time
from pathlib import Path

import pytest

from anxin.platform import start_platform
from anxin.services import LocalMosquitto
from tests.ingest.harness import register_fleet
from tests.reliability.helpers import AlertListener, Load, fleet, platform_settings, scalar, wait_for

RESIDENTS = 9
RATE = 200.0  # telemetry messages per second, over all bracelets
PERSIST_WINDOW_S = 1.0  # autosave_interval in deploy/mosquitto/mosquitto.conf


def _persisted_after(broker: LocalMosquitto, moment: float) -> bool:
    """Tell whether the broker wrote its persistence file after ``moment`` (wall clock)."""
    path = broker.root / "mosquitto.db"
    return path.exists() and path.stat().st_mtime > moment


@pytest.mark.parametrize("how", [signal.SIGTERM, signal.SIGKILL], ids=["sigterm", "sigkill"])
def test_broker_down_under_load_loses_no_critical_event(
    how: signal.Signals, own_broker: LocalMosquitto, db_url: str, topic_prefix: str, tmp_path: Path
) -> None:
    bracelets = register_fleet(db_url, RESIDENTS)
    thirds = [bracelets[0:3], bracelets[3:6], bracelets[6:9]]  # before, during and after the outage
    listener = AlertListener(own_broker.port).start()
    settings = platform_settings(db_url, own_broker.url, topic_prefix, tmp_path)
    with start_platform(settings, with_dashboard=False), fleet(own_broker.url, topic_prefix, bracelets) as devices:
        load = Load(devices, bracelets, RATE).start()
        wait_for(lambda: scalar(db_url, "SELECT count(*) FROM telemetry") >= RATE, 20, "ingest running")
        for device in thirds[0]:
            devices.critical(device, "sos")
            devices.critical(device, "fall")
        marked = time.time()
        wait_for(lambda: _persisted_after(own_broker, marked), 10, "the broker's autosave")
        if how is signal.SIGTERM:
            own_broker.stop()
        else:
            own_broker.kill()
        for device in thirds[1]:  # pressed while the broker is down: the bracelet keeps them
            devices.critical(device, "sos")
            devices.critical(device, "fall")
        sent_at_down = devices.sent_telemetry
        wait_for(lambda: devices.sent_telemetry >= sent_at_down + RATE / 2, 10, "load while the broker is down")
        own_broker.start()  # same folder, same port
        for device in thirds[2]:
            devices.critical(device, "sos")
            devices.critical(device, "fall")
        sent_at_up = devices.sent_telemetry
        wait_for(lambda: devices.sent_telemetry >= sent_at_up + RATE, 20, "load after the restart")
        load.finish()
        wait_for(lambda: devices.transport.unconfirmed == 0, 60, "every critical event confirmed to its device")
        wait_for(lambda: devices.transport.backlog == 0, 30, "every message PUBACKed")
        wait_for(
            lambda: scalar(db_url, "SELECT count(*) FROM alerts WHERE kind IN ('sos', 'fall')") >= 2 * RESIDENTS,
            30,
            "every SOS and fall alerted",
        )
        sent = devices.sent_telemetry
        with contextlib.suppress(AssertionError):  # up to the persistence window may be gone (see below)
            wait_for(lambda: scalar(db_url, "SELECT count(*) FROM telemetry") == sent, 20, "all telemetry")
        stored = scalar(db_url, "SELECT count(*) FROM telemetry")
        events = scalar(db_url, "SELECT count(*) FROM events WHERE kind IN ('sos', 'fall')")
        alerts = scalar(db_url, "SELECT count(*) FROM alerts WHERE kind IN ('sos', 'fall')")
        per_kind = scalar(
            db_url,
            "SELECT count(*) FROM (SELECT resident_id, kind FROM alerts"
            " WHERE kind IN ('sos', 'fall') GROUP BY 1, 2 HAVING count(*) > 1) d",
        )
        stats = devices.transport.stats
        lost = sent - stored
        print(
            f"\n[broker {how.name}] telemetry sent {sent}, stored {stored}, lost {lost} "
            f"(limit {2 * RATE * PERSIST_WINDOW_S:.0f} = 2 s at {RATE:.0f}/s); critical sent "
            f"{len(devices.sent_critical)}, resent {stats.resent}, confirmed {stats.confirmed}, stored {events}, "
            f"alerts {alerts}; raised changes seen {len(listener.changes('raised'))}"
        )
    listener.close()
    assert events == len(devices.sent_critical) == 2 * RESIDENTS, "each SOS and fall stored exactly once"
    assert alerts == 2 * RESIDENTS and per_kind == 0, "each SOS and fall alerted exactly once"
    assert stored <= sent
    # SIGTERM loses a few PUBACKed messages now and then too (0-6 of ~800 measured): reported, bounded like SIGKILL.
    assert lost <= 2 * RATE * PERSIST_WINDOW_S, f"{lost} telemetry messages lost on {how.name}"
