"""Inactivity measured against the resident's own routine: silence, not up, bathroom, no activity today.

Every condition compares the present with what is normal for this person (`alerts.detectors.routine`):

* ``inactivity`` — silence at home, out of bed, so long that fewer than ``alpha`` of this resident's normal
  pauses after the last sign of life, at this time of day, last as long (`alerts.detectors.silence`: a
  survival curve per context). After a toilet flush the next event normally follows within minutes, so a
  night-time "went to the bathroom and never came back" is raised soon, while the bedroom door late in the
  evening allows hours. The bracelet is fused with the home sensors (`alerts.detectors.wrist`): steps and a
  moving wrist are life; a bracelet off the wrist is no evidence either way. Whatever the curve says, a
  silence is raised once it reaches a fixed ceiling for the time of day it began (``Tuning.day_ceiling``,
  ``night_ceiling``): the model may wait long after a pause that is often long, but the platform never
  waits longer than the ceiling for someone who may be on the floor;
* ``not_up`` — no movement out of bed since before the earliest usual wake-up, an hour after a late but
  normal wake-up;
* ``bathroom_too_long`` — the bathroom occupied well beyond the longest visit seen;
* ``no_activity_today`` — nothing at all since the day began, by ``no_activity_hour``.

Leaving the house (the front door, then nothing) and sleep (a bed mat occupied) are not emergencies.
While a resident has fewer than ``min_days`` of history, conservative fixed limits (`ColdLimits`) apply.
Each finding explains itself in English and Chinese, and movement afterwards sends a cancelling finding.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Final

from alerts.detectors.base import Adopt, Detector, clock_text, duration_text, event_time, finding, in_window, local_hour
from alerts.detectors.routine import DAY_STARTS, Routine, Whereabouts, learn_routine, routine_day
from alerts.detectors.silence import STEPS_ACTIVITY, Activity, SilenceModel, SilenceSettings, follow, learn_silences
from alerts.detectors.wrist import WristWatch
from alerts.findings import Finding, Observation
from gateway.contract import Status


@dataclass(frozen=True, slots=True)
class ColdLimits:
    """Fixed limits for a resident whose routine is not learned yet; late rather than false."""

    daytime: tuple[float, float] = (7.0, 22.0)
    day_silence: timedelta = timedelta(hours=4)
    night_silence: timedelta = timedelta(hours=12)
    not_up_hour: float = 11.0
    bathroom: timedelta = timedelta(hours=1)


@dataclass(frozen=True, slots=True)
class Tuning:
    """How far beyond the learned routine a silence must go before it is raised."""

    silences: SilenceSettings = field(default_factory=SilenceSettings)
    # A silence is raised once fewer than this share of normal pauses in its context last as long: the
    # operating point, chosen for a false-alert budget per home per month (`anxin detect inactivity`).
    alpha: float = 0.000316
    quantile: float = 0.9  # over days, for wake-up times: a high but not the single highest day
    not_up_margin: timedelta = timedelta(hours=1)
    bathroom_factor: float = 2.0
    bathroom_floor: timedelta = timedelta(minutes=40)
    no_activity_hour: float = 14.0
    # The most a learned resident's silence is left, whichever comes first with alpha, by the time of day the
    # silence began (`ColdLimits.daytime`); None: the model alone. The daytime one: the shortest of none, 6, 4
    # and 3 h within the earlier rule's false alerts (5 per home per 30 days) at this alpha (`anxin detect
    # inactivity`, docs/detection.md); the night's is the cold start's (it moves no figure on the recorded homes).
    day_ceiling: timedelta | None = timedelta(hours=4)  # as a new resident's: see docs/detection.md
    night_ceiling: timedelta | None = timedelta(hours=12)


@dataclass(frozen=True, slots=True)
class Silence:
    """A learned resident's present silence as the detector judges it: at home, out of bed."""

    length: timedelta
    survival: float  # the share of this resident's normal pauses in the same context that last as long
    daytime: bool  # began in the daytime (`ColdLimits.daytime`): the daytime ceiling applies


@dataclass(slots=True)
class _Resident:
    where: Whereabouts = field(default_factory=Whereabouts)
    routine: Routine | None = None
    silences: SilenceModel | None = None
    activity: Activity | None = None  # the last sign of life
    open: dict[str, datetime] = field(default_factory=dict)  # raised kinds movement will cancel
    raised_on: dict[str, date] = field(default_factory=dict)  # once-a-day kinds
    bath_raised_for: datetime | None = None
    sensors_back_at: datetime | None = None  # a home device last (re)connected: it saw nothing before
    watched_since: datetime | None = None  # the first message seen of this resident (history and warm-up included)


Check = Callable[[str, _Resident, datetime], Finding | None]


@dataclass(frozen=True, slots=True)
class _Verdict:
    """Why a silence is raised: the explanation, the limit it passed, the usual pause, and which limit fired."""

    text: tuple[str, str]
    limit: timedelta
    usual: timedelta | None = None
    by: str | None = None  # "survival" (below alpha) or "ceiling"; None: the cold start's fixed limit


class InactivityDetector(Detector):
    """Raise the inactivity kinds when present silence is well beyond this resident's normal."""

    kinds = ("inactivity", "not_up", "bathroom_too_long", "no_activity_today")

    def __init__(
        self,
        *,
        min_days: int = 7,
        tuning: Tuning | None = None,
        cold: ColdLimits | None = None,
        min_steps: int = 5,
    ) -> None:
        super().__init__()
        self.min_days = min_days
        self.tuning = tuning or Tuning()
        self.cold = cold or ColdLimits()
        self._wrist = WristWatch(min_steps)
        self._residents: dict[str, _Resident] = defaultdict(_Resident)
        self._checks: tuple[Check, ...] = (self._silence, self._not_up, self._no_activity_today, self._bathroom)

    def fit(self, history: Sequence[Observation]) -> Adopt:
        """Learn each resident's routine from their past observations, apart from the live state."""
        by_resident: dict[str, list[Observation]] = defaultdict(list)
        for obs in history:
            by_resident[obs.resident_id].append(obs)
        fitted = {}
        for rid, observations in by_resident.items():
            tz = self.profile(rid).tz
            fitted[rid] = (
                learn_routine(observations, tz, self.tuning.quantile),
                learn_silences(observations, tz, self.tuning.silences),
            )

        def adopt() -> None:
            for rid, (routine, silences) in fitted.items():
                state = self._residents[rid]
                state.routine, state.silences = routine, silences

        return adopt

    def routine(self, resident_id: str) -> Routine | None:
        """Return the routine learned for a resident, if any."""
        return self._residents[resident_id].routine

    def observe(self, obs: Observation) -> list[Finding]:
        """Follow the resident's signs of life, home sensors and bracelet; cancel what they answer."""
        body, at, state = obs.record.body, event_time(obs), self._residents[obs.resident_id]
        if state.watched_since is None or at < state.watched_since:
            state.watched_since = at
        if isinstance(body, Status):
            if _reconnected(body) and obs.record.device_id != self.profile(obs.resident_id).bracelet_id:
                state.sensors_back_at = at
            return []
        activity = follow(state.where, self._wrist, obs.resident_id, body, at)
        if activity is None:
            return []
        state.activity = activity
        return self._cancel_open(obs.resident_id, state, at)

    def tick(self, now: datetime) -> list[Finding]:
        """Check every resident's silence against their routine."""
        out = []
        for rid, state in self._residents.items():
            if state.where.last_activity is None:
                continue
            out += [f for check in self._checks if (f := check(rid, state, now)) is not None]
        return out

    def _learned(self, state: _Resident) -> Routine | None:
        routine = state.routine
        return routine if routine is not None and routine.days >= self.min_days else None

    def silence(self, resident_id: str, now: datetime) -> Silence | None:
        """Return the present silence as the model judges it (None: resting, or not judged by the model)."""
        state = self._residents.get(resident_id)
        if state is None or state.where.last_activity is None or state.where.resting(now):
            return None
        model = self._model(state)
        if model is None:
            return None
        last = state.where.last_activity
        survival = model.survival(state.activity or STEPS_ACTIVITY, last, now - last)
        daytime = in_window(local_hour(last, self.profile(resident_id).tz), *self.cold.daytime)
        return Silence(now - last, survival, daytime)

    def silence_survival(self, resident_id: str, now: datetime) -> float | None:
        """Return how likely a normal pause lasts as long as the present silence (None: not judged by the model)."""
        judged = self.silence(resident_id, now)
        return None if judged is None else judged.survival

    def ceiling(self, daytime: bool) -> timedelta | None:
        """Return the most a learned resident's silence that began in the daytime (or at night) is left."""
        return self.tuning.day_ceiling if daytime else self.tuning.night_ceiling

    def _model(self, state: _Resident) -> SilenceModel | None:
        return state.silences if self._learned(state) is not None and state.silences and state.silences.pauses else None

    def _silence(self, rid: str, state: _Resident, now: datetime) -> Finding | None:
        where = state.where
        if where.resting(now) or where.last_activity is None or "inactivity" in state.open:
            return None
        model, judged = self._model(state), self.silence(rid, now)
        if model is None or judged is None:
            verdict = self._cold_verdict(rid, state, now - where.last_activity, now)
        else:
            verdict = self._learned_verdict(model, state.activity, where.last_activity, judged)
        if verdict is None:
            return None
        state.open["inactivity"] = now
        text = verdict.text
        back = state.sensors_back_at
        if back is not None and back > where.last_activity:
            # The operator should know the silence is partly unseen: a power cut, a hub restarted.
            text = _unseen_text(text, clock_text(back, self.profile(rid).tz))
        ceiling = None if judged is None else self.ceiling(judged.daytime)
        return finding(
            "inactivity", rid, now, text,
            silence_s=(now - where.last_activity).total_seconds(), limit_s=verdict.limit.total_seconds(),
            usual_s=None if verdict.usual is None else verdict.usual.total_seconds(),
            since=where.last_activity.isoformat(), after=None if state.activity is None else state.activity.place,
            survival=None if judged is None else judged.survival, alpha=None if judged is None else self.tuning.alpha,
            by=verdict.by, ceiling_s=None if ceiling is None else ceiling.total_seconds(),
            sensors_back_at=None if back is None else back.isoformat(),
        )  # fmt: skip

    def _cold_verdict(self, rid: str, state: _Resident, silence: timedelta, now: datetime) -> _Verdict | None:
        """Judge a silence the model does not judge against the fixed limit for the time of day."""
        limit = self._cold_limit(rid, now)
        if silence < limit:
            return None
        return _Verdict(_silence_text(silence, limit, None, state.activity, self.tuning.alpha), limit)

    def _learned_verdict(
        self, model: SilenceModel, last: Activity | None, since: datetime, judged: Silence
    ) -> _Verdict | None:
        """Raise below alpha, or at the ceiling for the time of day the silence began, whichever comes first."""
        alpha, ceiling = self.tuning.alpha, self.ceiling(judged.daytime)
        below = judged.survival < alpha
        if not below and (ceiling is None or judged.length < ceiling):
            return None
        # The limit and the median pause of the context, for the operator.
        activity = last or STEPS_ACTIVITY
        limit, usual = model.limit(activity, since, alpha), model.usual(activity, since)
        if below or ceiling is None:
            return _Verdict(_silence_text(judged.length, limit, usual, last, alpha), limit, usual, "survival")
        text = _ceiling_text(judged.length, ceiling, judged.daytime, limit, usual, last)
        return _Verdict(text, ceiling, usual, "ceiling")

    def _cold_limit(self, rid: str, now: datetime) -> timedelta:
        """Return the fixed silence limit for a resident whose pauses are not learned yet."""
        day = in_window(local_hour(now, self.profile(rid).tz), *self.cold.daytime)
        return self.cold.day_silence if day else self.cold.night_silence

    def _not_up(self, rid: str, state: _Resident, now: datetime) -> Finding | None:
        tz, where = self.profile(rid).tz, state.where
        today, hour = routine_day(now, tz), local_hour(now, tz)
        routine = self._learned(state)
        deadline = self._wake_deadline(routine)
        if where.away or state.raised_on.get("not_up") == today or not deadline <= hour < 20.0:
            return None
        up_from = DAY_STARTS if routine is None or routine.early_wake_hour is None else routine.early_wake_hour - 0.5
        day_start = now.astimezone(tz).replace(hour=0, minute=0, second=0, microsecond=0)
        if state.watched_since is None or state.watched_since > day_start + timedelta(hours=min(up_from, deadline)):
            return None  # nothing was watched this morning (the platform started later): it cannot say "not up"
        up = where.last_up is not None and where.last_up >= day_start + timedelta(hours=max(up_from, DAY_STARTS))
        # Up a short while, then back in bed since before the deadline: a trip to the bathroom, not the day.
        if up and not where.back_in_bed(day_start + timedelta(hours=deadline)):
            return None
        state.raised_on["not_up"] = today
        state.open["not_up"] = now
        usual = "" if routine is None or routine.wake_hour is None else _hours_text(routine.wake_hour)
        text = (
            f"not up by {clock_text(now, tz)}; usually up around {usual or 'an unknown time'}",
            f"到{clock_text(now, tz)}仍未起床；平时约{usual or '（未知）'}起床",
        )
        return finding("not_up", rid, now, text, deadline_hour=deadline, in_bed=where.in_bed)

    def _wake_deadline(self, routine: Routine | None) -> float:
        if routine is None or routine.late_wake_hour is None:
            return self.cold.not_up_hour
        return routine.late_wake_hour + self.tuning.not_up_margin.total_seconds() / 3600

    def _no_activity_today(self, rid: str, state: _Resident, now: datetime) -> Finding | None:
        tz, where = self.profile(rid).tz, state.where
        today = routine_day(now, tz)
        if where.away or state.raised_on.get("no_activity_today") == today or where.last_activity is None:
            return None
        if local_hour(now, tz) < self.tuning.no_activity_hour or routine_day(where.last_activity, tz) >= today:
            return None
        state.raised_on["no_activity_today"] = today
        state.open["no_activity_today"] = now
        last = where.last_activity.astimezone(tz).strftime("%m-%d %H:%M")
        text = (f"no activity at all today; last movement {last}", f"今日无任何活动；最后一次活动：{last}")
        return finding("no_activity_today", rid, now, text, since=where.last_activity.isoformat())

    def _bathroom(self, rid: str, state: _Resident, now: datetime) -> Finding | None:
        since = state.where.bathroom_since
        if since is None or state.bath_raised_for == since:
            return None
        routine = self._learned(state)
        longest = None if routine is None or routine.bathroom_longest_s is None else routine.bathroom_longest_s
        t = self.tuning
        limit = (
            self.cold.bathroom
            if longest is None
            else max(t.bathroom_floor, timedelta(seconds=longest) * t.bathroom_factor)
        )
        if now - since < limit:
            return None
        state.bath_raised_for = since
        s_en, s_zh = duration_text(now - since)
        u_en, u_zh = duration_text(timedelta(seconds=longest or 0))
        usual_en = f"longest usual visit: {u_en}" if longest else f"fixed limit: {duration_text(limit)[0]}"
        usual_zh = f"平时最长：{u_zh}" if longest else f"固定限值：{duration_text(limit)[1]}"
        text = (f"in the bathroom for {s_en}; {usual_en}", f"已在卫生间{s_zh}；{usual_zh}")
        return finding("bathroom_too_long", rid, now, text, since=since.isoformat(), limit_s=limit.total_seconds())

    def _cancel_open(self, rid: str, state: _Resident, at: datetime) -> list[Finding]:
        """Answer raised conditions that movement ends, and re-arm them."""
        out = []
        for kind, raised_at in list(state.open.items()):
            del state.open[kind]
            en, zh = duration_text(at - raised_at)
            text = (f"movement again, {en} after the alert", f"警报后{zh}再次检测到活动")
            out.append(finding(kind, rid, at, text, cancels=True))
        return out


# How an operator names the place of the last activity, by the event's kind and place (`Activity.place`).
PLACE_NAMES: Final = {
    "motion:kitchen": ("the kitchen", "厨房"),
    "motion:bathroom": ("the bathroom", "卫生间"),
    "motion:bedroom": ("the bedroom", "卧室"),
    "motion:hall": ("the hall", "门厅"),
    "motion:living_room": ("the living room", "客厅"),
    "door:front": ("the front door", "大门"),
    "door:bedroom": ("the bedroom door", "卧室门"),
    "door:bathroom": ("the bathroom door", "卫生间门"),
    "door:toilet": ("the toilet door", "厕所门"),
    "bed:bedroom": ("getting up from the bed", "离床"),
    "bathroom:bathroom": ("the bathroom", "卫生间"),
    "steps:bracelet": ("the last steps", "最后一次走动"),
    "wrist:bracelet": ("the wrist's last movement", "手腕最后一次活动"),
}


def _silence_text(
    silence: timedelta, limit: timedelta, usual: timedelta | None, activity: Activity | None, alpha: float
) -> tuple[str, str]:
    """Explain a silence against the usual pause after the last activity and the limit, or the fixed limit."""
    s_en, s_zh = duration_text(silence)
    if usual is None:
        l_en, l_zh = duration_text(limit)
        return (
            f"no movement for {s_en}; routine still being learned, fixed limit: {l_en}",
            f"已{s_zh}无活动；作息尚在学习中，固定限值：{l_zh}",
        )
    where_en, where_zh = _place_text(activity)
    u_en, u_zh = duration_text(usual)
    l_en, l_zh = duration_text(limit)
    one_in = round(1 / alpha)
    return (
        f"no movement for {s_en} since {where_en}; usually the next activity follows within {u_en} at this time,"
        f" and fewer than 1 in {one_in} pauses last over {l_en}",
        f"自{where_zh}起已{s_zh}无活动；此时段平时{u_zh}内即有下一次活动，超过{l_zh}的停顿不到{one_in}分之一",
    )


# When a silence began, as the ceiling's explanation names it.
TIME_OF_DAY_NAMES: Final = {True: ("in the daytime", "白天"), False: ("at night", "夜间")}


def _ceiling_text(
    silence: timedelta,
    ceiling: timedelta,
    daytime: bool,
    limit: timedelta,
    usual: timedelta | None,
    activity: Activity | None,
) -> tuple[str, str]:
    """Explain a silence raised at the ceiling for its time of day, before the routine's own limit."""
    s_en, s_zh = duration_text(silence)
    c_en, c_zh = duration_text(ceiling)
    l_en, l_zh = duration_text(limit)
    when_en, when_zh = TIME_OF_DAY_NAMES[daytime]
    where_en, where_zh = _place_text(activity)
    u_en, u_zh = ("", "") if usual is None else duration_text(usual)
    usual_en = f"usually the next activity follows within {u_en} at this time; " if usual else ""
    usual_zh = f"此时段平时{u_zh}内即有下一次活动；" if usual else ""
    return (
        f"no movement for {s_en} since {where_en}; {c_en} is the most this platform waits {when_en}"
        f" ({usual_en}the routine alone would wait {l_en})",
        f"自{where_zh}起已{s_zh}无活动；{when_zh}最长等待{c_zh}（{usual_zh}仅按作息将等待{l_zh}）",
    )


def _place_text(activity: Activity | None) -> tuple[str, str]:
    """Name the place of the last activity for the operator, in English and Chinese."""
    place = "" if activity is None else activity.place
    return PLACE_NAMES.get(place, (place.split(":")[-1] or "the last activity", place))


def _unseen_text(text: tuple[str, str], back: str) -> tuple[str, str]:
    """Add to an explanation that the home's sensors were not watching until ``back`` (local clock)."""
    return (
        f"{text[0]}; the home sensors reconnected at {back} and saw nothing before",
        f"{text[1]}；家中传感器{back}重新连接，此前情况未知",
    )


def _reconnected(body: Status) -> bool:
    """Tell whether a status says the device has just (re)connected (boot, power back), not a heartbeat."""
    return body.state == "online" and body.reason != "heartbeat"


def _hours_text(hour: float) -> str:
    minutes = round(hour * 60)
    return f"{minutes // 60 % 24:02d}:{minutes % 60:02d}"
