"""Long lie: a fall followed by no movement at all, the case where help matters most.

A fall (the bracelet's own, or an impact window the classifier confirms) starts a watch. Any sign of
movement — a home sensor event, steps on the bracelet — or the "I'm OK" key ends it. If the watch
lasts ``lie_after``, a ``long_lie`` finding raises the incident's severity. Once per fall.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from alerts.detectors.base import Detector, duration_text, event_time, finding
from alerts.detectors.emergency import FallClassifier, classifier_for
from alerts.detectors.signals import StepWatch, is_activity_event
from alerts.findings import Finding, Observation
from alerts.kinds import Severity
from gateway.contract import Body, FallEvent, ImpactEvent, OkEvent, Telemetry


@dataclass(frozen=True, slots=True)
class _Watch:
    fallen_at: datetime
    device_id: str
    fired: bool = False


class LongLieDetector(Detector):
    """Raise ``long_lie`` when a fall is followed by ``lie_after`` without any movement."""

    kinds = ("long_lie",)

    def __init__(
        self,
        classifier: FallClassifier | None = None,
        lie_after: timedelta = timedelta(minutes=10),
        grace: timedelta = timedelta(seconds=30),
        min_steps: int = 5,
    ) -> None:
        super().__init__()
        self.classifier = classifier
        self.lie_after = lie_after
        self.grace = grace  # sensors still see the fall itself for a few seconds
        self._steps = StepWatch(min_steps)
        self._watches: dict[str, _Watch] = {}

    def observe(self, obs: Observation) -> list[Finding]:
        """Start a watch on a fall; end it on movement or the "I'm OK" key."""
        body, at, rid = obs.record.body, event_time(obs), obs.resident_id
        if self._is_fall(body, self.profile(rid).bracelet_model):
            if rid not in self._watches:
                self._watches[rid] = _Watch(at, obs.record.device_id)
            return []
        watch = self._watches.get(rid)
        moved = is_activity_event(body)
        if isinstance(body, Telemetry):
            moved = self._steps.walked(rid, body)
        # The "I'm OK" key is an answer, at any time; movement counts only once the fall itself is over.
        if watch is not None and (isinstance(body, OkEvent) or (moved and at > watch.fallen_at + self.grace)):
            del self._watches[rid]
        return []

    def tick(self, now: datetime) -> list[Finding]:
        """Raise ``long_lie`` for every fall without movement since ``lie_after``."""
        out = []
        for rid, watch in self._watches.items():
            if not watch.fired and now - watch.fallen_at >= self.lie_after:
                self._watches[rid] = _Watch(watch.fallen_at, watch.device_id, fired=True)
                out.append(self._finding(rid, watch, now))
        return out

    def _is_fall(self, body: Body, model: str | None) -> bool:
        if isinstance(body, FallEvent):
            return True
        return (
            isinstance(body, ImpactEvent)
            and self.classifier is not None
            and classifier_for(self.classifier, model).is_fall(body.samples, body.rate_hz)
        )

    def _finding(self, rid: str, watch: _Watch, now: datetime) -> Finding:
        en, zh = duration_text(now - watch.fallen_at)
        text = (f"fell and no movement since, for {en}", f"跌倒后已{zh}没有任何活动")
        lain_s = (now - watch.fallen_at).total_seconds()
        return finding(
            "long_lie",
            rid,
            now,
            text,
            device_id=watch.device_id,
            severity=Severity.CRITICAL,
            fallen_at=watch.fallen_at.isoformat(),
            lain_s=lain_s,
        )
