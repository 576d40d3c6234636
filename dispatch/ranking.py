"""Rank staff for an alert by estimated arrival against the resident's promise (15 min city, 30 countryside).

Pure: staff positions, the resident's place and the time come in; a ranking with reasons goes out.
The estimate is deliberately simple and explainable to an operator: great-circle distance times a road
factor, at the area's travel speed, plus the time it takes to get going. A staff member's last known
location counts while it is fresh; otherwise they are assumed to be at their station.

The estimate is rounded up to whole minutes once, here, so that it never sounds better than it is; the
margin against the promise, the lead over the fastest and the verdict are all worked out from that one
number. Reasons and the summary are codes with parameters (`Reason`, `Summary`) that pages translate; the
English and Chinese sentences derived from them are only the record stored with an assignment.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from types import MappingProxyType
from typing import Final

from dispatch.places import AreaType, Point, ResidentPlace, StaffMember, StaffStatus, great_circle_km


@dataclass(frozen=True, slots=True)
class AreaTravel:
    """How fast staff travel in an area, how much longer roads are than the straight line, the promise."""

    speed_kmh: float
    road_factor: float
    promise: timedelta


DEFAULT_AREAS: Final[Mapping[AreaType, AreaTravel]] = MappingProxyType(
    {
        # An electric scooter in city traffic; a car on county roads.
        AreaType.CITY: AreaTravel(speed_kmh=20.0, road_factor=1.4, promise=timedelta(minutes=15)),
        AreaType.COUNTRYSIDE: AreaTravel(speed_kmh=40.0, road_factor=1.3, promise=timedelta(minutes=30)),
    }
)


@dataclass(frozen=True, slots=True)
class RankingPolicy:
    """The knobs of the arrival estimate."""

    areas: Mapping[AreaType, AreaTravel] = field(default_factory=lambda: DEFAULT_AREAS)
    preparation: timedelta = timedelta(minutes=3)
    location_fresh_for: timedelta = timedelta(minutes=20)

    def travel(self, area: AreaType) -> AreaTravel:
        """Return the travel figures of an area."""
        return self.areas[area]


class Verdict(StrEnum):
    """What the ranking tells the operator to do."""

    IN_TIME = "in_time"  # send the top candidate
    NONE_IN_TIME = "none_in_time"  # send the best anyway, and say the promise will be missed
    NOBODY_AVAILABLE = "nobody_available"  # escalate: nobody on shift can go


class Lead(StrEnum):
    """How a candidate compares with the fastest one."""

    FASTEST = "fastest"  # rank 1
    AS_FAST = "as_fast"  # the same whole-minute estimate as the fastest, ranked later by distance or id
    SLOWER = "slower"  # ``behind_min`` minutes slower than the fastest


@dataclass(frozen=True, slots=True)
class Reason:
    """Why a candidate ranks where they do, as a code with parameters (pages build the sentence)."""

    lead: Lead
    origin: str  # "last_known" or "station"
    road_km: float  # to one decimal
    eta_min: int
    promise_min: int
    margin_min: int  # minutes to spare at arrival; negative when late
    behind_min: int  # minutes slower than the fastest; 0 for the fastest
    fastest: str  # the fastest candidate's name


@dataclass(frozen=True, slots=True)
class Candidate:
    """One staff member who could go, with the estimate and why they rank where they do."""

    staff: StaffMember
    rank: int
    origin: str  # "last_known" or "station": where the estimate starts
    road_km: float
    eta: timedelta  # whole minutes, rounded up once
    arrives_at: datetime
    in_time: bool
    margin: timedelta  # deadline minus arrival, in whole minutes (rounded down); negative when late
    reason: Reason

    @property
    def eta_min(self) -> int:
        """Return the estimate in whole minutes."""
        return int(self.eta.total_seconds() // 60)

    @property
    def margin_min(self) -> int:
        """Return the minutes to spare at arrival (negative when late)."""
        return int(self.margin.total_seconds() // 60)

    @property
    def reason_en(self) -> str:
        """Return the reason in English, as stored with an assignment."""
        return _reason_text(self.reason, "en")

    @property
    def reason_zh(self) -> str:
        """Return the reason in Chinese, as stored with an assignment."""
        return _reason_text(self.reason, "zh")


class LeftOut(StrEnum):
    """Why a staff member is not ranked."""

    EXCLUDED = "excluded"  # already declined, timed out or could not be reached for this alert
    ON_TASK = "on_task"
    OFF_SHIFT = "off_shift"
    NO_SHIFT = "no_shift"


@dataclass(frozen=True, slots=True)
class PassedOver:
    """A staff member left out of the ranking, and why."""

    staff: StaffMember
    code: LeftOut

    @property
    def reason_en(self) -> str:
        """Return the reason in English."""
        return _LEFT_OUT[self.code][0]

    @property
    def reason_zh(self) -> str:
        """Return the reason in Chinese."""
        return _LEFT_OUT[self.code][1]


@dataclass(frozen=True, slots=True)
class Summary:
    """What the operator should do, as a code (the verdict) with parameters."""

    verdict: Verdict
    promise_min: int
    name: str | None = None  # the best candidate
    eta_min: int | None = None
    margin_min: int | None = None  # negative when late


@dataclass(frozen=True, slots=True)
class Ranking:
    """Everyone who could go, best first, and the verdict."""

    resident: ResidentPlace
    now: datetime
    promise: timedelta
    deadline: datetime
    candidates: tuple[Candidate, ...]
    passed_over: tuple[PassedOver, ...]
    verdict: Verdict
    summary: Summary

    @property
    def summary_en(self) -> str:
        """Return the summary in English."""
        return _summary_text(self.summary, "en")

    @property
    def summary_zh(self) -> str:
        """Return the summary in Chinese."""
        return _summary_text(self.summary, "zh")

    @property
    def best(self) -> Candidate | None:
        """Return the top candidate, if anyone can go."""
        return self.candidates[0] if self.candidates else None

    @property
    def must_escalate(self) -> bool:
        """Tell whether nobody can go and a supervisor must act."""
        return self.verdict is Verdict.NOBODY_AVAILABLE


_LEFT_OUT: Final[Mapping[LeftOut, tuple[str, str]]] = MappingProxyType(
    {
        LeftOut.EXCLUDED: ("already declined or could not be reached for this alert", "本次任务已拒绝或无法联系"),
        LeftOut.ON_TASK: ("on another task", "正在执行其他任务"),
        LeftOut.OFF_SHIFT: ("off shift", "不在班"),
        LeftOut.NO_SHIFT: ("not on a shift now", "当前无排班"),
    }
)


def rank(
    resident: ResidentPlace,
    staff: Iterable[StaffMember],
    *,
    raised_at: datetime,
    now: datetime,
    policy: RankingPolicy,
    exclude: frozenset[str] = frozenset(),
) -> Ranking:
    """Rank the staff who can go now by estimated arrival; the promise clock runs from ``raised_at``."""
    travel = policy.travel(resident.area_type)
    deadline = raised_at + travel.promise
    able, passed = [], []
    for member in staff:
        why = _left_out_because(member, exclude)
        if why is None:
            able.append(member)
        else:
            passed.append(PassedOver(member, why))
    estimates = sorted((_estimate(m, resident, now, policy) for m in able), key=_order)
    frame = _Frame(now, deadline, travel)
    candidates = tuple(_candidate(i + 1, est, estimates[0], frame) for i, est in enumerate(estimates))
    verdict = _verdict(candidates)
    summary = _summary(verdict, candidates, travel)
    return Ranking(resident, now, travel.promise, deadline, candidates, tuple(passed), verdict, summary)


def _left_out_because(member: StaffMember, exclude: frozenset[str]) -> LeftOut | None:
    """Return why a staff member cannot be sent, or None when they can."""
    if member.id in exclude:
        return LeftOut.EXCLUDED
    if member.status is not StaffStatus.AVAILABLE:
        return LeftOut(member.status.value)  # on_task, off_shift
    return None if member.on_shift else LeftOut.NO_SHIFT


@dataclass(frozen=True, slots=True)
class _Estimate:
    """One staff member's estimated arrival."""

    staff: StaffMember
    road_km: float
    eta: timedelta
    origin: str


@dataclass(frozen=True, slots=True)
class _Frame:
    """The moment of ranking, the deadline and the area's travel figures."""

    now: datetime
    deadline: datetime
    travel: AreaTravel


def _estimate(member: StaffMember, resident: ResidentPlace, now: datetime, policy: RankingPolicy) -> _Estimate:
    """Estimate one staff member's arrival at the resident's home."""
    origin, start = _origin(member, now, policy)
    travel = policy.travel(resident.area_type)
    road_km = great_circle_km(start, resident.location) * travel.road_factor
    eta = policy.preparation + timedelta(hours=road_km / travel.speed_kmh)
    return _Estimate(member, road_km, eta, origin)


def _order(est: _Estimate) -> tuple[timedelta, float, str]:
    """Order by arrival, then distance, then id, so equal estimates rank the same every time."""
    return est.eta, est.road_km, est.staff.id


def _origin(member: StaffMember, now: datetime, policy: RankingPolicy) -> tuple[str, Point]:
    """Start from the last known location while it is fresh, else from the staff member's station."""
    seen = member.last_seen_at
    if member.last_location is not None and seen is not None and now - seen <= policy.location_fresh_for:
        return "last_known", member.last_location
    return "station", member.station.location


def _candidate(rank_: int, est: _Estimate, best: _Estimate, frame: _Frame) -> Candidate:
    """Build a ranked candidate from the estimate rounded up once; every other number follows from it."""
    eta_min = _minutes_up(est.eta)
    arrives = frame.now + timedelta(minutes=eta_min)
    margin_min = int((frame.deadline - arrives).total_seconds() // 60)  # rounded down: never sounds better
    behind = eta_min - _minutes_up(best.eta)
    lead = Lead.FASTEST if rank_ == 1 else Lead.SLOWER if behind > 0 else Lead.AS_FAST
    reason = Reason(
        lead=lead,
        origin=est.origin,
        road_km=round(est.road_km, 1),
        eta_min=eta_min,
        promise_min=_minutes_up(frame.travel.promise),
        margin_min=margin_min,
        behind_min=behind,
        fastest=best.staff.name,
    )
    return Candidate(
        est.staff,
        rank_,
        est.origin,
        est.road_km,
        timedelta(minutes=eta_min),
        arrives,
        margin_min >= 0,
        timedelta(minutes=margin_min),
        reason,
    )


def _verdict(candidates: tuple[Candidate, ...]) -> Verdict:
    """Decide between sending, sending late, and escalating."""
    if not candidates:
        return Verdict.NOBODY_AVAILABLE
    return Verdict.IN_TIME if candidates[0].in_time else Verdict.NONE_IN_TIME


def _summary(verdict: Verdict, candidates: tuple[Candidate, ...], travel: AreaTravel) -> Summary:
    """Tell the operator what to do, from the best candidate's numbers."""
    promise = _minutes_up(travel.promise)
    if verdict is Verdict.NOBODY_AVAILABLE:
        return Summary(verdict, promise)
    best = candidates[0]
    return Summary(verdict, promise, best.staff.name, best.eta_min, best.margin_min)


# The stored record's words (dispatch_assignments.reason_en/zh); pages render the codes themselves.
_ORIGIN_WORDS: Final = {"last_known": ("last known position", "最后已知位置"), "station": ("station", "服务站")}


def _lead_text(r: Reason, lang: str) -> str:
    """Say how a candidate compares with the fastest."""
    if r.lead is Lead.FASTEST:
        return "fastest" if lang == "en" else "最快"
    if r.lead is Lead.AS_FAST:
        return f"as fast as {r.fastest}" if lang == "en" else f"与{r.fastest}同样快"
    return f"{r.behind_min} min slower than {r.fastest}" if lang == "en" else f"比{r.fastest}慢{r.behind_min}分钟"


def _reason_text(r: Reason, lang: str) -> str:
    """Say a reason in English or Chinese, from its parameters."""
    where_en, where_zh = _ORIGIN_WORDS[r.origin]
    spare, late, lead = r.margin_min, -r.margin_min, _lead_text(r, lang)
    if lang == "en":
        fit = f"{spare} min inside" if spare >= 0 else f"{late} min past"
        return (
            f"{lead}: {r.road_km:.1f} km by road from {where_en}, arrives in {r.eta_min} min,"
            f" {fit} the {r.promise_min}-min promise"
        )
    fit = f"比{r.promise_min}分钟承诺提前{spare}分钟" if spare >= 0 else f"超出{r.promise_min}分钟承诺{late}分钟"
    return f"{lead}：距{where_zh}道路约{r.road_km:.1f}公里，预计{r.eta_min}分钟到达，{fit}"


def _summary_text(s: Summary, lang: str) -> str:
    """Say a summary in English or Chinese, from its parameters."""
    en = lang == "en"
    if s.verdict is Verdict.NOBODY_AVAILABLE:
        if en:
            return "Nobody is available on shift: escalate to the supervisor and call the emergency contacts"
        return "当前无在班可派人员：请上报值班主管并联系紧急联系人"
    if s.verdict is Verdict.IN_TIME:
        if en:
            return f"Send {s.name}: arrives in {s.eta_min} min, within the {s.promise_min}-min promise"
        return f"派{s.name}：预计{s.eta_min}分钟到达，满足{s.promise_min}分钟承诺"
    late = -(s.margin_min or 0)
    if en:
        return f"Nobody can arrive within the {s.promise_min}-min promise; best is {s.name}, {late} min late"
    return f"无人能在{s.promise_min}分钟内到达；最佳人选{s.name}，预计超时{late}分钟"


def _minutes_up(span: timedelta) -> int:
    """Round a span up to whole minutes, so an estimate never sounds better than it is."""
    return max(0, -int(-span.total_seconds() // 60))
