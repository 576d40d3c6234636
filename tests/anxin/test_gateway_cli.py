"""`anxin gateway watch` as a process: it serves bracelets named in its credentials file and stops on SIGTERM."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from anxin.services import LocalMosquitto, free_port
from gateway.provisioning import Account, credentials_csv
from gateway.watch import encode_frame

REPO = Path(__file__).resolve().parents[2]


def test_the_watch_gateway_command_serves_its_bracelets(
    tmp_path: Path, mqtt_broker: LocalMosquitto, db_url: str, topic_prefix: str
) -> None:
    secrets = tmp_path / "bracelets.csv"
    secrets.write_text(credentials_csv([Account("8700000001", "its-secret", "device")]))
    port = free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("ANXIN_")},
        "DATABASE_URL": db_url,
        "MQTT_URL": mqtt_broker.url,
        "ANXIN_TOPIC_PREFIX": topic_prefix,
        "ANXIN_DATA_DIR": str(tmp_path),
    }
    command = [sys.executable, "-m", "anxin.cli", "gateway", "watch", "--host", "127.0.0.1", "--port", str(port)]
    with subprocess.Popen([*command, "--credentials", str(secrets)], cwd=REPO, env=env) as proc:
        try:
            sock = _connect(port, proc)
            with sock:
                sock.sendall(encode_frame("3G", "8700000001", "LK"))
                sock.settimeout(10)
                assert sock.recv(100) == encode_frame("3G", "8700000001", "LK")
        finally:
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(20) == 0


def test_without_credentials_it_says_so(tmp_path: Path, mqtt_broker: LocalMosquitto, db_url: str) -> None:
    env = {**os.environ, "DATABASE_URL": db_url, "MQTT_URL": mqtt_broker.url, "ANXIN_DATA_DIR": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, "-m", "anxin.cli", "gateway", "watch", "--port", "0"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2 and "demo-devices.csv" in done.stderr


def _connect(port: int, proc: subprocess.Popen[bytes]) -> socket.socket:
    deadline = time.monotonic() + 30
    while True:
        assert proc.poll() is None, "the gateway exited"
        try:
            return socket.create_connection(("127.0.0.1", port), timeout=5)
        except OSError:
            assert time.monotonic() < deadline, "the gateway did not listen"
            time.sleep(0.1)
