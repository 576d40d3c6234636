"""The civil-affairs roster, read and checked row by row: stations, staff with their weekly shifts, residents.

Pure logic, no I/O: the caller hands in each sheet as a list of ``{header: cell}`` rows (from a workbook
or a CSV file, `dispatch.roster_files`) and gets typed rows back, or the reasons a row was refused,
with its row number and column. Real lists are messy, so every cell is normalised first: full-width
digits, letters and punctuation become half-width (NFKC), surrounding spaces go, dates come as
``1945/3/2``, ``1945-03-02``, ``1945年3月2日`` or a spreadsheet date, ID numbers may end in a lower-case
``x``, phones may carry ``+86``, spaces or dashes, categories come separated by ``、 , ， ;`` and with or
without ``老人``, capability levels as 0–4 or by name.

A resident row is refused when its ID number fails the GB 11643 check digit or disagrees with its birth
date, when 姓名, 身份证号 or 服务站 is empty, when the station or a category is unknown, or when the ID
repeats an earlier row. The ID number is the resident's key; it is kept only as a keyed hash and a mask
(`mask_id`), never in clear (PIPL: store only what the service needs).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from types import MappingProxyType
from typing import Any, Final

SHEETS: Final = MappingProxyType(
    {
        "服务站": ("名称", "地址", "经度", "纬度", "区域", "所属区"),
        "护理员": ("姓名", "手机", "服务站", "通知方式", "排班"),
        "老人": (
            *("姓名", "性别", "身份证号", "出生日期", "手机", "住址", "街道", "社区", "服务站", "老人类别"),
            *("能力等级", "风险等级", "经度", "纬度", "手环编号"),
            *("联系人1姓名", "联系人1关系", "联系人1手机", "联系人2姓名", "联系人2关系", "联系人2手机"),
        ),
    }
)
AREAS: Final = MappingProxyType({"城市": "city", "农村": "countryside", "city": "city", "countryside": "countryside"})
LEVELS: Final = MappingProxyType({"能力完好": 0, "轻度失能": 1, "中度失能": 2, "重度失能": 3, "完全失能": 4})
RISKS: Final = MappingProxyType({"A": "A", "B": "B", "C": "C", "高": "A", "中": "B", "低": "C"})
GENDERS: Final = MappingProxyType({"男": "M", "女": "F", "M": "M", "F": "F"})
# Category names as lists write them, beyond the table's own names (dispatch.places.CATEGORIES).
CATEGORY_ALIASES: Final = MappingProxyType(
    {"特困供养": "特困", "低保户": "低保", "失独": "计划生育特殊家庭", "重度残疾": "重残", "80岁以上": "高龄"}
)
RELATIONS: Final = MappingProxyType(
    {
        **dict.fromkeys(
            ("女儿", "儿子", "子女", "配偶", "老伴", "孙子", "孙女", "侄子", "侄女", "亲属", "家属"), "family"
        ),
        **dict.fromkeys(("邻居",), "neighbour"),
        **dict.fromkeys(("网格员", "社区网格员"), "grid_worker"),
        **dict.fromkeys(("志愿者",), "volunteer"),
    }
)
WEEKDAYS: Final = MappingProxyType({"一": 0, "二": 1, "三": 2, "四": 3, "五": 4, "六": 5, "日": 6, "天": 6, "七": 6})
_ID_WEIGHTS: Final = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK: Final = "10X98765432"
_EXCEL_EPOCH: Final = date(1899, 12, 30)
_SPLIT: Final = re.compile(r"[、,，;；/\s]+")
_DATE: Final = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?$")
_SHIFT: Final = re.compile(
    r"^(?:(?:周|星期)(?P<a>[一二三四五六日天七])(?:\s*[至到~\-—]\s*(?:周|星期)?(?P<b>[一二三四五六日天七]))?|(?P<every>每天|每日))"
    r"\s*(?P<start>\d{1,2}:\d{2})\s*[-~至到—]\s*(?P<end>\d{1,2}:\d{2})$"
)


class RosterError(ValueError):
    """One cell that makes its row unusable: which column, and why (a code the pages and the report use)."""

    def __init__(self, column: str, reason: str, repeats_row: int | None = None) -> None:
        super().__init__(f"{column}: {reason}")
        self.column = column
        self.reason = reason
        self.repeats_row = repeats_row  # for id_repeats: the earlier row with the same ID number


@dataclass(frozen=True, slots=True)
class RowError:
    """A refused row: its number in the sheet (the header is row 1), the column and the reason."""

    sheet: str
    row: int
    column: str
    reason: str
    repeats_row: int | None = None


@dataclass(frozen=True, slots=True)
class StationRow:
    """A service station as the roster gives it."""

    name: str
    address: str | None
    lat: float
    lon: float
    area_type: str
    district: str


@dataclass(frozen=True, slots=True)
class WeeklyShift:
    """One weekly working period: a weekday (0 Monday) and local start/end (an end before the start runs overnight)."""

    weekday: int
    start: time
    end: time


@dataclass(frozen=True, slots=True)
class StaffRow:
    """A staff member as the roster gives them."""

    name: str
    phone: str | None
    station: str
    notify_url: str | None
    shifts: tuple[WeeklyShift, ...]


@dataclass(frozen=True, slots=True)
class ContactRow:
    """An emergency contact: their name, relation as written and as a code, and phone."""

    name: str
    relation: str
    relation_code: str
    phone: str | None


@dataclass(frozen=True, slots=True)
class ResidentRow:
    """A resident as the roster gives them, the ID number already reduced to its key and its mask."""

    name: str
    gender: str | None
    id_key: str  # HMAC-SHA256 of the normalised ID number under the deployment's key
    id_masked: str
    birth_date: date
    phone: str | None
    address: str | None
    street: str | None
    community: str | None
    station: str
    categories: tuple[str, ...]
    assessment_level: int | None
    risk_class: str
    lat: float | None
    lon: float | None
    bracelet: str | None
    contacts: tuple[ContactRow, ...]

    def fingerprint(self) -> str:
        """Return a digest of everything the row says, so a re-import can tell an unchanged row."""
        return hashlib.sha256(repr(self).encode()).hexdigest()


@dataclass
class Parsed:
    """A whole roster: the rows that passed and the rows refused, sheet by sheet."""

    stations: list[tuple[int, StationRow]] = field(default_factory=list)  # (row number, row)
    staff: list[tuple[int, StaffRow]] = field(default_factory=list)
    residents: list[tuple[int, ResidentRow]] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    rows: dict[str, int] = field(default_factory=dict)


# --- cells ----------------------------------------------------------------------------------------------


def text(value: Any) -> str:
    """Normalise a cell to text: full-width to half-width (NFKC), spaces trimmed and collapsed; empty is ''."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # a number typed into a cell: 13800000000.0
    return re.sub(r"\s+", " ", unicodedata.normalize("NFKC", str(value))).strip()


def required(row: Mapping[str, Any], column: str) -> str:
    """Return a cell that must not be empty."""
    value = text(row.get(column))
    if not value:
        raise RosterError(column, "required")
    return value


def optional(row: Mapping[str, Any], column: str) -> str | None:
    """Return a cell, or None when it is empty."""
    return text(row.get(column)) or None


def parse_date(value: Any, column: str) -> date:
    """Read a date written as 1945/3/2, 1945-03-02, 1945年3月2日, or a spreadsheet date or serial number."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool) and 1 <= value < 100_000:
        return _EXCEL_EPOCH + timedelta(days=int(value))
    match = _DATE.match(text(value))
    if match is None:
        raise RosterError(column, "date_unreadable")
    try:
        return date(int(match[1]), int(match[2]), int(match[3]))
    except ValueError:
        raise RosterError(column, "date_invalid") from None


def id_number(value: Any) -> str:
    """Normalise a resident ID number (18 characters, upper-case X) and check its GB 11643 check digit."""
    number = text(value).replace(" ", "").upper()
    if not re.fullmatch(r"\d{17}[\dX]", number):
        raise RosterError("身份证号", "id_format")
    total = sum(int(d) * w for d, w in zip(number[:17], _ID_WEIGHTS, strict=True))
    if _ID_CHECK[total % 11] != number[17]:
        raise RosterError("身份证号", "id_check_digit")
    return number


def id_birth_date(number: str) -> date:
    """Return the birth date an ID number carries."""
    try:
        return date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        raise RosterError("身份证号", "id_birth_date_invalid") from None


def id_key(number: str, key: bytes) -> str:
    """Return the keyed hash an ID number is stored and matched by (never the number itself)."""
    return hmac.new(key, number.encode(), hashlib.sha256).hexdigest()


def mask_id(number: str) -> str:
    """Show an ID number as 3401**********123X: the region and the last four only."""
    return f"{number[:4]}{'*' * 10}{number[14:]}"


def phone(value: Any, column: str) -> str | None:
    """Normalise a mobile (13800000000) or a landline with its area code (0551-62345678); None when empty."""
    raw = re.sub(r"[\s\-()（）]", "", text(value))
    if not raw:
        return None
    raw = re.sub(r"^(?:\+86|0086)", "", raw)
    if re.fullmatch(r"1\d{10}", raw):
        return raw
    landline = re.fullmatch(r"(0(?:10|2\d|[3-9]\d{2}))(\d{7,8})", raw)
    if landline:
        return f"{landline[1]}-{landline[2]}"
    raise RosterError(column, "phone_invalid")


def number(value: Any, column: str, low: float, high: float) -> float | None:
    """Read a coordinate within its range; None when empty."""
    cell = text(value)
    if not cell:
        return None
    try:
        parsed = float(cell)
    except ValueError:
        raise RosterError(column, "number_unreadable") from None
    if not low <= parsed <= high:
        raise RosterError(column, "out_of_range")
    return parsed


def categories(value: Any, known: Mapping[str, str]) -> tuple[str, ...]:
    """Read categories (独居、高龄 / 独居老人,高龄) into codes; ``known`` maps Chinese names to codes."""
    codes: list[str] = []
    for word in _SPLIT.split(text(value)):
        if not word:
            continue
        name = CATEGORY_ALIASES.get(word, word)
        if name not in known:
            name = CATEGORY_ALIASES.get(word.removesuffix("老人"), word.removesuffix("老人"))
        if name not in known:
            raise RosterError("老人类别", "category_unknown")
        if known[name] not in codes:
            codes.append(known[name])
    return tuple(codes)


def level(value: Any) -> int | None:
    """Read a capability-assessment level: 0–4, or its name (能力完好 … 完全失能)."""
    cell = text(value)
    if not cell:
        return None
    if cell in LEVELS:
        return LEVELS[cell]
    if re.fullmatch(r"[0-4]", cell):
        return int(cell)
    raise RosterError("能力等级", "level_unknown")


def schedule(value: Any) -> tuple[WeeklyShift, ...]:
    """Read a weekly schedule: 周一至周五 08:00-20:00；周六 09:00-17:00 (每天 … for every day)."""
    shifts: list[WeeklyShift] = []
    for part in re.split(r"[;；,，]\s*", text(value)):
        if not part:
            continue
        match = _SHIFT.match(part.replace("：", ":"))
        if match is None:
            raise RosterError("排班", "schedule_unreadable")
        start, end = (time.fromisoformat(match[k].zfill(5)) for k in ("start", "end"))
        if match["every"]:
            days = list(range(7))
        else:
            first, last = WEEKDAYS[match["a"]], WEEKDAYS[match["b"] or match["a"]]
            days = [d % 7 for d in range(first, last + 1 + (7 if last < first else 0))]
        shifts += [WeeklyShift(d, start, end) for d in days]
    return tuple(shifts)


# --- rows -------------------------------------------------------------------------------------------------


def parse_roster(
    sheets: Mapping[str, Sequence[Mapping[str, Any]]], id_hash_key: bytes, known_categories: Mapping[str, str]
) -> Parsed:
    """Check every row of the three sheets; a bad row is refused with its reason and the rest go through."""
    parsed = Parsed()
    parsed.stations = _rows(parsed, sheets, "服务站", _station)
    parsed.staff = _rows(parsed, sheets, "护理员", _staff)
    seen: dict[str, int] = {}
    for index, row in enumerate(sheets.get("老人", ()), start=2):
        parsed.rows["老人"] = parsed.rows.get("老人", 0) + 1
        try:
            resident = _resident(row, id_hash_key, known_categories)
            if resident.id_key in seen:
                raise RosterError("身份证号", "id_repeats", seen[resident.id_key])
            seen[resident.id_key] = index
        except RosterError as exc:
            parsed.errors.append(RowError("老人", index, exc.column, exc.reason, exc.repeats_row))
            continue
        parsed.residents.append((index, resident))
    # Whether a row's station exists is the store's to say: it knows the stations already registered.
    return parsed


def _rows(
    parsed: Parsed, sheets: Mapping[str, Sequence[Mapping[str, Any]]], sheet: str, make: Any
) -> list[tuple[int, Any]]:
    out = []
    for index, row in enumerate(sheets.get(sheet, ()), start=2):
        parsed.rows[sheet] = parsed.rows.get(sheet, 0) + 1
        try:
            out.append((index, make(row)))
        except RosterError as exc:
            parsed.errors.append(RowError(sheet, index, exc.column, exc.reason))
    return out


def _station(row: Mapping[str, Any]) -> StationRow:
    area = required(row, "区域")
    if area not in AREAS:
        raise RosterError("区域", "area_unknown")
    lon = number(row.get("经度"), "经度", -180, 180)
    lat = number(row.get("纬度"), "纬度", -90, 90)
    if lat is None or lon is None:
        raise RosterError("经度" if lon is None else "纬度", "required")
    return StationRow(required(row, "名称"), optional(row, "地址"), lat, lon, AREAS[area], required(row, "所属区"))


def _staff(row: Mapping[str, Any]) -> StaffRow:
    url = optional(row, "通知方式")
    if url is not None and not re.fullmatch(r"[a-z][a-z0-9+.-]*://\S+", url):
        raise RosterError("通知方式", "channel_invalid")
    return StaffRow(
        required(row, "姓名"), phone(row.get("手机"), "手机"), required(row, "服务站"), url, schedule(row.get("排班"))
    )


def _resident(row: Mapping[str, Any], key: bytes, known: Mapping[str, str]) -> ResidentRow:
    name = required(row, "姓名")
    number_ = id_number(required(row, "身份证号"))
    station = required(row, "服务站")
    raw_born = row.get("出生日期")
    born = None if raw_born is None or text(raw_born) == "" else parse_date(raw_born, "出生日期")
    if born is not None and born != id_birth_date(number_):
        raise RosterError("出生日期", "birth_date_disagrees_with_id")
    gender = optional(row, "性别")
    if gender is not None and gender not in GENDERS:
        raise RosterError("性别", "gender_unknown")
    risk = text(row.get("风险等级")).upper() or "C"
    if risk not in RISKS:
        raise RosterError("风险等级", "risk_unknown")
    return ResidentRow(
        name=name,
        gender=GENDERS[gender] if gender else None,
        id_key=id_key(number_, key),
        id_masked=mask_id(number_),
        birth_date=born or id_birth_date(number_),
        phone=phone(row.get("手机"), "手机"),
        address=optional(row, "住址"),
        street=optional(row, "街道"),
        community=optional(row, "社区"),
        station=station,
        categories=categories(row.get("老人类别"), known),
        assessment_level=level(row.get("能力等级")),
        risk_class=RISKS[risk],
        lat=number(row.get("纬度"), "纬度", -90, 90),
        lon=number(row.get("经度"), "经度", -180, 180),
        bracelet=optional(row, "手环编号"),
        contacts=tuple(c for c in (_contact(row, 1), _contact(row, 2)) if c is not None),
    )


def _contact(row: Mapping[str, Any], n: int) -> ContactRow | None:
    name = optional(row, f"联系人{n}姓名")
    if name is None:
        return None
    relation = optional(row, f"联系人{n}关系") or ""
    return ContactRow(
        name, relation, RELATIONS.get(relation, "other"), phone(row.get(f"联系人{n}手机"), f"联系人{n}手机")
    )
