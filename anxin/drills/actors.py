"""The drill's simulated people, each using the platform exactly as a real one does.

* `Inbox` is the phones of the drill's supervisor, staff and family: a loopback HTTP server that takes the
  signed webhooks the platform sends to their channels.
* `ConsoleWatcher` is an open operator console: the same WebSocket ``/ws`` the page uses.
* `Person` is someone signed in to the dashboard's REST API (the operator's buttons, the staff phone).
* `Bracelet` presses keys: events published on the device's own MQTT topic.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from gateway.contract import Channel, OkEvent, SosEvent, encode, topic
from gateway.mqtt import MqttConnection


class DrillError(Exception):
    """A stage of the drill did not happen in time, or the platform refused a step."""


@dataclass(frozen=True, slots=True)
class Seen:
    """One message an actor received, with when (monotonic seconds) it arrived."""

    at: float
    path: str
    body: dict[str, Any]


def wait_for(find: Callable[[], Seen | None], timeout_s: float, what: str) -> Seen:
    """Poll until ``find`` returns something; raise `DrillError` naming ``what`` after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        found = find()
        if found is not None:
            return found
        time.sleep(0.05)
    raise DrillError(f"{what}: not within {timeout_s:.0f} s")


@dataclass
class Inbox:
    """A loopback HTTP server that records each webhook POSTed to it, by path."""

    host: str = "127.0.0.1"
    received: list[Seen] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _server: ThreadingHTTPServer | None = None

    def start(self) -> str:
        """Start listening on a free port; return the base URL."""
        inbox = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", "0")))
                try:
                    data = json.loads(body)
                except ValueError:
                    data = {"raw": body.decode(errors="replace")}
                with inbox._lock:
                    inbox.received.append(Seen(time.monotonic(), self.path, data))
                self.send_response(200)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: object) -> None:
                del format, args

        self._server = ThreadingHTTPServer((self.host, 0), Handler)
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        return f"http://{self.host}:{self._server.server_address[1]}"

    def stop(self) -> None:
        """Stop the server."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def first(self, path: str, event: str | None = None, **data: Any) -> Seen | None:
        """Return the first message to ``path`` of notice/desk ``event`` whose data has these fields."""
        with self._lock:
            for seen in self.received:
                payload = seen.body.get("data", {})
                kind = str(seen.body.get("type", "")).removeprefix("notice.")
                wanted = seen.path == path and (event is None or kind == event)
                if wanted and all(payload.get(k) == v for k, v in data.items()):
                    return seen
        return None

    def events(self, path: str) -> list[str]:
        """List the events sent to ``path``, in order."""
        with self._lock:
            return [str(s.body.get("type", "")).removeprefix("notice.") for s in self.received if s.path == path]


class Person:
    """Someone signed in to the dashboard: an httpx client carrying their session cookie."""

    def __init__(self, base_url: str, username: str, password: str) -> None:
        self.username = username
        self.client = httpx.Client(base_url=base_url, timeout=15.0, follow_redirects=False)
        response = self.client.post("/api/auth/login", json={"username": username, "password": password})
        if response.status_code != 200:
            raise DrillError(f"{username} could not sign in: HTTP {response.status_code} {response.text[:200]}")

    @property
    def cookies(self) -> str:
        """Return the session cookie header, for the WebSocket."""
        return "; ".join(f"{k}={v}" for k, v in self.client.cookies.items())

    def post(self, path: str, body: dict[str, Any] | None = None) -> Any:
        """POST to the API; raise `DrillError` when the platform refuses."""
        response = self.client.post(path, json=body or {})
        if response.status_code >= 400:
            raise DrillError(f"{self.username}: POST {path} → HTTP {response.status_code} {response.text[:300]}")
        return response.json() if response.content else None

    def get(self, path: str) -> Any:
        """GET from the API; raise `DrillError` when the platform refuses."""
        response = self.client.get(path)
        if response.status_code >= 400:
            raise DrillError(f"{self.username}: GET {path} → HTTP {response.status_code} {response.text[:300]}")
        return response.json()

    def close(self) -> None:
        """Close the client."""
        self.client.close()


class ConsoleWatcher:
    """An open console: reads the live WebSocket on a thread and keeps every message with its arrival time."""

    def __init__(self, base_url: str, person: Person) -> None:
        url = base_url.replace("http://", "ws://").replace("https://", "wss://").rstrip("/") + "/ws"
        self._socket: ClientConnection = connect(url, additional_headers={"Cookie": person.cookies}, open_timeout=10)
        self.messages: list[Seen] = []
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._read, name="drill-console", daemon=True)
        self._thread.start()

    def _read(self) -> None:
        try:
            for raw in self._socket:
                message = json.loads(raw)
                with self._lock:
                    self.messages.append(Seen(time.monotonic(), str(message.get("type")), message))
        except ConnectionClosed:
            return

    def first(self, message_type: str, after: float = 0.0, **data: Any) -> Seen | None:
        """Return the first live message of ``message_type`` after ``after`` whose data has these fields."""
        with self._lock:
            for seen in self.messages:
                payload = seen.body.get("data") or {}
                if seen.path == message_type and seen.at >= after and all(payload.get(k) == v for k, v in data.items()):
                    return seen
        return None

    def close(self) -> None:
        """Close the socket."""
        self._socket.close()


class Bracelet:
    """The drill resident's bracelet: presses its keys on its own topic, QoS 1, with its own sequence."""

    def __init__(self, bus: MqttConnection, device_id: str, prefix: str) -> None:
        self._bus = bus
        self._device_id = device_id
        self._prefix = prefix
        self._seq = int(time.time())  # a new drill never reuses an earlier drill's sequence numbers

    def press(self, key: str) -> float:
        """Press ``sos`` or ``ok``; return when (monotonic) the message left."""
        self._seq += 1
        body = (SosEvent if key == "sos" else OkEvent)(kind=key, seq=self._seq, ts=datetime.now(UTC))  # type: ignore[arg-type]
        sent = time.monotonic()
        self._bus.publish(topic(self._device_id, Channel.EVENT, self._prefix), encode(body), qos=1)
        return sent
