"""A bounded, append-only disk spool for messages that arrived while the database was down.

A spooled message is fsync'd before it is acknowledged to the broker, so acknowledging it is safe.
Each failed batch becomes one segment file; segments are replayed oldest first and deleted only
after their rows are committed. When the spool is full, `append` refuses and the messages stay
unacknowledged at the broker, which keeps them.
"""

from __future__ import annotations

import os
import struct
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path

from gateway.mqtt import Inbound
from ingest.errors import SpoolFullError

_HEADER = struct.Struct(">IId")  # topic length, payload length, received_at (epoch seconds)


class Spool:
    """Segments of raw messages on disk, in arrival order."""

    def __init__(self, folder: Path, max_bytes: int) -> None:
        self.folder = folder
        self.max_bytes = max_bytes
        folder.mkdir(parents=True, exist_ok=True)
        self._next = max((int(p.stem) for p in self._segments()), default=0) + 1

    def _segments(self) -> list[Path]:
        return sorted(self.folder.glob("*.seg"), key=lambda p: int(p.stem))

    @property
    def size(self) -> int:
        """Return the bytes on disk."""
        return sum(p.stat().st_size for p in self._segments())

    def __bool__(self) -> bool:
        return bool(self._segments())

    def __len__(self) -> int:
        return sum(1 for seg in self._segments() for _ in self._read(seg))

    def append(self, messages: Sequence[Inbound]) -> None:
        """Write messages as one new segment and make it durable; raise `SpoolFullError` when full."""
        data = b"".join(
            _HEADER.pack(len(t := m.topic.encode()), len(m.payload), m.received_at.timestamp()) + t + m.payload
            for m in messages
        )
        if self.size + len(data) > self.max_bytes:
            raise SpoolFullError(f"spool at {self.folder} would exceed {self.max_bytes} bytes")
        path = self.folder / f"{self._next:012d}.seg"
        tmp = path.with_suffix(".tmp")
        with tmp.open("wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        tmp.rename(path)  # a segment is either whole or absent
        dir_fd = os.open(self.folder, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
        self._next += 1

    def oldest(self) -> tuple[Path, list[Inbound]] | None:
        """Return the oldest segment and its messages, or None when the spool is empty."""
        segments = self._segments()
        if not segments:
            return None
        return segments[0], list(self._read(segments[0]))

    @staticmethod
    def remove(segment: Path) -> None:
        """Delete a segment whose messages are committed."""
        segment.unlink(missing_ok=True)

    @staticmethod
    def _read(path: Path) -> Iterator[Inbound]:
        data = path.read_bytes()
        pos = 0
        while pos < len(data):
            tlen, plen, ts = _HEADER.unpack_from(data, pos)
            pos += _HEADER.size
            topic = data[pos : pos + tlen].decode()
            pos += tlen
            payload = data[pos : pos + plen]
            pos += plen
            yield Inbound(topic, payload, mid=0, qos=0, retain=False, received_at=datetime.fromtimestamp(ts, UTC))
