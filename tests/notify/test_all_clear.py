"""The family side's policy in words: who hears at once, and how an alert's end reads."""

from __future__ import annotations

from alerts.kinds import Severity
from alerts.lifecycle import Outcome
from dispatch.flow import DISPATCH_OUTCOMES, OUTCOMES
from notify.all_clear import OUTCOME_TEXTS, family_told_at_once, handled_by, how_it_ended


def test_the_family_hears_at_once_of_urgent_alerts_only() -> None:
    assert family_told_at_once(Severity.CRITICAL)
    assert family_told_at_once(Severity.HIGH)
    assert not family_told_at_once(Severity.MEDIUM)


def test_the_end_reads_by_outcome_when_resolved_and_by_who_cancelled_otherwise() -> None:
    assert how_it_ended(True, Outcome.HOSPITAL, "operator") == ("老人已送医", "they were taken to hospital")
    assert how_it_ended(False, None, "resident")[1] == "they pressed the I'm OK key"
    assert how_it_ended(False, None, "operator")[1] == "the dispatch centre checked and cancelled it"
    assert how_it_ended(True, None, "operator")[1] == "it has been dealt with"  # no outcome recorded
    assert handled_by("王芳") == ("服务站王芳已上门。", "王芳 from the service station was with them. ")
    assert handled_by(None) == ("", "")


def test_every_dispatch_outcome_closes_the_alert_with_an_outcome_the_all_clear_can_say() -> None:
    assert set(DISPATCH_OUTCOMES) == set(OUTCOMES)
    assert all(outcome in OUTCOME_TEXTS for outcome in DISPATCH_OUTCOMES.values())
