"""`bench.latency --protocol both` at a tiny size: SOS pressed on MQTT and as watch-protocol AL frames over TCP
both reach the console; the watch figures sit beside the MQTT ones in the JSON line."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.bench.test_latency_smoke import REPO, pytestmark

__all__ = ["pytestmark"]  # the same skip: no PostgreSQL or Mosquitto binaries, no test


@pytest.mark.timeout(120)
def test_watch_and_mqtt_sos_on_an_idle_platform_reach_the_console() -> None:
    command = [sys.executable, "-m", "bench.latency", "--protocol", "both", "--sos", "2", "--levels", "0"]
    done = subprocess.run(
        [*command, "--capacity", "1000", "--spacing", "0.2", "--timeout", "10"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=110,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    assert figures["lost"] == 0 and figures["watch"]["lost"] == 0
    assert 0 < figures["watch"]["p50_ms"]["0"] <= figures["watch"]["p99_ms"]["0"] < 10_000
    assert 0 < figures["p50_ms"]["0"] < 10_000
