"""The roster's cells, read the way civil-affairs offices really write them, and the rows refused with reasons."""

from __future__ import annotations

from datetime import date, datetime, time

import pytest

from dispatch.roster import (
    RosterError,
    WeeklyShift,
    categories,
    id_number,
    level,
    mask_id,
    parse_date,
    parse_roster,
    phone,
    schedule,
    text,
)

KEY = b"test-id-key-0123456789abcdef"
KNOWN = {
    "独居": "living_alone",
    "空巢": "empty_nest",
    "高龄": "advanced_age",
    "低保": "subsistence_allowance",
    "特困": "extreme_poverty",
}


def valid_id(body17: str) -> str:
    """Complete 17 digits with their GB 11643 check character."""
    weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    return body17 + "10X98765432"[sum(int(d) * w for d, w in zip(body17, weights, strict=True)) % 11]


def test_full_width_and_spaces_are_normalised() -> None:
    assert text("　张　三 ") == "张 三"
    assert text("１３８００００００００") == "13800000000"
    assert text(13800000000.0) == "13800000000"
    assert text(None) == ""


@pytest.mark.parametrize(
    "cell",
    [
        "1945/3/2",
        "1945-03-02",
        "1945年3月2日",
        "１９４５年３月２日",
        " 1945.3.2 ",
        datetime(1945, 3, 2),
        date(1945, 3, 2),
        16498,
    ],
)
def test_dates_in_every_form(cell: object) -> None:
    assert parse_date(cell, "出生日期") == date(1945, 3, 2)


def test_an_unreadable_date_is_refused() -> None:
    with pytest.raises(RosterError) as refused:
        parse_date("三月二日", "出生日期")
    assert refused.value.reason == "date_unreadable"


def test_id_numbers_check_digit_and_lower_case_x() -> None:
    number = "11010519491231002X"  # the standard's own example
    assert id_number(number.lower()) == number
    assert id_number("１１０１０５１９４９１２３１００２ｘ") == number
    with pytest.raises(RosterError) as refused:
        id_number("110105194912310021")
    assert refused.value.reason == "id_check_digit"
    assert mask_id(number) == "1101**********002X"


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ("+86 138-0000-0000", "13800000000"),
        ("008613800000000", "13800000000"),
        ("138 0000 0000", "13800000000"),
        ("0551-62345678", "0551-62345678"),
        ("(010) 6234 5678", "010-62345678"),
        ("", None),
    ],
)
def test_phones(cell: str, expected: str | None) -> None:
    assert phone(cell, "手机") == expected


def test_categories_with_every_separator_and_with_or_without_laoren() -> None:
    assert categories("独居老人、高龄", KNOWN) == ("living_alone", "advanced_age")
    assert categories("独居，低保;特困供养", KNOWN) == ("living_alone", "subsistence_allowance", "extreme_poverty")
    assert categories("空巢老人,空巢", KNOWN) == ("empty_nest",)
    with pytest.raises(RosterError) as refused:
        categories("独居、富裕", KNOWN)
    assert refused.value.reason == "category_unknown"


@pytest.mark.parametrize(("cell", "expected"), [("2", 2), ("２", 2), ("中度失能", 2), ("完全失能", 4), ("", None)])
def test_capability_levels(cell: str, expected: int | None) -> None:
    assert level(cell) == expected


def test_weekly_schedules() -> None:
    week = schedule("周一至周五 08:00-20:00；周六 09:00-17:00")
    assert [w.weekday for w in week] == [0, 1, 2, 3, 4, 5]
    assert week[0] == WeeklyShift(0, time(8), time(20))
    assert len(schedule("每天 20:00-08:00")) == 7
    assert [w.weekday for w in schedule("周六到周日 8:00-12:00")] == [5, 6]
    with pytest.raises(RosterError):
        schedule("工作日白班")


def _resident(**cells: object) -> dict[str, object]:
    row: dict[str, object] = {"姓名": "王秀英", "身份证号": valid_id("34010219450302123"), "服务站": "幸福站"}
    return row | cells


def test_bad_rows_are_refused_with_row_column_and_reason_and_the_rest_go_through() -> None:
    good = valid_id("34010219450302123")
    other = valid_id("34010219380101456")
    rows = [
        _resident(出生日期="1945年3月2日"),  # row 2: fine
        _resident(身份证号=good[:-1] + ("0" if good[-1] != "0" else "1")),  # row 3: check digit
        _resident(身份证号=other, 出生日期="1938/1/2"),  # row 4: birth date disagrees with the ID
        _resident(身份证号=other, 姓名=""),  # row 5: name required
        _resident(身份证号=good),  # row 6: repeats row 2
        _resident(身份证号=other, 老人类别="富裕"),  # row 7: unknown category
        _resident(身份证号=valid_id("34010219400101789"), 服务站="  "),  # row 8: station required
    ]
    parsed = parse_roster({"老人": rows}, KEY, KNOWN)
    assert [r for r, _ in parsed.residents] == [2]
    assert [(e.row, e.column, e.reason) for e in parsed.errors] == [
        (3, "身份证号", "id_check_digit"),
        (4, "出生日期", "birth_date_disagrees_with_id"),
        (5, "姓名", "required"),
        (6, "身份证号", "id_repeats"),
        (7, "老人类别", "category_unknown"),
        (8, "服务站", "required"),
    ]
    resident = parsed.residents[0][1]
    assert resident.id_masked.startswith("3401") and "*" * 10 in resident.id_masked
    assert good not in repr(resident), "the ID number itself is never kept"
