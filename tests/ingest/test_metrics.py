"""Ingest counters in the Prometheus text format, served over HTTP."""

from __future__ import annotations

import urllib.request

from anxin.services import free_port
from ingest.metrics import Metrics, serve_metrics


def test_counters_render_in_prometheus_text_format() -> None:
    metrics = Metrics()
    metrics.received = 12
    metrics.batch(0.02, stored=9, duplicates=1, dead={"bad_json": 2})
    text = metrics.render("w1")
    assert 'anxin_ingest_received_total{worker="w1"} 12' in text
    assert 'anxin_ingest_stored_total{worker="w1"} 9' in text
    assert 'anxin_ingest_duplicates_total{worker="w1"} 1' in text
    assert 'anxin_ingest_dead_lettered_total{worker="w1",reason="bad_json"} 2' in text
    assert 'anxin_ingest_batch_seconds_bucket{worker="w1",le="0.025"} 1' in text
    assert 'anxin_ingest_batch_seconds_count{worker="w1"} 1' in text
    for line in text.splitlines():
        assert line.startswith(("#", "anxin_ingest_"))


def test_metrics_are_served_over_http() -> None:
    metrics = Metrics()
    metrics.spooled = 3
    port = free_port()
    server = serve_metrics(metrics, "w2", "127.0.0.1", port)
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
            assert response.status == 200
            assert 'anxin_ingest_spooled_total{worker="w2"} 3' in response.read().decode()
    finally:
        server.shutdown()
