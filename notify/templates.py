"""The messages families receive, as data: one entry per notice event, in Chinese (default) and English.

Parameters are filled with ``str.format``; the service supplies ``resident``, ``alert_title``, ``time``
and the reply links; the caller of ``notify`` supplies the rest (``staff``, ``eta``, ``outcome``).
``DESK_TEMPLATES`` are the messages for the desk's own people: a supervisor told of an escalation, a
staff member offered a task; they are rendered the same way, in the person's language.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType
from typing import Final

from notify.errors import TemplateError

DEFAULT_LANGUAGE: Final = "zh"


class Audience(StrEnum):
    """Who hears of a notice: the contacts one after another until someone answers, or everyone at once."""

    CHAIN = "chain"
    ALL = "all"
    TOLD = "told"  # only the contacts an earlier notice of the same alert reached (the all clear)


@dataclass(frozen=True, slots=True)
class Text:
    """A title and body in one language."""

    title: str
    body: str


@dataclass(frozen=True, slots=True)
class Template:
    """One notice event: who hears of it, whether it asks for a reply, and its texts by language."""

    event: str
    audience: Audience
    asks_reply: bool
    texts: Mapping[str, Text]


_REPLY_ZH: Final = "\n\n请点击回复：\n我马上过去：{reply_going}\n我去不了：{reply_cant}\n请给我回电话：{reply_call_me}"
_REPLY_EN: Final = "\n\nPlease reply:\nI'm going: {reply_going}\nI can't go: {reply_cant}\nCall me: {reply_call_me}"

TEMPLATES: Final[Mapping[str, Template]] = MappingProxyType(
    {
        t.event: t
        for t in (
            Template(
                "alert_raised",
                Audience.CHAIN,
                True,
                MappingProxyType(
                    {
                        "zh": Text(
                            "【安心】{resident}：{alert_title}",
                            "{resident}于{time}发生「{alert_title}」。养老服务指挥中心已在处理，"
                            "服务站工作人员将尽快上门。" + _REPLY_ZH,
                        ),
                        "en": Text(
                            "[Anxin] {resident}: {alert_title}",
                            "{resident}: {alert_title} at {time}. The care dispatch centre is handling it and staff "
                            "from the service station are being sent." + _REPLY_EN,
                        ),
                    }
                ),
            ),
            Template(
                "staff_dispatched",
                Audience.ALL,
                False,
                MappingProxyType(
                    {
                        "zh": Text("【安心】{staff}正在前往{resident}家", "{staff}已接单，预计{eta}分钟内到达。"),
                        "en": Text(
                            "[Anxin] {staff} is on the way to {resident}",
                            "{staff} has taken the task and should arrive within {eta} min.",
                        ),
                    }
                ),
            ),
            Template(
                "staff_on_site",
                Audience.ALL,
                False,
                MappingProxyType(
                    {
                        "zh": Text("【安心】工作人员已到达{resident}家", "{staff}已于{time}到达{resident}家。"),
                        "en": Text("[Anxin] Staff are with {resident}", "{staff} reached {resident}'s home at {time}."),
                    }
                ),
            ),
            Template(
                "alert_resolved",
                Audience.ALL,
                False,
                MappingProxyType(
                    {
                        "zh": Text("【安心】{resident}的警报已处理", "处理结果：{outcome}。如有疑问请联系服务站。"),
                        "en": Text(
                            "[Anxin] {resident}'s alert is resolved",
                            "Outcome: {outcome}. Call the station with any questions.",
                        ),
                    }
                ),
            ),
            Template(
                "all_clear",
                Audience.TOLD,
                False,
                MappingProxyType(
                    {
                        "zh": Text(
                            "【安心】解除警报：{resident}的「{alert_title}」已结束",
                            "{resident}的「{alert_title}」已于{closed_time}结束：{outcome}。{handled_by}"
                            "如有疑问请联系服务站。",
                        ),
                        "en": Text(
                            "[Anxin] All clear: {resident}'s {alert_title} is over",
                            "{resident}'s {alert_title} ended at {closed_time}: {outcome}. {handled_by}"
                            "Call the station with any questions.",
                        ),
                    }
                ),
            ),
        )
    }
)

DESK_TEMPLATES: Final[Mapping[str, Template]] = MappingProxyType(
    {
        t.event: t
        for t in (
            Template(
                "escalation_unacknowledged",
                Audience.ALL,
                False,
                MappingProxyType(
                    {
                        "zh": Text(
                            "【安心·升级】{resident}的「{alert_title}」{minutes}分钟无人确认",
                            "告警#{alert_id}（{severity}）于{time}发生，至今无人确认。请立即查看调度台：{link}",
                        ),
                        "en": Text(
                            "[Anxin escalation] {resident}: {alert_title} unacknowledged for {minutes} min",
                            "Alert #{alert_id} ({severity}) was raised at {time} and nobody has acknowledged it. "
                            "Open the console now: {link}",
                        ),
                    }
                ),
            ),
            Template(
                "escalation_promise_breached",
                Audience.ALL,
                False,
                MappingProxyType(
                    {
                        "zh": Text(
                            "【安心·超时】{resident}的「{alert_title}」{promise}分钟内无人到场",
                            "告警#{alert_id}于{time}发生，承诺{promise}分钟到场，至今无人到达。请协调处置：{link}",
                        ),
                        "en": Text(
                            "[Anxin overdue] {resident}: nobody on site within {promise} min",
                            "Alert #{alert_id} ({alert_title}) was raised at {time}; the promise is {promise} min "
                            "to the door and nobody has arrived. Please step in: {link}",
                        ),
                    }
                ),
            ),
            Template(
                "task_offer",
                Audience.ALL,
                False,
                MappingProxyType(
                    {
                        "zh": Text(
                            "【安心·派单】{alert_title}：{resident}",
                            "{resident}，{address}。请在{deadline}前到达（预计路程{eta}分钟）。"
                            "{window}分钟内未接单将转派他人。打开任务：{link}",
                        ),
                        "en": Text(
                            "[Anxin task] {alert_title}: {resident}",
                            "{resident}, {address}. Arrive by {deadline} (about {eta} min away). "
                            "Unanswered within {window} min, it goes to someone else. Open the task: {link}",
                        ),
                    }
                ),
            ),
        )
    }
)

REPLY_KEYS: Final = ("reply_going", "reply_cant", "reply_call_me")


def template(event: str) -> Template:
    """Return the template of an event (a family notice's or a desk message's)."""
    try:
        return TEMPLATES[event] if event in TEMPLATES else DESK_TEMPLATES[event]
    except KeyError:
        raise TemplateError(f"no template for notice event {event!r}; known: {sorted(TEMPLATES)}") from None


def render(event: str, language: str, params: Mapping[str, str]) -> Text:
    """Fill an event's text in a language (falling back to Chinese) with the parameters."""
    texts = template(event).texts
    text = texts.get(language) or texts[DEFAULT_LANGUAGE]
    try:
        return Text(text.title.format_map(params), text.body.format_map(params))
    except (KeyError, IndexError) as exc:
        raise TemplateError(f"template {event!r} needs parameter {exc}") from exc
