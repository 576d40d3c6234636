"""The watch gateway's I/O: a TCP server (asyncio streams) that speaks for each bracelet on MQTT as itself.

One connection is one bracelet. Its first frame names it; a bracelet the gateway has no credentials for
is refused (a dead letter ``unknown_device``, the connection closed) — the gateway cannot invent devices,
and on a secured broker it could not publish for one anyway: every bracelet gets its own MQTT connection
signed in with its own secret (`mqtt_links`), client id = device id, the retained ``online`` status on
connect, ``offline`` when its TCP connection ends (``lwt``, its last will, should the gateway vanish), and
its own ``cmd`` topic.

Per frame: split (`gateway.watch.Splitter`), decode, translate into contract records and publish them;
answer what the protocol expects (``LK``, ``TKQ``…) at once — except an alarm's ``AL``, which is sent
when the platform's ``ack`` of every urgent event of it (SOS, fall) arrives on ``cmd``. Until then the
gateway publishes those events again every ``resend_s`` (same bytes: stored once), as a contract device
does. Other commands on ``cmd`` (locate, report interval, call back) are written to the connection.

Bounds: a frame's content at most ``max_content`` bytes; a connection names itself within
``hello_timeout_s`` and stays silent at most ``idle_timeout_s``; at most ``per_ip`` connections from one
address and ``max_connections`` in all (others are closed at once). Bytes that are not a frame, a frame
of another device or an unknown device close the connection and leave a dead letter; a frame whose
content breaks the contract leaves a dead letter and the connection goes on. Nothing a client sends
stops the server.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import threading
from collections import Counter
from collections.abc import Callable, Collection, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Final, Protocol, TypeVar

from gateway.contract import Channel, Command, Record, Status, encode, topic
from gateway.errors import GatewayError, Rejected
from gateway.mqtt import BrokerAddress, MqttConnection
from gateway.watch import (
    COMMANDS,
    GARBAGE_HEAD,
    MAX_CONTENT_BYTES,
    Frame,
    Garbage,
    Splitter,
    WatchError,
    command_kind,
    decode,
    reply,
)
from gateway.watch_records import WatchState, command_frame, parse_command, sequence, translate

LOG = logging.getLogger(__name__)
T = TypeVar("T")
COMMAND_QUEUE: Final = 64  # platform commands waiting for one connection


@dataclass(frozen=True, slots=True)
class Limits:
    """What one connection, and one address, may take."""

    max_content: int = MAX_CONTENT_BYTES
    hello_timeout_s: float = 30.0
    idle_timeout_s: float = 600.0  # bracelets send LK every 5–8 minutes
    per_ip: int = 32  # a carrier's NAT may put many bracelets behind one address
    max_connections: int = 20_000
    resend_s: float = 5.0
    link_threads: int = 32  # bracelets signing in to (or leaving) the broker at once, e.g. after a restart


class DeviceLink(Protocol):
    """A bracelet's own connection to the platform."""

    def publish(self, topic: str, payload: bytes, retain: bool) -> None:
        """Send one message (QoS 1)."""

    def close(self) -> None:
        """Say the bracelet is offline and let go of the connection."""


LinkFactory = Callable[[str, Callable[[bytes], None]], DeviceLink]  # (device id, on cmd payload) → its link


class _MqttLink:
    def __init__(self, connection: MqttConnection, device_id: str, prefix: str) -> None:
        self._connection, self._device_id, self._prefix = connection, device_id, prefix

    def publish(self, topic: str, payload: bytes, retain: bool) -> None:
        self._connection.publish(topic, payload, qos=1, retain=retain)

    def close(self) -> None:
        # Say offline and disconnect: as prompt as the will, and without waiting for the client's network loop.
        now = datetime.now(UTC)
        gone = Status(seq=sequence(now, "status"), ts=now, state="offline", reason="connection_lost")
        with contextlib.suppress(GatewayError):
            self._connection.publish(topic(self._device_id, Channel.STATUS, self._prefix), encode(gone), retain=True)
        self._connection.close()


def mqtt_links(address: BrokerAddress, secrets: Mapping[str, str], prefix: str, timeout: float = 10.0) -> LinkFactory:
    """Make links that sign in to the broker as each bracelet, with its secret (blocking; raise `BrokerError`).

    The last will says ``offline`` (``lwt``) should the gateway itself vanish; a bracelet's connection that
    ends says ``offline`` (``connection_lost``) itself.
    """

    def connect(device_id: str, on_command: Callable[[bytes], None]) -> DeviceLink:
        now = datetime.now(UTC)
        will = Status(seq=sequence(now, "status"), ts=now, state="offline", reason="lwt")
        signed = dataclasses.replace(address, username=device_id, password=secrets[device_id])
        connection = MqttConnection(signed, device_id, will=(topic(device_id, Channel.STATUS, prefix), encode(will)))
        connection.connect(timeout)
        connection.route(topic(device_id, Channel.CMD, prefix), lambda _t, payload: on_command(payload))
        return _MqttLink(connection, device_id, prefix)

    return connect


@dataclass(slots=True)
class _Waiting:
    """An urgent record published and not yet acknowledged, and the answer its frame gets when it is."""

    topic: str
    payload: bytes
    answer: bytes
    due: float


@dataclass(eq=False, slots=True)
class _Connection:
    ip: str
    writer: asyncio.StreamWriter
    device_id: str | None = None
    vendor: str = "3G"
    link: DeviceLink | None = None
    state: WatchState = field(default_factory=WatchState)
    waiting: dict[int, _Waiting] = field(default_factory=dict)
    commands: asyncio.Queue[bytes] = field(default_factory=lambda: asyncio.Queue(COMMAND_QUEUE))
    pump: asyncio.Task[None] | None = None

    def send(self, data: bytes) -> None:
        if not self.writer.is_closing():
            self.writer.write(data)


class WatchGateway:
    """Accept bracelet connections and speak for each bracelet on MQTT."""

    def __init__(
        self,
        links: LinkFactory,
        known: Collection[str],
        reject: Callable[[Rejected], None],
        *,
        prefix: str = "ec/v1",
        limits: Limits = Limits(),
        utc_offset: timedelta = timedelta(hours=8),
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._links, self._known, self._reject_sink = links, known, reject
        self._prefix, self.limits, self._offset, self._clock = prefix, limits, utc_offset, clock
        self._per_ip: Counter[str] = Counter()
        self._devices: dict[str, _Connection] = {}
        self._locks: dict[str, asyncio.Lock] = {}  # one per bracelet: its links are closed before one is opened
        self._open: set[_Connection] = set()
        self._server: asyncio.Server | None = None
        self.stats: Counter[str] = Counter()
        self._pool = ThreadPoolExecutor(limits.link_threads, thread_name_prefix="watch-link")

    async def _blocking(self, call: Callable[[], T]) -> T:
        """Run a blocking call (a broker sign-in, a link closing, a dead letter) on the gateway's threads."""
        return await asyncio.get_running_loop().run_in_executor(self._pool, call)

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> int:
        """Listen; return the port (a free one when ``port`` is 0)."""
        self._server = await asyncio.start_server(self._accept, host, port)
        bound: int = self._server.sockets[0].getsockname()[1]
        LOG.info("watch gateway listening on %s:%d", host, bound)
        return bound

    async def close(self) -> None:
        """Stop listening and end every connection."""
        if self._server is not None:
            self._server.close()
        for conn in list(self._open):
            conn.writer.close()
        while self._open:
            await asyncio.sleep(0.01)
        if self._server is not None:
            await self._server.wait_closed()
        self._pool.shutdown(wait=False)

    @property
    def connections(self) -> int:
        """Return how many bracelet connections are open."""
        return len(self._open)

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = writer.get_extra_info("peername")
        ip = str(peer[0]) if peer else "unknown"
        if self._per_ip[ip] >= self.limits.per_ip or len(self._open) >= self.limits.max_connections:
            self.stats["refused_busy"] += 1
            writer.close()
            return
        conn = _Connection(ip, writer)
        self._per_ip[ip] += 1
        self._open.add(conn)
        self.stats["connections"] += 1
        try:
            await self._serve(conn, reader)
        except (ConnectionError, OSError):
            self.stats["dropped"] += 1
        except Exception:  # one connection's fault never stops the gateway (logged with its trace)
            LOG.exception("watch connection from %s failed", ip)
            self.stats["failed"] += 1
        finally:
            await self._end(conn)
            self._per_ip[ip] -= 1
            if self._per_ip[ip] <= 0:
                del self._per_ip[ip]
            self._open.discard(conn)

    async def _serve(self, conn: _Connection, reader: asyncio.StreamReader) -> None:
        splitter = Splitter(self.limits.max_content)
        while not conn.writer.is_closing():
            wait = self.limits.idle_timeout_s if conn.device_id else self.limits.hello_timeout_s
            try:
                data = await asyncio.wait_for(reader.read(65536), wait)
            except TimeoutError:
                self.stats["idle_closed"] += 1
                return
            if not data:
                return
            for item in splitter.feed(data):
                if isinstance(item, Garbage):
                    await self._reject(conn, item.head, item.reason, item.detail)
                    return
                if not await self._frame(conn, item):
                    return
            await conn.writer.drain()

    async def _frame(self, conn: _Connection, frame: Frame) -> bool:
        """Take one frame; tell whether the connection goes on."""
        self.stats["frames"] += 1
        if conn.device_id is None:
            if frame.device_id not in self._known:
                await self._reject(conn, frame.encode(), "unknown_device", f"no credentials for {frame.device_id!r}")
                return False
            if not await self._sign_in(conn, frame):
                return False
        elif frame.device_id != conn.device_id:
            detail = f"a frame of {frame.device_id!r} on {conn.device_id!r}'s connection"
            await self._reject(conn, frame.encode(), "identity_mismatch", detail)
            return False
        try:
            result = translate(frame, decode(frame, self._offset), conn.state, self._clock())
        except WatchError as exc:
            await self._reject(conn, frame.encode(), exc.reason, exc.detail)
            if command_kind(frame.command) is not COMMANDS["AL"]:  # an alarm we cannot read is not confirmed
                self._answer(conn, reply(frame))
            return True
        conn.state = result.state
        self.stats[result.kind] += 1
        for record in result.records:
            self._publish(conn, record)
        answer = reply(frame)
        if result.urgent and answer is not None:
            due = asyncio.get_running_loop().time() + self.limits.resend_s
            for record in result.urgent:
                waiting = _Waiting(self._topic(record), encode(record.body), answer, due)
                conn.waiting.setdefault(record.body.seq, waiting)
        else:
            self._answer(conn, answer)
        return True

    def _answer(self, conn: _Connection, answer: bytes | None) -> None:
        if answer is not None:
            conn.send(answer)
            self.stats["replies"] += 1

    def _topic(self, record: Record) -> str:
        return topic(record.device_id, record.channel, self._prefix)

    def _publish(self, conn: _Connection, record: Record) -> None:
        assert conn.link is not None
        conn.link.publish(self._topic(record), encode(record.body), record.channel is Channel.STATUS)
        self.stats["published"] += 1

    async def _sign_in(self, conn: _Connection, frame: Frame) -> bool:
        """Connect the bracelet's own link, after the link of an older connection of the same bracelet is closed.

        A bracelet's links never overlap: two MQTT clients with its client id would push each other off.
        """
        loop = asyncio.get_running_loop()

        def on_command(payload: bytes) -> None:  # on the MQTT client's thread
            loop.call_soon_threadsafe(_offer, conn.commands, payload)

        async with self._locks.setdefault(frame.device_id, asyncio.Lock()):
            older = self._devices.pop(frame.device_id, None)
            if older is not None:
                older.writer.close()
                await self._close_link(older)
                self.stats["replaced"] += 1
            try:
                conn.link = await self._blocking(lambda: self._links(frame.device_id, on_command))
            except GatewayError as exc:
                LOG.warning("bracelet %s cannot sign in to the broker: %s", frame.device_id, exc)
                self.stats["broker_refused"] += 1
                return False
            conn.device_id, conn.vendor = frame.device_id, frame.vendor
            self._devices[frame.device_id] = conn
        now = self._clock()
        online = Status(seq=sequence(now, "status"), ts=now, state="online")
        self._publish(conn, Record(frame.device_id, Channel.STATUS, online))
        conn.pump = asyncio.create_task(self._pump(conn), name=f"watch-{frame.device_id}")
        return True

    async def _pump(self, conn: _Connection) -> None:
        """Carry platform commands to the bracelet and publish unacknowledged urgent records again."""
        loop = asyncio.get_running_loop()
        while True:
            with contextlib.suppress(TimeoutError):
                payload = await asyncio.wait_for(conn.commands.get(), timeout=min(1.0, self.limits.resend_s))
                self._command(conn, payload)
            now = loop.time()
            for waiting in conn.waiting.values():
                if waiting.due <= now and conn.link is not None:
                    conn.link.publish(waiting.topic, waiting.payload, False)
                    waiting.due = now + self.limits.resend_s
                    self.stats["resent"] += 1

    def _command(self, conn: _Connection, payload: bytes) -> None:
        command = parse_command(payload)
        if command is None or conn.device_id is None:
            self.stats["commands_ignored"] += 1
            return
        if isinstance(command, Command):
            done = conn.waiting.pop(command.ack_seq, None)
            if done is not None and all(w.answer != done.answer for w in conn.waiting.values()):
                self._answer(conn, done.answer)  # every urgent record of that alarm is stored
                self.stats["acked"] += 1
            return
        conn.send(command_frame(conn.vendor, conn.device_id, command))
        self.stats["commands"] += 1

    async def _reject(self, conn: _Connection, payload: bytes, reason: str, detail: str) -> None:
        where = f"watch/{conn.ip}" + (f"/{conn.device_id}" if conn.device_id else "")
        rejection = Rejected(self._clock(), where, payload[:GARBAGE_HEAD], reason, detail)
        self.stats[f"rejected_{reason}"] += 1
        LOG.info("watch: %s from %s: %s", reason, where, detail)
        try:
            await self._blocking(lambda: self._reject_sink(rejection))
        except Exception:  # a dead letter that cannot be written is logged, not fatal
            LOG.exception("watch: could not keep the dead letter of %s", where)

    async def _drop_link(self, conn: _Connection) -> None:
        """Close a connection's link and forget it as its bracelet's connection."""
        if conn.device_id is None:
            return
        async with self._locks.setdefault(conn.device_id, asyncio.Lock()):
            await self._close_link(conn)
            if self._devices.get(conn.device_id) is conn:
                del self._devices[conn.device_id]

    async def _close_link(self, conn: _Connection) -> None:
        link, conn.link = conn.link, None
        if link is not None:
            await self._blocking(link.close)

    async def _end(self, conn: _Connection) -> None:
        if conn.pump is not None:
            conn.pump.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await conn.pump
        await self._drop_link(conn)
        conn.writer.close()
        with contextlib.suppress(ConnectionError, OSError):
            await conn.writer.wait_closed()


def _offer(queue: asyncio.Queue[bytes], payload: bytes) -> None:
    """Queue a command for a connection; a flood beyond the queue is dropped (commands are not resent)."""
    with contextlib.suppress(asyncio.QueueFull):
        queue.put_nowait(payload)


@contextlib.contextmanager
def serving(gateway: WatchGateway, host: str = "127.0.0.1", port: int = 0) -> Iterator[int]:
    """Run the gateway on an event loop of its own thread; yield its port; end every connection afterwards."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="watch-gateway", daemon=True)
    thread.start()
    try:
        bound = asyncio.run_coroutine_threadsafe(gateway.start(host, port), loop).result(30)
        yield bound
    finally:
        with contextlib.suppress(Exception):
            asyncio.run_coroutine_threadsafe(gateway.close(), loop).result(30)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()
