"""The staff phone and the family page at 390x844 in headless Chromium, in both languages, on the whole platform.

The platform runs as `anxin run` does (ingest, detection, alerts, care with its notifiers, the dashboard);
the bracelets' messages go over Mosquitto. r1's daughter (family1) is told on the outbox, r2's son
(family2) by e-mail with no mail server (so nothing sent to him can arrive). First the family page while
r1's bracelet is not worn, and the settings card (quiet hours changed, still there after a reload);
then two SOS: the operator offers r2's to staff1, whose phone rings until they decline it, saying why
in the page; r2's goes to staff2 (in English); r1's is offered to staff1 again, accepted (the ringing
stops), and carried to its outcome, which the phone confirms. Last, each family page: the case as a
story, "my messages" with the all clear (family1) or "not delivered" (family2). Screens are saved to
``test-artifacts/dashboard/staff-*.png`` and ``family-*.png``.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest

from anxin.platform import Platform, start_platform
from anxin.services import LocalMosquitto
from gateway.contract import Channel, SosEvent, Status, Telemetry, encode, topic
from tests.dashboard.test_e2e import CHROMIUM, SHOTS, WEB, _free_port, pytestmark  # noqa: F401
from tests.dashboard.world import PASSWORD, seed
from tests.reliability.helpers import platform_settings

SCRIPT = Path(__file__).parent / "e2e" / "phone_family.mjs"


@pytest.fixture
def running(db_url: str, mqtt_broker: LocalMosquitto, topic_prefix: str, service_root: Path) -> Iterator[Platform]:
    """Run the whole platform with no mail server: r1's daughter on the outbox, r2's son by e-mail."""
    with psycopg.connect(db_url) as conn:
        seed(conn)
        for rid, kind, target in (("r1", "outbox", "family1-box"), ("r2", "email", "son@example.org")):
            conn.execute(
                "INSERT INTO contact_channels (contact_id, position, kind, target)"
                " SELECT id, 1, %s, %s FROM emergency_contacts WHERE resident_id = %s",
                (kind, target, rid),
            )
        conn.execute("UPDATE residents SET phone = '02888880001' WHERE id = 'r1'")
        conn.execute("UPDATE residents SET phone = '02888880002' WHERE id = 'r2'")
    settings = platform_settings(
        db_url,
        mqtt_broker.url,
        topic_prefix,
        service_root / f"phone-{topic_prefix.split('/', maxsplit=1)[0]}",
        http_port=_free_port(),
        care_interval_s=0.5,
    )
    with start_platform(settings) as platform:
        yield platform


def _wait(what: str, found: Any, timeout: float = 20.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = found()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"{what}: not within {timeout} s")


def _browser(base: str, phase: str) -> dict[str, Any]:
    env = {**os.environ, "BASE_URL": base, "SHOTS": str(SHOTS), "PASSWORD": PASSWORD, "ANXIN_WEB": str(WEB)}
    env |= {"CHROMIUM": CHROMIUM, "PHASE": phase}
    run = subprocess.run(["node", str(SCRIPT)], env=env, capture_output=True, text=True, timeout=300, check=False)
    lines = run.stdout.strip().splitlines()
    result: dict[str, Any] = json.loads(lines[-1]) if lines else {"error": "no output"}
    assert result.get("ok"), f"{result.get('error')}\n{run.stderr[-4000:]}"
    return result


def test_the_staff_phone_rings_and_the_family_reads_the_truth(
    running: Platform, topic_prefix: str, db_url: str
) -> None:
    assert running.dashboard_url is not None
    base = running.dashboard_url.rstrip("/")
    operator = httpx.Client(base_url=base, timeout=15)
    assert operator.post("/api/auth/login", json={"username": "operator", "password": PASSWORD}).is_success
    now = datetime.now(UTC)
    device = "b-r1"
    running.bus.publish(
        topic(device, Channel.STATUS, topic_prefix), encode(Status(seq=1, ts=now, state="online")), qos=1
    )
    worn = Telemetry(seq=2, ts=now, battery=80, worn=False, steps=0)
    running.bus.publish(topic(device, Channel.TELEMETRY, topic_prefix), encode(worn), qos=1)
    _wait("the bracelet seen off the wrist", lambda: operator.get(f"/api/devices/{device}").json().get("worn") is False)

    SHOTS.mkdir(parents=True, exist_ok=True)
    before = _browser(base, "before")
    for lang in ("zh", "en"):
        assert before[lang]["braceletCode"] == "not_worn", before
        assert not before[lang]["saysAllWell"], "no 'all is well' while the bracelet is not worn"
    assert before["zh"]["quietAfterReload"] == ["22:30", "06:45"]
    assert before["zh"]["badChannelSays"] == "第 2 个通知方式：电子邮件地址无效"

    for seq, rid in ((3, "r2"), (4, "r1")):
        sos = SosEvent(kind="sos", seq=seq, ts=datetime.now(UTC))
        running.bus.publish(topic(f"b-{rid}", Channel.EVENT, topic_prefix), encode(sos), qos=1)
    _wait("both SOS on the queue", lambda: len(operator.get("/api/alerts?open_only=true").json()) >= 2)
    after = _browser(base, "after")
    zh, en = after["staff"]["zh"], after["staff"]["en"]
    assert zh["ringing"] and zh["rings"] >= 1 and not zh["ringingAfterDecline"], zh
    assert zh["declineAsks"] and zh["declineReasons"] >= 4 and not after["promptUsed"]
    assert zh["arriveBy"].startswith("请在 ") and "分钟）" in zh["arriveBy"], zh
    assert zh["calls"] == ["呼叫老人 陈奶奶", "呼叫家属 陈奶奶的女儿"], zh
    assert zh["ringingAfterAccept"] is False and "处置结果已提交" in zh["done"], zh
    assert en["ringing"] and en["arriveBy"].startswith("Arrive by ") and " min)" in en["arriveBy"], en
    assert en["calls"] == ["Call 赵爷爷", "Call 赵爷爷的女儿 (family)"], en
    assert "Outcome recorded" in en["done"], en
    assert zh["acceptFontPx"] >= 20 > zh["declineFontPx"] and zh["bodyFontPx"] >= 16, zh
    assert zh["declineGapPx"] >= 24, "decline stands apart from accept"

    fam1, fam2 = after["family1"], after["family2"]
    assert any("王护理" in line and "到达" in line for line in fam1["zh"]["story"]), fam1
    assert any("arrived" in line for line in fam1["en"]["story"]), fam1
    assert any("解除警报" in m for m in fam1["zh"]["messages"]), fam1
    assert fam1["zh"]["outboxStates"][0] == "已送达「我的消息」", fam1
    assert any(s.startswith("未能送达：平台没有配置邮件服务器") for s in fam2["zh"]["states"]), fam2
    assert any(s.startswith("Not delivered: the platform has no mail server") for s in fam2["en"]["states"]), fam2
    for fam in (fam1, fam2):
        assert not fam["zh"]["saysAllWell"] and fam["zh"]["bodyFontPx"] >= 16
    with psycopg.connect(db_url) as conn:
        (declined,) = conn.execute(
            "SELECT decline_reason FROM dispatch_assignments WHERE state = 'declined'"
        ).fetchone()
    assert declined.startswith("离得太远"), declined
    for name in ("staff-offer-zh", "staff-decline-zh", "staff-done-zh", "staff-offer-en", "staff-done-en"):
        assert (SHOTS / f"{name}.png").stat().st_size > 5000, name
    for name in ("family-bracelet-zh", "family-settings-zh", "family-story-zh", "family-story-en"):
        assert (SHOTS / f"{name}.png").stat().st_size > 5000, name
    for name in ("family-undelivered-zh", "family-undelivered-en", "family-bracelet-en"):
        assert (SHOTS / f"{name}.png").stat().st_size > 5000, name
