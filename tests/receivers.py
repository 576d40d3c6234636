"""Fixtures that start local receivers for what the platform sends: an HTTP server and an SMTP sink on loopback."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.notify.notify_receivers import HttpReceiver, SmtpSink, smtp_session


@pytest.fixture
def http_receiver() -> Iterator[HttpReceiver]:
    """Run an HTTP receiver on 127.0.0.1 and a free port."""
    holder: list[HttpReceiver] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length", "0")))
            code = holder[0].take(self.path, {k.lower(): v for k, v in self.headers.items()}, body)
            self.send_response(code)
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            del format, args

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    holder.append(HttpReceiver(f"127.0.0.1:{server.server_address[1]}"))
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield holder[0]
    server.shutdown()
    server.server_close()


@pytest.fixture
def smtp_sink() -> Iterator[SmtpSink]:
    """Run the SMTP sink on 127.0.0.1 and a free port, in its own event loop thread."""
    loop = asyncio.new_event_loop()
    sink = SmtpSink(0)
    server = loop.run_until_complete(asyncio.start_server(lambda r, w: smtp_session(sink, r, w), "127.0.0.1", 0))
    sink.port = server.sockets[0].getsockname()[1]
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    yield sink
    loop.call_soon_threadsafe(server.close)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(5)
