"""Log lines as JSON on request, and the health server every process runs: /metrics, /healthz, /readyz."""

from __future__ import annotations

import json
import logging
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
from prometheus_client import CollectorRegistry, Counter

from anxin.observability import configure_logging, serve_health
from anxin.services import free_port
from anxin.settings import Settings


@pytest.fixture
def root_logging() -> Iterator[None]:
    """Give the root logger back as it was."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


def test_the_log_format_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    assert Settings().log_format == "plain"
    monkeypatch.setenv("ANXIN_LOG_FORMAT", "json")
    assert Settings().log_format == "json"


@pytest.mark.usefixtures("root_logging")
def test_json_lines_carry_time_level_logger_message_and_exception(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("json", "INFO")
    configure_logging("json", "INFO")  # again: still one line per record
    log = logging.getLogger("anxin.test")
    log.info("résident %s", "r1")
    try:
        raise ValueError("boom")
    except ValueError:
        log.exception("failed")
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines()]
    assert [(x["level"], x["logger"], x["message"]) for x in lines] == [
        ("INFO", "anxin.test", "résident r1"),
        ("ERROR", "anxin.test", "failed"),
    ]
    assert lines[0]["ts"].endswith("+00:00") and "exc" not in lines[0]
    assert "ValueError: boom" in lines[1]["exc"]


@pytest.mark.usefixtures("root_logging")
def test_plain_lines_stay_plain(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("plain", "WARNING")
    logging.getLogger("anxin.test").info("hidden")
    logging.getLogger("anxin.test").warning("shown")
    err = capsys.readouterr().err
    assert "hidden" not in err
    assert "WARNING anxin.test: shown" in err


def _get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def test_the_health_server_answers_probes_and_scrapes() -> None:
    registry = CollectorRegistry()
    Counter("anxin_test_scrapes", "A counter of this test", registry=registry).inc()
    state: dict[str, Any] = {"ok": True}

    def ready() -> tuple[bool, dict[str, Any]]:
        return state["ok"], {"checks": {"database": {"ok": state["ok"]}}}

    port = free_port()
    server = serve_health("127.0.0.1", port, registry, ready)
    base = f"http://127.0.0.1:{port}"
    try:
        assert _get(f"{base}/healthz") == (200, '{"status":"alive"}')
        assert _get(f"{base}/readyz") == (200, '{"checks": {"database": {"ok": true}}}')
        state["ok"] = False
        status, body = _get(f"{base}/readyz")
        assert (status, json.loads(body)["checks"]["database"]["ok"]) == (503, False)
        status, body = _get(f"{base}/metrics")
        assert status == 200
        assert "anxin_test_scrapes_total 1.0" in body
        assert _get(f"{base}/other")[0] == 404
    finally:
        server.shutdown()
        server.server_close()
