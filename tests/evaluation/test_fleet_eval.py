"""The fleet evaluation: a tiny simulated run end to end, and the matching of findings to incidents."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from alerts.detectors.base import finding
from alerts.findings import Finding
from evaluation.fleet_eval import EXPECTED, FleetRun, alert_key, evaluate_fleet, registry_of, score
from gateway.contract import BedEvent, Channel, Record
from simulators.fleet import build_fleet
from simulators.incidents import INCIDENT_KINDS
from simulators.messages import Truth

TINY = FleetRun(residents=5, learn_days=2, eval_days=1, seed=7, incidents={"sos": 1, "fall": 1})
FIGURES = ("precision", "recall", "median_delay_min", "p90_delay_min", "incidents", "findings")


@pytest.fixture(scope="module")
def tiny_report() -> dict[str, Any]:
    """Run five residents for two learning days and one evaluated day with an SOS and a fall."""
    return evaluate_fleet(TINY)


def test_tiny_run_is_well_formed(tiny_report: dict[str, Any]) -> None:
    assert tiny_report["bench"] == "fleet"
    assert (tiny_report["residents"], tiny_report["days"]) == (5, 1)
    assert tiny_report["messages"] > 10_000
    assert tiny_report["rejected"] == 0
    assert tiny_report["learned_from"] > 0
    assert tiny_report["incidents"] == 2
    for kind, figures in tiny_report["per_kind"].items():
        assert set(FIGURES) <= set(figures), kind


def test_tiny_run_detects_the_sos_and_the_fall(tiny_report: dict[str, Any]) -> None:
    per_incident = tiny_report["per_incident"]
    assert per_incident["sos"]["recall"] == 1.0
    assert per_incident["fall"]["recall"] == 1.0
    sos = tiny_report["per_kind"]["sos"]
    assert sos["recall"] == 1.0
    assert sos["precision"] == 1.0
    assert sos["median_delay_min"] is not None
    assert sos["median_delay_min"] < 1


T0 = datetime(2026, 3, 10, 2, tzinfo=UTC)
RUN = FleetRun(residents=2, learn_days=0, eval_days=1, start=T0 - timedelta(hours=2))


def _truth(kind: str, resident: str = "r0000", minutes: float = 30) -> Truth:
    start = T0.timestamp()
    return Truth(start, resident, f"{resident}-bracelet", kind, start, start + minutes * 60)


def _finding(kind: str, after_min: float, resident: str = "r0000", **extra: Any) -> Finding:
    return finding(kind, resident, T0 + timedelta(minutes=after_min), ("x", "x"), **extra)


def test_findings_match_incidents_by_resident_kind_and_time() -> None:
    truths = [_truth("fall"), _truth("sos", "r0001", 0)]
    findings = [
        _finding("fall", 0.1),
        _finding("long_lie", 10.5),
        _finding("inactivity", 25),  # accepted during a fall, not expected of it
        _finding("sos", 0, "r0001"),
        _finding("sos", 0),  # the wrong resident: a false positive
        _finding("fall", 120),  # long after the fall ended: a false positive
    ]
    report = score(truths, findings, RUN)
    fall, long_lie, sos = (report["per_kind"][k] for k in ("fall", "long_lie", "sos"))
    assert (fall["precision"], fall["recall"], fall["median_delay_min"]) == (0.5, 1.0, 0.1)
    assert (long_lie["recall"], long_lie["median_delay_min"]) == (1.0, 10.5)
    assert (sos["precision"], sos["recall"]) == (0.5, 1.0)
    assert report["per_kind"]["inactivity"]["false_positives"] == 0
    assert report["false_positives"] == 2
    assert report["per_incident"]["fall"]["answered_by"] == {"fall": 1, "long_lie": 1}


def test_a_missed_incident_counts_against_recall() -> None:
    report = score([_truth("tachycardia")], [_finding("heart_rate_low", 5)], RUN)
    assert report["per_kind"]["heart_rate_high"]["recall"] == 0.0
    assert report["per_kind"]["heart_rate_low"]["precision"] == 0.0
    assert report["per_incident"]["tachycardia"]["median_delay_min"] is None


def test_only_the_ok_key_answering_an_alarm_scores_as_a_cancel() -> None:
    assert alert_key(_finding("sos", 0.5, cancels=True, ok_after_s=30.0)) == "cancel"
    assert alert_key(_finding("smoke", 5, cancels=True)) is None
    assert alert_key(_finding("sos", 0)) == "sos"
    report = score(
        [_truth("ok_cancel", minutes=0.5)],
        [_finding("fall", 0), _finding("fall", 0.5, cancels=True, ok_after_s=30.0)],
        RUN,
    )
    assert report["per_kind"]["cancel"]["recall"] == 1.0
    assert report["false_positives"] == 0


def test_every_incident_kind_of_the_simulator_has_an_expectation() -> None:
    assert set(EXPECTED) == set(INCIDENT_KINDS)


def test_the_registry_attributes_relayed_sensors_to_their_resident() -> None:
    fleet = build_fleet(6, seed=7)
    registry, profiles = registry_of(fleet)
    home = next(r for r in fleet if r.home.hub_id is not None)
    body = BedEvent(kind="bed", seq=1, ts=T0, state="occupied", sensor_id=f"{home.resident_id}-bed")
    assert registry.attribute(Record(home.home.hub_id or "", Channel.EVENT, body)).resident_id == home.resident_id
    assert {p.resident_id for p in profiles} == {r.resident_id for r in fleet}
    assert all(p.bracelet_id == f"{p.resident_id}-bracelet" for p in profiles)
