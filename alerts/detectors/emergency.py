"""The resident's own alarms: the SOS key, the bracelet's fall detection, and a fall read from an impact window.

Each raises a critical finding at once. The "I'm OK" key answers them: pressed within ``cancel_window``
it produces a ``cancels`` finding for every pending alarm of the resident, which the alert service
records on the open alert; pressed later it is still reported, as a note that leaves the alert open.
Nothing the resident pressed is silently dropped.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol, runtime_checkable

from alerts.detectors.base import Detector, duration_text, event_time, finding
from alerts.findings import Finding, Observation
from alerts.kinds import Severity
from gateway.contract import FallEvent, ImpactEvent, OkEvent, SosEvent

Samples = Sequence[tuple[float, float, float]]


class FallClassifier(Protocol):
    """Confirm or reject a fall from a raw accelerometer window (see ``alerts.fall_model``)."""

    def score(self, samples: Samples, rate_hz: float) -> float:
        """Return how much the window looks like a fall, higher is more."""
        ...

    def is_fall(self, samples: Samples, rate_hz: float) -> bool:
        """Tell whether the window is a fall."""
        ...


@runtime_checkable
class CalibratedClassifier(Protocol):
    """A classifier that holds per-bracelet-model calibrations (`alerts.fall_model.FallClassifier`)."""

    def for_model(self, model: str | None) -> FallClassifier:
        """Return the classifier calibrated for a bracelet model, or the default one."""
        ...


def classifier_for(classifier: FallClassifier, model: str | None) -> FallClassifier:
    """Return the classifier as it applies to a bracelet of ``model`` (its calibration, else the default)."""
    return classifier.for_model(model) if isinstance(classifier, CalibratedClassifier) else classifier


@dataclass(frozen=True, slots=True)
class Alarm:
    """An alarm a message raised: its kind, explanation and details."""

    kind: str
    text: tuple[str, str]
    details: dict[str, object]


@dataclass(frozen=True, slots=True)
class _Pending:
    kind: str
    at: datetime
    device_id: str


class _KeyedAlarmDetector(Detector):
    """Raise an alarm at once, and let the "I'm OK" key answer it."""

    def __init__(
        self,
        cancel_window: timedelta = timedelta(seconds=60),
        late_ok_horizon: timedelta = timedelta(minutes=30),
        repeat_window: timedelta = timedelta(minutes=2),
    ) -> None:
        super().__init__()
        self.cancel_window = cancel_window
        self.late_ok_horizon = late_ok_horizon  # an OK this late still reaches the operator
        self.repeat_window = repeat_window  # presses and duplicate deliveries inside it are one episode
        self._pending: dict[str, dict[str, _Pending]] = {}

    def _alarm(self, obs: Observation) -> Alarm | None:
        """Return the alarm this observation raises, if any."""
        raise NotImplementedError

    def observe(self, obs: Observation) -> list[Finding]:
        """Raise an alarm, or answer pending alarms when the "I'm OK" key was pressed."""
        if isinstance(obs.record.body, OkEvent):
            return self._answer(obs)
        alarm = self._alarm(obs)
        if alarm is None:
            return []
        at = event_time(obs)
        pending = self._pending.setdefault(obs.resident_id, {})
        earlier = pending.get(alarm.kind)
        if earlier is not None and at - earlier.at < self.repeat_window:
            return []
        pending[alarm.kind] = _Pending(alarm.kind, at, obs.record.device_id)
        return [
            finding(
                alarm.kind,
                obs.resident_id,
                at,
                alarm.text,
                device_id=obs.record.device_id,
                severity=Severity.CRITICAL,
                details=alarm.details,
            )
        ]

    def tick(self, now: datetime) -> list[Finding]:
        """Forget alarms too old for an "I'm OK" to matter."""
        for pending in self._pending.values():
            for kind in [k for k, p in pending.items() if now - p.at > self.late_ok_horizon]:
                del pending[kind]
        return []

    def _answer(self, obs: Observation) -> list[Finding]:
        at = event_time(obs)
        pending = self._pending.pop(obs.resident_id, {})
        return [self._answer_one(obs.resident_id, p, at) for p in pending.values() if at - p.at <= self.late_ok_horizon]

    def _answer_one(self, resident_id: str, pending: _Pending, at: datetime) -> Finding:
        after_en, after_zh = duration_text(at - pending.at)
        window_en, window_zh = duration_text(self.cancel_window)
        if at - pending.at <= self.cancel_window:
            text = (
                f'resident pressed "I\'m OK" {after_en} after the {pending.kind}; cancelled by the resident',
                f"老人在{pending.kind}后{after_zh}按下“我没事”键，已由老人取消",
            )
            return finding(
                pending.kind,
                resident_id,
                at,
                text,
                device_id=pending.device_id,
                cancels=True,
                ok_after_s=(at - pending.at).total_seconds(),
            )
        text = (
            f'resident pressed "I\'m OK" {after_en} after the {pending.kind}, outside the {window_en} '
            "cancel window; the alert stays open — call to confirm",
            f"老人在{pending.kind}后{after_zh}按下“我没事”键，已超过{window_zh}取消时限，警报保持开启，请致电确认",
        )
        return finding(
            pending.kind,
            resident_id,
            at,
            text,
            device_id=pending.device_id,
            ok_late=True,
            ok_after_s=(at - pending.at).total_seconds(),
        )


class SosDetector(_KeyedAlarmDetector):
    """Raise a critical finding the moment the SOS key is pressed."""

    kinds = ("sos",)

    def _alarm(self, obs: Observation) -> Alarm | None:
        if not isinstance(obs.record.body, SosEvent):
            return None
        return Alarm("sos", ("SOS key pressed", "老人按下紧急呼叫键"), {})


class FallDetector(_KeyedAlarmDetector):
    """Raise a critical finding when the bracelet reports a fall of its own."""

    kinds = ("fall",)

    def _alarm(self, obs: Observation) -> Alarm | None:
        body = obs.record.body
        if not isinstance(body, FallEvent):
            return None
        sure = "" if body.confidence is None else f" (confidence {body.confidence:.0%})"
        sure_zh = "" if body.confidence is None else f"（置信度{body.confidence:.0%}）"
        return Alarm(
            "fall", (f"bracelet detected a fall{sure}", f"手环检测到跌倒{sure_zh}"), {"confidence": body.confidence}
        )


class ImpactFallDetector(_KeyedAlarmDetector):
    """Raise a critical finding when the classifier confirms a fall in a bracelet's impact window."""

    kinds = ("fall",)

    def __init__(self, classifier: FallClassifier, **windows: timedelta) -> None:
        super().__init__(**windows)
        self.classifier = classifier

    def _alarm(self, obs: Observation) -> Alarm | None:
        body = obs.record.body
        if not isinstance(body, ImpactEvent):
            return None
        model = self.profile(obs.resident_id).bracelet_model
        classifier = classifier_for(self.classifier, model)  # the bracelet model's calibration, if it has one
        if not classifier.is_fall(body.samples, body.rate_hz):
            return None
        score = classifier.score(body.samples, body.rate_hz)
        text = (
            f"impact recorded by the bracelet looks like a fall (classifier score {score:.2f})",
            f"手环记录的撞击经分类器判断为跌倒（得分{score:.2f}）",
        )
        return Alarm("fall", text, {"score": score, "source": "impact", "bracelet_model": model})
