"""The detection pipeline: urgent records before queued batches, findings kept until the alert service takes them."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from alerts.detectors import DetectorSet, InactivityDetector, ResidentProfile, SosDetector
from alerts.findings import Finding
from alerts.pipeline import DetectionPipeline, relearn_due
from gateway.contract import Channel, Record, SosEvent, Telemetry
from ingest.worker import Stored
from tests.alerts.detector_factories import PROFILE, RID, START, normal_week

T0 = datetime(2026, 11, 1, 9, tzinfo=UTC)


def _stored(body: SosEvent | Telemetry) -> Stored:
    return Stored(
        Record("r1-bracelet", Channel.EVENT if isinstance(body, SosEvent) else Channel.TELEMETRY, body), "r1", None, T0
    )


def _detectors() -> DetectorSet:
    detectors = DetectorSet([SosDetector()])
    detectors.register_resident(ResidentProfile("r1", bracelet_id="r1-bracelet", devices=("r1-bracelet",)))
    return detectors


def _wait(predicate: object, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():  # type: ignore[operator]
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def test_an_urgent_record_is_detected_before_queued_telemetry() -> None:
    order: list[str] = []
    pipeline = DetectionPipeline(_detectors(), lambda fs: order.extend(f.kind for f in fs), lambda: T0)
    batch = [_stored(Telemetry(seq=i, ts=T0 + timedelta(seconds=i), battery=80, worn=True)) for i in range(20_000)]
    for _ in range(5):
        pipeline.submit(batch)
    pipeline.submit_urgent([_stored(SosEvent(kind="sos", seq=99_999, ts=T0))])
    stop = threading.Event()
    thread = threading.Thread(target=pipeline.run, args=(stop,))
    started = time.monotonic()
    thread.start()
    _wait(lambda: order == ["sos"])
    first = time.monotonic() - started
    stop.set()
    thread.join()
    assert first < 2.0  # the 100 000 queued telemetry records did not go first


def test_findings_are_kept_and_retried_while_the_alert_service_fails() -> None:
    handled: list[Finding] = []
    failures = [2]

    def handle(findings: Sequence[Finding]) -> None:
        if failures[0] > 0:
            failures[0] -= 1
            raise ConnectionError("database down")
        handled.extend(findings)

    pipeline = DetectionPipeline(_detectors(), handle, lambda: T0)
    pipeline.retry_s = 0.05
    stop = threading.Event()
    thread = threading.Thread(target=pipeline.run, args=(stop,))
    thread.start()
    pipeline.submit_urgent([_stored(SosEvent(kind="sos", seq=1, ts=T0))])
    _wait(lambda: len(handled) == 1)
    stop.set()
    thread.join()
    assert handled[0].kind == "sos"
    assert failures[0] == 0


def test_relearn_is_due_once_a_night_after_three() -> None:
    learned = datetime(2026, 12, 5).date()
    assert not relearn_due(datetime(2026, 12, 5, 23, 0), learned)  # the same day
    assert not relearn_due(datetime(2026, 12, 6, 2, 59), learned)  # the next night, too early
    assert relearn_due(datetime(2026, 12, 6, 3, 0), learned)
    assert relearn_due(datetime(2026, 12, 8, 14, 0), learned)  # a night missed: at once


def test_relearning_gives_a_resident_added_since_the_start_a_routine() -> None:
    detector = InactivityDetector()
    detector.register_resident(PROFILE)
    pipeline = DetectionPipeline(DetectorSet([detector]), lambda found: None, lambda: START)
    assert detector.routine(RID) is None  # learned nothing at the start: fixed limits only
    pipeline.relearn(normal_week(START - timedelta(days=14), seed=3, days=14))
    assert detector.routine(RID) is not None
