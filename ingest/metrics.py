"""Ingest counters, rendered in the Prometheus text exposition format."""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Final

_LATENCY_BUCKETS: Final = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


@dataclass
class Metrics:
    """What one ingest worker has done since it started (thread-safe increments)."""

    received: int = 0
    stored: int = 0
    duplicates: int = 0
    spooled: int = 0
    replayed: int = 0
    batches: int = 0
    urgent: int = 0
    dead_lettered: Counter[str] = field(default_factory=Counter)
    latency_sum: float = 0.0
    latency_buckets: list[int] = field(default_factory=lambda: [0] * len(_LATENCY_BUCKETS))
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def batch(self, seconds: float, stored: int, duplicates: int, dead: dict[str, int]) -> None:
        """Count one committed batch."""
        with self._lock:
            self.batches += 1
            self.stored += stored
            self.duplicates += duplicates
            self.dead_lettered.update(dead)
            self.latency_sum += seconds
            for i, bound in enumerate(_LATENCY_BUCKETS):
                if seconds <= bound:
                    self.latency_buckets[i] += 1

    def render(self, worker: str) -> str:
        """Return the counters in Prometheus text format."""
        label = f'worker="{worker}"'
        lines = []
        for name, value, help_text in (
            ("received", self.received, "Messages received from the broker"),
            ("stored", self.stored, "Rows committed"),
            ("duplicates", self.duplicates, "Messages already stored (resent or redelivered)"),
            ("spooled", self.spooled, "Messages written to the disk spool while the database was down"),
            ("replayed", self.replayed, "Spooled messages replayed into the database"),
            ("urgent", self.urgent, "Urgent events sent on the alert path ahead of the batch"),
        ):
            lines += [
                f"# HELP anxin_ingest_{name}_total {help_text}",
                f"# TYPE anxin_ingest_{name}_total counter",
                f"anxin_ingest_{name}_total{{{label}}} {value}",
            ]
        lines += [
            "# HELP anxin_ingest_dead_lettered_total Messages dead-lettered, by reason",
            "# TYPE anxin_ingest_dead_lettered_total counter",
        ]
        lines += [
            f'anxin_ingest_dead_lettered_total{{{label},reason="{r}"}} {n}'
            for r, n in sorted(self.dead_lettered.items())
        ]
        lines += [
            "# HELP anxin_ingest_batch_seconds Time to commit one batch",
            "# TYPE anxin_ingest_batch_seconds histogram",
        ]
        lines += [
            f'anxin_ingest_batch_seconds_bucket{{{label},le="{b}"}} {n}'
            for b, n in zip(_LATENCY_BUCKETS, self.latency_buckets, strict=True)
        ]
        lines += [
            f'anxin_ingest_batch_seconds_bucket{{{label},le="+Inf"}} {self.batches}',
            f"anxin_ingest_batch_seconds_sum{{{label}}} {self.latency_sum:.6f}",
            f"anxin_ingest_batch_seconds_count{{{label}}} {self.batches}",
        ]
        return "\n".join(lines) + "\n"


def serve_metrics(metrics: Metrics, worker: str, host: str, port: int) -> ThreadingHTTPServer:
    """Serve ``/metrics`` on a background thread; return the server (call ``shutdown()`` to stop)."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = metrics.render(worker).encode()
            self.send_response(200 if self.path == "/metrics" else 404)
            self.send_header("Content-Type", "text/plain; version=0.0.4")
            self.end_headers()
            if self.path == "/metrics":
                self.wfile.write(body)

        def log_message(self, *_args: object) -> None:
            pass

    server = ThreadingHTTPServer((host, port), Handler)
    threading.Thread(target=server.serve_forever, name="metrics", daemon=True).start()
    return server
