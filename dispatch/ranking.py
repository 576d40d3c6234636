"""Rank staff for an alert by estimated arrival against the resident's promise (15 min city, 30 countryside).

Pure: staff positions, the resident's place and the time come in; a ranking with reasons goes out.
The estimate is deliberately simple and explainable to an operator: great-circle distance times a road
factor, at the area's travel speed, plus the time it takes to get going. A staff member's last known
location counts while it is fresh; otherwise they are assumed to be at their station.
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


@dataclass(frozen=True, slots=True)
class Candidate:
    """One staff member who could go, with the estimate and why they rank where they do."""

    staff: StaffMember
    rank: int
    origin: str  # "last_known" or "station": where the estimate starts
    road_km: float
    eta: timedelta
    arrives_at: datetime
    in_time: bool
    margin: timedelta  # deadline minus arrival; negative when late
    reason_en: str
    reason_zh: str


@dataclass(frozen=True, slots=True)
class PassedOver:
    """A staff member left out of the ranking, and why."""

    staff: StaffMember
    reason_en: str
    reason_zh: str


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
    summary_en: str
    summary_zh: str

    @property
    def best(self) -> Candidate | None:
        """Return the top candidate, if anyone can go."""
        return self.candidates[0] if self.candidates else None

    @property
    def must_escalate(self) -> bool:
        """Tell whether nobody can go and a supervisor must act."""
        return self.verdict is Verdict.NOBODY_AVAILABLE


_LEFT_OUT: Final[Mapping[str, tuple[str, str]]] = MappingProxyType(
    {
        "excluded": ("already declined or could not be reached for this alert", "本次任务已拒绝或无法联系"),
        StaffStatus.ON_TASK: ("on another task", "正在执行其他任务"),
        StaffStatus.OFF_SHIFT: ("off shift", "不在班"),
        "no_shift": ("not on a shift now", "当前无排班"),
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
            passed.append(PassedOver(member, *_LEFT_OUT[why]))
    estimates = sorted((_estimate(m, resident, now, policy) for m in able), key=_order)
    frame = _Frame(now, deadline, travel)
    candidates = tuple(_candidate(i + 1, est, estimates[0], frame) for i, est in enumerate(estimates))
    verdict = _verdict(candidates)
    en, zh = _summary(verdict, candidates, travel)
    return Ranking(resident, now, travel.promise, deadline, candidates, tuple(passed), verdict, en, zh)


def _left_out_because(member: StaffMember, exclude: frozenset[str]) -> str | None:
    """Return why a staff member cannot be sent, or None when they can."""
    if member.id in exclude:
        return "excluded"
    if member.status is not StaffStatus.AVAILABLE:
        return member.status
    return None if member.on_shift else "no_shift"


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
    """Build a ranked candidate with its reason in both languages."""
    arrives = frame.now + est.eta
    margin = frame.deadline - arrives
    en, zh = _reason(rank_, est, best, margin, frame.travel)
    in_time = margin >= timedelta(0)
    return Candidate(est.staff, rank_, est.origin, est.road_km, est.eta, arrives, in_time, margin, en, zh)


_ORIGIN_WORDS: Final = {"last_known": ("last known position", "最后已知位置"), "station": ("station", "服务站")}


def _reason(rank_: int, est: _Estimate, best: _Estimate, margin: timedelta, travel: AreaTravel) -> tuple[str, str]:
    """Say why a candidate ranks where they do."""
    where_en, where_zh = _ORIGIN_WORDS[est.origin]
    promise, spare, late = _minutes(travel.promise), _minutes(margin), _minutes(-margin)
    if margin >= timedelta(0):
        fit_en, fit_zh = f"{spare} min inside the {promise}-min promise", f"比{promise}分钟承诺提前{spare}分钟"
    else:
        fit_en, fit_zh = f"{late} min past the {promise}-min promise", f"超出{promise}分钟承诺{late}分钟"
    if rank_ == 1:
        lead_en, lead_zh = "fastest", "最快"
    else:
        behind, name = _minutes(est.eta - best.eta), best.staff.name
        lead_en, lead_zh = f"{behind} min slower than {name}", f"比{name}慢{behind}分钟"
    eta, km = _minutes(est.eta), f"{est.road_km:.1f}"
    en = f"{lead_en}: {km} km by road from {where_en}, arrives in {eta} min, {fit_en}"
    zh = f"{lead_zh}：距{where_zh}道路约{km}公里，预计{eta}分钟到达，{fit_zh}"
    return en, zh


def _verdict(candidates: tuple[Candidate, ...]) -> Verdict:
    """Decide between sending, sending late, and escalating."""
    if not candidates:
        return Verdict.NOBODY_AVAILABLE
    return Verdict.IN_TIME if candidates[0].in_time else Verdict.NONE_IN_TIME


def _summary(verdict: Verdict, candidates: tuple[Candidate, ...], travel: AreaTravel) -> tuple[str, str]:
    """Tell the operator what to do, in both languages."""
    promise = _minutes(travel.promise)
    if verdict is Verdict.NOBODY_AVAILABLE:
        return (
            "Nobody is available on shift: escalate to the supervisor and call the emergency contacts",
            "当前无在班可派人员：请上报值班主管并联系紧急联系人",
        )
    best = candidates[0]
    if verdict is Verdict.IN_TIME:
        return (
            f"Send {best.staff.name}: arrives in {_minutes(best.eta)} min, within the {promise}-min promise",
            f"派{best.staff.name}：预计{_minutes(best.eta)}分钟到达，满足{promise}分钟承诺",
        )
    late = _minutes(-best.margin)
    return (
        f"Nobody can arrive within the {promise}-min promise; best is {best.staff.name}, {late} min late",
        f"无人能在{promise}分钟内到达；最佳人选{best.staff.name}，预计超时{late}分钟",
    )


def _minutes(span: timedelta) -> int:
    """Round a span up to whole minutes, so an estimate never sounds better than it is."""
    return max(0, -int(-span.total_seconds() // 60))
