"""Score the detectors on the simulated fleet, whose ground truth is known.

The simulator's pure message stream — no broker, no database — is decoded by the contract as ingest
decodes it (``now`` is the message's own time), attributed to residents by the fleet's registry
document, and fed in device-time order to a `DetectorSet` that ticks every simulated minute.

The first ``learn_days`` are normal life, without incidents: their home events are the history the
detectors learn their baselines from (at the start of the evaluation), and their last ``warm_up`` runs
through the detectors to set their live state; their findings are not scored. Incidents are injected
only in the ``eval_days`` after. A finding matches an incident of its resident when `EXPECTED` accepts
its kind for the incident's kind and it falls inside the incident's span, with a little slack either
side; a finding that matches no incident is a false positive. Recall per alert kind counts the
incidents that expect that kind; the figures per incident kind count an incident as detected when any
of its expected kinds answered it.

Pure but for reading the shipped fall model: nothing is written, no clock is read.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Final

from alerts.detectors import DetectorSet, FallClassifier, ResidentProfile, standard_detectors
from alerts.detectors.base import profiles_for
from alerts.findings import Finding, Observation
from anxin.fleet import fleet_devices
from gateway.contract import Channel, decode
from gateway.errors import ContractError
from gateway.registry import Registry
from simulators.fleet import Resident
from simulators.messages import Message, Truth, device_time
from simulators.model import Simulation, World
from simulators.schedule import IncidentSpec, Schedule

CANCEL: Final = "cancel"  # pseudo alert kind: an alarm the resident answered with the "I'm OK" key
CANCELLABLE: Final = frozenset({"sos", "fall"})
SILENCE_KINDS: Final = ("inactivity", "not_up", "no_activity_today", "bathroom_too_long")
START: Final = datetime(2026, 3, 1, 16, tzinfo=UTC)  # local (UTC+8) midnight: whole simulated days
PREFIX: Final = "ec/v1"


@dataclass(frozen=True, slots=True)
class Expectation:
    """What an incident kind should raise (``alerts``) and what it may raise besides (``also``)."""

    alerts: tuple[str, ...]
    also: tuple[str, ...] = ()

    @property
    def accepted(self) -> frozenset[str]:
        """Return every alert kind that is no false positive during such an incident."""
        return frozenset(self.alerts + self.also)


EXPECTED: Final[Mapping[str, Expectation]] = {
    "fall": Expectation(("fall", "long_lie"), also=SILENCE_KINDS),
    "sos": Expectation(("sos",)),
    "ok_cancel": Expectation((CANCEL,), also=("sos", "fall")),  # the alarm itself came from the device
    "unwell_in_bed": Expectation(("not_up", "inactivity", "no_activity_today")),
    "stuck_in_bathroom": Expectation(("bathroom_too_long", "inactivity")),
    "night_wandering": Expectation(("night_wandering",)),
    "tachycardia": Expectation(("heart_rate_high",)),
    "bradycardia": Expectation(("heart_rate_low",)),
    "low_spo2": Expectation(("spo2_low",)),
    "smoke": Expectation(("smoke",)),
    "gas": Expectation(("gas",)),
    "water_leak": Expectation(("water_leak",)),
    "power_loss": Expectation(("device_offline",)),
    "clean_disconnect": Expectation(("device_offline",)),
    "low_battery": Expectation(("battery_low",)),
    "not_worn_all_day": Expectation(("not_worn",)),
}


@dataclass(frozen=True, slots=True)
class FleetRun:
    """How big a run is, and how findings are matched to incidents."""

    residents: int = 50
    learn_days: int = 14
    eval_days: int = 7
    seed: int = 7
    incidents: Mapping[str, int] | None = None  # None: `per_kind_default` of every kind in `EXPECTED`
    tick: timedelta = timedelta(minutes=1)
    warm_up: timedelta = timedelta(days=1)  # the end of the learning period the detectors also run through
    before: timedelta = timedelta(minutes=2)  # a finding this early still matches (impact window precedes)
    after: timedelta = timedelta(minutes=15)  # nor does one this late after the end count as false
    start: datetime = START

    @property
    def eval_start(self) -> datetime:
        """Return when the evaluation period starts."""
        return self.start + timedelta(days=self.learn_days)

    @property
    def end(self) -> datetime:
        """Return when the run ends."""
        return self.eval_start + timedelta(days=self.eval_days)

    def incident_counts(self) -> Mapping[str, int]:
        """Return how many incidents of each kind to inject."""
        if self.incidents is not None:
            return self.incidents
        return dict.fromkeys(EXPECTED, per_kind_default(self.residents, self.eval_days))


def per_kind_default(residents: int, eval_days: int) -> int:
    """Return how many incidents of each kind a run injects: about one per 50 resident-days."""
    return max(1, round(residents * eval_days / 50))


@dataclass(slots=True)
class Replay:
    """What a run produced: the ground truth, the scored findings, and counts of the stream."""

    truths: list[Truth] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    messages: int = 0
    rejected: int = 0
    learned_from: int = 0


def evaluate_fleet(
    run: FleetRun, classifier: FallClassifier | None = None, model: Path | None = None
) -> dict[str, Any]:
    """Run the fleet, score the findings against the ground truth, and return the report record.

    Without a ``classifier`` the fall model at ``model`` (default: the shipped one) confirms impacts.
    """
    if classifier is None:
        from alerts.fall_model import load_fall_classifier  # noqa: PLC0415 — sklearn is slow to import

        classifier = load_fall_classifier(model)
    replay = replay_fleet(run, classifier)
    return {
        "bench": "fleet",
        "residents": run.residents,
        "days": run.eval_days,
        "learn_days": run.learn_days,
        "seed": run.seed,
        "messages": replay.messages,
        "rejected": replay.rejected,
        "learned_from": replay.learned_from,
        **score(replay.truths, replay.findings, run),
    }


def replay_fleet(run: FleetRun, classifier: FallClassifier | None) -> Replay:
    """Feed the run's message stream to the standard detectors and collect what they find."""
    sim = simulation(run)
    registry, profiles = registry_of(sim.fleet)
    detectors = DetectorSet(standard_detectors(classifier), profiles={p.resident_id: p for p in profiles})
    replayer = _Replayer(registry, detectors, run)
    for item in sim.stream():
        replayer.feed(item)
    replayer.tick_until(run.end.timestamp())
    return replayer.out


def simulation(run: FleetRun) -> Simulation:
    """Build the run's simulation, with incidents scheduled in the evaluation period only."""
    begin, end = run.start.timestamp(), run.end.timestamp()
    sim = Simulation(World(run.residents, run.seed, begin, end))
    spec = IncidentSpec(counts=dict(run.incident_counts()))
    ids = tuple(r.resident_id for r in sim.fleet)
    # Baselines must be learned from normal days: the schedule leaves the learning period alone.
    sim.schedule = Schedule(
        spec, ids, start=run.eval_start.timestamp(), end=end, tz_offset_s=sim.world.tz_offset_s, seed=run.seed
    )
    return sim


def registry_of(fleet: tuple[Resident, ...]) -> tuple[Registry, list[ResidentProfile]]:
    """Turn the simulated fleet into the edge registry and the residents' detector profiles."""
    devices = fleet_devices(fleet)
    return Registry(devices), profiles_for([r.resident_id for r in fleet], devices)


class _Replayer:
    """Feed one run's stream to the detectors, phase by phase, and keep what the evaluation scores."""

    def __init__(self, registry: Registry, detectors: DetectorSet, run: FleetRun) -> None:
        self.registry, self.detectors, self.out = registry, detectors, Replay()
        self.history: list[Observation] | None = []  # None once learned
        self.eval_at, self.step = run.eval_start.timestamp(), run.tick.total_seconds()
        self.warm_at = self.eval_at - run.warm_up.total_seconds()
        self.next_tick = self.warm_at

    def feed(self, item: Message | Truth) -> None:
        """Take the next item of the stream."""
        if isinstance(item, Truth):
            self.out.truths.append(item)
            return
        self.out.messages += 1
        if item.t < self.warm_at:
            # Early learning days: only the home events the baselines are learned from (telemetry is 90 %).
            if item.channel is Channel.EVENT:
                self._remember(self._decode(item))
            return
        self.tick_until(item.t)
        if self.history is not None and item.t >= self.eval_at:
            self.detectors.learn(self.history)
            self.out.learned_from, self.history = len(self.history), None
        obs = self._decode(item)
        if obs is not None:
            self._remember(obs)
            self._keep(self.detectors.observe(obs))

    def tick_until(self, t: float) -> None:
        """Tick every ``step`` up to ``t``."""
        while self.next_tick <= t:
            self._keep(self.detectors.tick(datetime.fromtimestamp(self.next_tick, UTC)))
            self.next_tick += self.step

    def _decode(self, item: Message) -> Observation | None:
        """Decode and attribute one message the way ingest does, or count it rejected."""
        now = device_time(item.t)
        try:
            record = decode(item.topic(PREFIX), item.payload(), now, PREFIX)
            resident = self.registry.attribute(record).resident_id
        except ContractError:
            self.out.rejected += 1
            return None
        return None if resident is None else Observation(resident, record, now)

    def _remember(self, obs: Observation | None) -> None:
        if obs is not None and self.history is not None and obs.record.channel is Channel.EVENT:
            self.history.append(obs)

    def _keep(self, found: Iterable[Finding]) -> None:
        self.out.findings += (f for f in found if f.at.timestamp() >= self.eval_at)


def alert_key(f: Finding) -> str | None:
    """Return the alert kind a finding is scored as, or None for ends of conditions (not alerts)."""
    if not f.cancels:
        return f.kind
    return CANCEL if f.kind in CANCELLABLE and "ok_after_s" in f.details else None


@dataclass(frozen=True, slots=True)
class _Scored:
    """One incident with the findings that answered it, by alert kind: minutes after its start."""

    truth: Truth
    delays: Mapping[str, float]


def score(truths: Sequence[Truth], findings: Sequence[Finding], run: FleetRun) -> dict[str, Any]:
    """Match findings to incidents; return the figures per alert kind and per incident kind."""
    keyed = [(k, f) for f in findings if (k := alert_key(f)) is not None]
    by_resident: dict[str, list[tuple[str, Finding]]] = defaultdict(list)
    for k, f in keyed:
        by_resident[f.resident_id].append((k, f))
    scored = [_answer(t, by_resident[t.resident], run) for t in truths if t.kind in EXPECTED]
    matched = [(k, f) for k, f in keyed if any(_matches(t, k, f, run) for t in truths if t.resident == f.resident_id)]
    resident_days = run.residents * run.eval_days
    return {
        "incidents": len(scored),
        "findings": len(keyed),
        "false_positives": len(keyed) - len(matched),
        "false_per_resident_day": _round(((len(keyed) - len(matched)) / resident_days) if resident_days else None),
        "per_kind": _per_alert_kind(scored, keyed, matched),
        "per_incident": _per_incident_kind(scored),
    }


def _matches(truth: Truth, key: str, f: Finding, run: FleetRun) -> bool:
    expectation = EXPECTED.get(truth.kind)
    if expectation is None or key not in expectation.accepted:
        return False
    at = f.at.timestamp()
    return truth.start - run.before.total_seconds() <= at <= truth.end + run.after.total_seconds()


def _answer(truth: Truth, findings: Sequence[tuple[str, Finding]], run: FleetRun) -> _Scored:
    delays: dict[str, float] = {}
    for key, f in findings:
        if key in EXPECTED[truth.kind].alerts and _matches(truth, key, f, run):
            minutes = max(0.0, (f.at.timestamp() - truth.start) / 60)
            delays[key] = min(delays.get(key, minutes), minutes)
    return _Scored(truth, delays)


def _per_alert_kind(
    scored: Sequence[_Scored], keyed: Sequence[tuple[str, Finding]], matched: Sequence[tuple[str, Finding]]
) -> dict[str, dict[str, Any]]:
    kinds = sorted({k for k, _ in keyed} | {k for s in scored for k in EXPECTED[s.truth.kind].alerts})
    raised = _count(k for k, _ in keyed)
    right = _count(k for k, _ in matched)
    out = {}
    for kind in kinds:
        expecting = [s for s in scored if kind in EXPECTED[s.truth.kind].alerts]
        delays = [s.delays[kind] for s in expecting if kind in s.delays]
        out[kind] = {
            "precision": _ratio(right[kind], raised[kind]),
            "recall": _ratio(len(delays), len(expecting)),
            **_delay_figures(delays),
            "incidents": len(expecting),
            "detected": len(delays),
            "findings": raised[kind],
            "false_positives": raised[kind] - right[kind],
        }
    return out


def _per_incident_kind(scored: Sequence[_Scored]) -> dict[str, dict[str, Any]]:
    out = {}
    for kind in sorted({s.truth.kind for s in scored}):
        these = [s for s in scored if s.truth.kind == kind]
        delays = [min(s.delays.values()) for s in these if s.delays]
        out[kind] = {
            "recall": _ratio(len(delays), len(these)),
            **_delay_figures(delays),
            "incidents": len(these),
            "detected": len(delays),
            "answered_by": dict(sorted(_count(k for s in these for k in s.delays).items())),
        }
    return out


def _count(keys: Iterable[str]) -> dict[str, int]:
    counts: dict[str, int] = defaultdict(int)
    for k in keys:
        counts[k] += 1
    return counts


def _delay_figures(delays: Sequence[float]) -> dict[str, float | None]:
    return {
        "median_delay_min": _round(statistics.median(delays) if delays else None),
        "p90_delay_min": _round(_quantile(delays, 0.9)),
    }


def _quantile(values: Sequence[float], q: float) -> float | None:
    """Return the ``q`` quantile by linear interpolation, or None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    pos = q * (len(ordered) - 1)
    lo = int(pos)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)


def _ratio(hits: int, total: int) -> float | None:
    return round(hits / total, 3) if total else None


def _round(value: float | None, digits: int = 2) -> float | None:
    return None if value is None else round(value, digits)
