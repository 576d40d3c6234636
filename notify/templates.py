"""The messages families receive, as data: one entry per notice event, in Chinese (default) and English.

Parameters are filled with ``str.format``; the service supplies ``resident``, ``alert_title``, ``time``
and the reply links; the caller of ``notify`` supplies the rest (``staff``, ``eta``, ``outcome``).
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
                        "zh": Text("【安心】{staff}正在前往{resident}家", "{staff}已出发，预计{eta}分钟到达。"),
                        "en": Text(
                            "[Anxin] {staff} is on the way to {resident}",
                            "{staff} has left and should arrive in {eta} min.",
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
        )
    }
)

REPLY_KEYS: Final = ("reply_going", "reply_cant", "reply_call_me")


def template(event: str) -> Template:
    """Return the template of an event."""
    try:
        return TEMPLATES[event]
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
