"""What every process shows of itself: its log lines (plain or JSON) and ``/metrics``, ``/healthz``, ``/readyz``.

The health server is the standard library's threading HTTP server on a daemon thread, so a process
without the dashboard (an ingest worker) needs no web framework; the metrics come from the
process's `prometheus_client` registry, the readiness answer from a check (`ingest.health`).
"""

from __future__ import annotations

import json
import logging
import sys
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Final, Literal

from prometheus_client import CollectorRegistry
from prometheus_client.exposition import choose_encoder

from ingest.health import Check

LogFormat = Literal["plain", "json"]
PLAIN: Final = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"
_HANDLER: Final = "anxin"


class JsonLines(logging.Formatter):
    """Format a record as one JSON object: ts, level, logger, message, and exc when there is one."""

    def format(self, record: logging.LogRecord) -> str:
        """Return the record as a JSON line."""
        line = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            line["exc"] = self.formatException(record.exc_info)
        elif record.exc_text:
            line["exc"] = record.exc_text
        return json.dumps(line, ensure_ascii=False)


_FORMATTERS: Final[dict[str, Callable[[], logging.Formatter]]] = {
    "plain": lambda: logging.Formatter(PLAIN),
    "json": JsonLines,
}


def configure_logging(fmt: LogFormat = "plain", level: str = "INFO") -> None:
    """Send every log record to stderr, as plain lines or as JSON lines (``ANXIN_LOG_FORMAT``)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.set_name(_HANDLER)
    handler.setFormatter(_FORMATTERS[fmt]())
    root = logging.getLogger()
    for old in [h for h in root.handlers if h.get_name() == _HANDLER]:  # ours only: keep test capture handlers
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())


def serve_health(host: str, port: int, registry: CollectorRegistry, ready: Check) -> ThreadingHTTPServer:
    """Serve ``/metrics``, ``/healthz`` and ``/readyz`` on a daemon thread; ``shutdown()`` the server to stop."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            path = self.path.split("?", 1)[0]
            if path == "/metrics":
                encoder, content_type = choose_encoder(self.headers.get("Accept", ""))
                self._answer(200, content_type, encoder(registry))
            elif path == "/healthz":
                self._answer(200, "application/json", b'{"status":"alive"}')
            elif path == "/readyz":
                ok, body = ready()
                self._answer(200 if ok else 503, "application/json", json.dumps(body).encode())
            else:
                self._answer(404, "application/json", b'{"code":"not_found"}')

        def _answer(self, status: int, content_type: str, body: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_args: object) -> None:
            pass  # probes every few seconds would drown the log

    server = ThreadingHTTPServer((host, port), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, name="health", daemon=True).start()
    return server
