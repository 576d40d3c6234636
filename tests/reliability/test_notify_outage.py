"""A family channel down for an hour of simulated time: retries go on, the next contact is told, nothing false."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import psycopg
import pytest

from alerts.kinds import Severity
from dispatch.people import ResidentProfile, save_resident_profile
from dispatch.places import Point
from notify.channels import ChannelSenders
from notify.contacts import Channel, ChannelKind, Contact, Relation, save_contact
from notify.rules import RetryPolicy
from notify.service import FamilyNotifier, Notice, NotifySettings

T0 = datetime(2026, 11, 1, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai: no quiet hours
OUTAGE = timedelta(hours=1)
SECRET = "whsec_" + "dGVzdC1zaWduaW5nLXNlY3JldC1mb3ItYW54aW4="


@dataclass
class FlakyReceiver:
    """A webhook receiver that answers 503 on ``down_path`` until simulated time passes ``up_at``, 200 otherwise."""

    down_path: str
    up_at: datetime
    now: datetime = T0  # the test's simulated clock, set before each run
    answers: list[tuple[datetime, str, int]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def answer(self, path: str) -> int:
        with self.lock:
            code = 503 if path == self.down_path and self.now < self.up_at else 200
            self.answers.append((self.now, path, code))
            return code


@pytest.fixture
def receiver() -> Iterator[tuple[FlakyReceiver, str]]:
    """Serve a flaky receiver on a free loopback port; give it and its base URL."""
    flaky = FlakyReceiver("/son", T0 + OUTAGE)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("content-length", "0")))
            self.send_response(flaky.answer(self.path))
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            del format, args

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield flaky, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_a_channel_down_for_an_hour(db_url: str, receiver: tuple[FlakyReceiver, str]) -> None:
    flaky, base = receiver
    with psycopg.connect(db_url) as conn:
        save_resident_profile(conn, ResidentProfile("r1", "王奶奶", Point(31.23, 121.47)))
        save_contact(conn, "r1", Contact("儿子", Relation.FAMILY, (Channel(ChannelKind.WEBHOOK, f"{base}/son"),)))
        save_contact(
            conn,
            "r1",
            Contact("邻居", Relation.NEIGHBOUR, (Channel(ChannelKind.WEBHOOK, f"{base}/neighbour"),), position=2),
        )
    senders = ChannelSenders(SECRET)
    retry = RetryPolicy()  # the defaults: back-off to 10 min, give up after 2 h
    notifier = FamilyNotifier(
        lambda: psycopg.connect(db_url),
        senders,
        NotifySettings(b"reply-secret-for-tests-0123456789", "https://anxin.test/r/{token}", retry=retry),
    )
    notice = Notice("a1:raised", "r1", "alert_raised", Severity.CRITICAL, alert_id="a1", params={"alert_kind": "sos"})
    try:
        notifier.notify(notice, T0)
        now = T0
        while now < T0 + OUTAGE + timedelta(minutes=15):  # the escalation clock ticks every 5 s; 30 s steps suffice
            now += timedelta(seconds=30)
            flaky.now = now
            notifier.run_due(now)
    finally:
        senders.close()
    with psycopg.connect(db_url) as conn:
        deliveries = {
            name: (state, sent_at, tried)
            for name, state, sent_at, tried in conn.execute(
                "SELECT c.name, d.state, d.sent_at, d.attempts FROM notice_deliveries d"
                " JOIN emergency_contacts c ON c.id = d.contact_id"
            ).fetchall()
        }
        attempts = conn.execute(
            "SELECT c.name, a.at, a.ok, a.detail FROM delivery_attempts a"
            " JOIN notice_deliveries d ON d.id = a.delivery_id JOIN emergency_contacts c ON c.id = d.contact_id"
            " ORDER BY a.id"
        ).fetchall()
    son_503 = [a for a in flaky.answers if a[1] == "/son" and a[2] == 503]
    son_failed = [a for a in attempts if a[0] == "儿子" and not a[2]]
    first_neighbour = min((a[0] for a in flaky.answers if a[1] == "/neighbour"), default=None)
    told_after = first_neighbour - T0 if first_neighbour else None
    print(
        f"\n[notify outage] son: {len(son_503)} answers 503, {len(son_failed)} failed attempts stored, "
        f"delivery {deliveries['儿子']}; neighbour first told after {told_after}, delivery {deliveries.get('邻居')}"
    )
    # Retries went on through the hour (back-off to 10 min: about a dozen tries), each one recorded as failed.
    assert len(son_503) == len(son_failed) >= 8
    assert max(a[1] for a in son_failed) >= T0 + OUTAGE - timedelta(minutes=10)
    # Nothing is marked delivered that was not: every 'sent' has an ok attempt the receiver answered 200 to.
    for name, (state, sent_at, _) in deliveries.items():
        ok = [a for a in attempts if a[0] == name and a[2]]
        assert (state == "sent") == bool(ok) == (sent_at is not None), name
    son_state, son_sent_at, _ = deliveries["儿子"]
    assert son_state == "sent" and son_sent_at >= T0 + OUTAGE, "the son is told once his channel is back"
    # The next contact is told while the first one cannot be reached, within the chain's answer window.
    assert first_neighbour is not None and first_neighbour <= T0 + timedelta(minutes=11)
    assert deliveries["邻居"][0] == "sent"
    assert sum(1 for a in flaky.answers if a[2] == 200) == sum(1 for a in attempts if a[2])
