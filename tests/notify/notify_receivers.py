"""Real local receivers for notification tests: an HTTP server and an SMTP sink on loopback."""

from __future__ import annotations

import asyncio
import threading
from dataclasses import dataclass, field


@dataclass
class Received:
    """One HTTP request the receiver took."""

    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class HttpReceiver:
    """A loopback HTTP server that records every POST and can fail the first few."""

    url: str
    requests: list[Received] = field(default_factory=list)
    fail_first: int = 0  # answer 500 to this many requests before succeeding
    lock: threading.Lock = field(default_factory=threading.Lock)

    def take(self, path: str, headers: dict[str, str], body: bytes) -> int:
        with self.lock:
            self.requests.append(Received(path, headers, body))
            if self.fail_first > 0:
                self.fail_first -= 1
                return 500
            return 200

    def to(self, path: str) -> list[Received]:
        return [r for r in self.requests if r.path == path]


@dataclass
class Mail:
    """One message the SMTP sink took."""

    sender: str
    recipients: list[str]
    data: bytes


@dataclass
class SmtpSink:
    """A minimal SMTP server that accepts every message."""

    port: int
    mails: list[Mail] = field(default_factory=list)


async def smtp_session(sink: SmtpSink, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Speak just enough SMTP for smtplib: EHLO, MAIL, RCPT, DATA, RSET, NOOP, QUIT."""
    writer.write(b"220 sink ESMTP\r\n")
    sender, rcpts = "", list[str]()
    while line := await reader.readline():
        verb = line[:4].upper()
        if verb in (b"EHLO", b"HELO"):
            writer.write(b"250-sink\r\n250 8BITMIME\r\n")
        elif verb == b"MAIL":
            sender, rcpts = line.decode().split(":", 1)[1].strip(), []
            writer.write(b"250 OK\r\n")
        elif verb == b"RCPT":
            rcpts.append(line.decode().split(":", 1)[1].strip())
            writer.write(b"250 OK\r\n")
        elif verb == b"DATA":
            writer.write(b"354 go ahead\r\n")
            await writer.drain()
            data = await reader.readuntil(b"\r\n.\r\n")
            sink.mails.append(Mail(sender, rcpts, data))
            writer.write(b"250 queued\r\n")
        elif verb == b"QUIT":
            writer.write(b"221 bye\r\n")
            await writer.drain()
            break
        else:
            writer.write(b"250 OK\r\n")
        await writer.drain()
    writer.close()
