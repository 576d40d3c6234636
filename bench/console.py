"""A desk user's open console, as benchmarks and process tests watch it: when each alert's ``raised`` change arrives."""

from __future__ import annotations

import contextlib
import json
import threading
import time
from datetime import datetime

import httpx
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect as ws_connect


class Console:
    """Sign in and follow the console's WebSocket; record each alert's ``raised`` change by (resident, kind)."""

    def __init__(self, base: str, username: str, password: str) -> None:
        reply = httpx.post(f"{base}/api/auth/login", json={"username": username, "password": password}, timeout=15)
        reply.raise_for_status()
        headers = {"Authorization": f"Bearer {reply.json()['token']}", "Origin": base}
        self._socket = ws_connect(f"ws://{base.removeprefix('http://')}/ws", additional_headers=headers)
        hello = json.loads(self._socket.recv(10))
        assert hello.get("type") == "hello", hello
        # (resident, kind) → (when it arrived, by this machine's clock; when the alert service raised it)
        self.raised: dict[tuple[str, str], tuple[float, datetime]] = {}
        self.closed: str | None = None  # why the socket ended, when it did before `close`
        self._thread = threading.Thread(target=self._read, name="console", daemon=True)
        self._thread.start()

    def arrived(self, resident: str, kind: str = "sos") -> float | None:
        """Return when the alert of this kind of this resident reached the console (``time.time()``), if it did."""
        seen = self.raised.get((resident, kind))
        return seen[0] if seen else None

    def _read(self) -> None:
        try:
            for frame in self._socket:
                now = time.time()
                message = json.loads(frame)
                data = message.get("data") or {}
                if message.get("type") == "alert" and data.get("action") == "raised":
                    key = (str(message["resident_id"]), str(data.get("kind")))
                    self.raised.setdefault(key, (now, datetime.fromisoformat(data["at"])))
            self.closed = "closed"
        except ConnectionClosed as exc:  # the server closed it, or was killed: a benchmark must say so
            self.closed = str(exc)

    def close(self) -> None:
        """Close the socket."""
        with contextlib.suppress(Exception):
            self._socket.close()
        self._thread.join(5)
