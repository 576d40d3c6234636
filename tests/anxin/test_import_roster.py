"""`anxin import roster`: a messy workbook the test builds, dry run then real, a re-import that changes nothing.

The workbook has every form real lists come in (full-width digits, dates as text, as ``1945年3月2日`` and as
date cells, lower-case x, +86 phones, landlines, categories with 、 and 老人, levels by name) and rows that
must be refused; the figures in the JSON report are checked against what the database then holds.
"""

from __future__ import annotations

import argparse
import json
from datetime import datetime
from pathlib import Path
from typing import Any

import psycopg
import pytest
from openpyxl import Workbook, load_workbook

from anxin.commands.imports import run
from dispatch.roster import SHEETS
from tests.dispatch.test_roster import valid_id

WANG = valid_id("34010219450302123")
LI = valid_id("34012219380715002")  # ends in a digit or X: written here in lower case when it is X
ZHAO = valid_id("34010219400101789")


def _book(path: Path, residents: list[list[Any]]) -> Path:
    book = Workbook()
    assert book.active is not None
    book.remove(book.active)
    stations = book.create_sheet("服务站")
    stations.append(list(SHEETS["服务站"]))
    stations.append([" 幸福路服务站 ", "幸福路1号", "１１７.２７", "31.86", "城市", "蜀山区"])
    stations.append(["河湾服务站", None, 117.10, 31.70, "农村", "肥西县"])
    stations.append(["无坐标站", None, None, None, "城市", "蜀山区"])  # refused: no position
    staff = book.create_sheet("护理员")
    staff.append(list(SHEETS["护理员"]))
    staff.append(["李红", "+86 139-0000-0001", "幸福路服务站", "json://127.0.0.1:9/li", "周一至周五 08:00-20:00"])
    staff.append(["张伟", "0551-62345678", "河湾服务站", None, "每天 20:00-08:00"])
    staff.append(["陈静", "13900000003", "不存在的站", None, "周一 08:00-12:00"])  # refused: unknown station
    people = book.create_sheet("老人")
    people.append(list(SHEETS["老人"]))
    for row in residents:
        people.append(row)
    book.save(path)
    return path


def _resident(name: str, number: str, born: Any, **cells: Any) -> list[Any]:
    values = {
        "姓名": name,
        "性别": "女",
        "身份证号": number,
        "出生日期": born,
        "手机": "+86 138 0000 0001",
        "住址": "幸福路10号",
        "街道": "三里庵街道",
        "社区": "幸福社区",
        "服务站": "幸福路服务站",
        "老人类别": "独居老人、高龄",
        "能力等级": "轻度失能",
        "风险等级": "a",
        "经度": 117.271,
        "纬度": 31.861,
        "手环编号": None,
        "联系人1姓名": "王小红",
        "联系人1关系": "女儿",
        "联系人1手机": "139 0000 0002",
        "联系人2姓名": None,
        "联系人2关系": None,
        "联系人2手机": None,
    } | cells
    return [values[h] for h in SHEETS["老人"]]


ROWS = [
    _resident("王秀英", WANG, "1945年3月2日", 手环编号="B-0001"),
    _resident(
        "李桂兰",
        LI.lower(),
        datetime(1938, 7, 15),
        老人类别="空巢，低保",
        能力等级="２",
        联系人2姓名="邻居刘",
        联系人2关系="邻居",
    ),
    _resident("赵大爷", ZHAO, "1940/1/1", 手机="0551-6234 5679", 服务站="河湾服务站", 老人类别="特困"),
    _resident("错号", WANG[:-1] + ("1" if WANG[-1] != "1" else "2"), None),  # row 5: check digit
    _resident("重复", WANG, None),  # row 6: repeats row 2
    _resident("", valid_id("34010219500505111"), None),  # row 7: no name
    _resident("无站", valid_id("34010219500505222"), None, 服务站="月亮站"),  # row 8: unknown station
    _resident("错生日", valid_id("34010219500505333"), "1950-05-06"),  # row 9: birth date disagrees
]


def _import(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], db_url: str, *files: Path, dry: bool = False
) -> dict[str, Any]:
    monkeypatch.setenv("DATABASE_URL", db_url)
    monkeypatch.setenv("ANXIN_ID_KEY", "k" * 40)
    args = argparse.Namespace(files=list(files), dry_run=dry, template=None)
    assert run(args) == 0
    return json.loads(capsys.readouterr().out.strip().splitlines()[-1])


def _count(db_url: str, query: str) -> int:
    with psycopg.connect(db_url) as conn:
        row = conn.execute(query).fetchone()
    assert row is not None
    return int(row[0])


def test_a_messy_roster_dry_run_then_real_then_again(
    tmp_path: Path, db_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    book = _book(tmp_path / "roster.xlsx", ROWS)
    dry = _import(monkeypatch, capsys, db_url, book, dry=True)
    assert dry["dry_run"] is True
    assert _count(db_url, "SELECT count(*) FROM residents") == 0, "a dry run stores nothing"

    first = _import(monkeypatch, capsys, db_url, book)
    assert {k: first[k] for k in ("stations", "staff", "residents")} == {
        k: dry[k] for k in ("stations", "staff", "residents")
    }
    assert first["stations"] | {"errors": None} == {
        "rows": 3,
        "imported": 2,
        "updated": 0,
        "unchanged": 0,
        "rejected": 1,
        "errors": None,
    }
    assert first["staff"]["imported"] == 2 and first["staff"]["errors"] == [
        {"row": 4, "column": "服务站", "reason": "station_unknown"}
    ]
    residents = first["residents"]
    assert (residents["rows"], residents["imported"], residents["rejected"]) == (8, 3, 5)
    assert residents["errors"] == [
        {"row": 5, "column": "身份证号", "reason": "id_check_digit"},
        {"row": 6, "column": "身份证号", "reason": "id_repeats", "repeats_row": 2},
        {"row": 7, "column": "姓名", "reason": "required"},
        {"row": 8, "column": "服务站", "reason": "station_unknown"},
        {"row": 9, "column": "出生日期", "reason": "birth_date_disagrees_with_id"},
    ]
    with psycopg.connect(db_url) as conn:
        wang = conn.execute(
            "SELECT r.name, r.id_masked, r.id_key <> %s, r.birth_date, r.phone, r.assessment_level, r.risk_class,"
            " s.name, d.name FROM residents r JOIN stations s ON s.id = r.station_id"
            " JOIN districts d ON d.id = s.district_id WHERE r.name = '王秀英'",
            (WANG,),
        ).fetchone()
        li = conn.execute("SELECT id_masked, assessment_level FROM residents WHERE name = '李桂兰'").fetchone()
        cats = conn.execute(
            "SELECT array_agg(code ORDER BY code) FROM resident_categories c JOIN residents r ON r.id = c.resident_id"
            " WHERE r.name = '李桂兰'"
        ).fetchone()
        zhao = conn.execute("SELECT phone, area_type FROM residents WHERE name = '赵大爷'").fetchone()
        contacts = conn.execute(
            "SELECT c.position, c.relation, c.relation_label, c.phone FROM emergency_contacts c JOIN residents r"
            " ON r.id = c.resident_id WHERE r.name = '李桂兰' ORDER BY position"
        ).fetchall()
        bracelet = conn.execute(
            "SELECT r.name FROM devices d JOIN residents r ON r.id = d.resident_id WHERE d.id = 'B-0001'"
        ).fetchone()
        shifts = conn.execute(
            "SELECT count(*) FROM shifts s JOIN staff f ON f.id = s.staff_id WHERE f.name = '张伟'"
        ).fetchone()
        stored = " ".join(str(v) for v in conn.execute("SELECT row_to_json(r)::text FROM residents r").fetchall())
    assert wang == (
        "王秀英",
        f"{WANG[:4]}**********{WANG[14:]}",
        True,
        datetime(1945, 3, 2).date(),
        "13800000001",
        1,
        "A",
        "幸福路服务站",
        "蜀山区",
    )
    assert li == (f"{LI[:4]}**********{LI[14:]}", 2)
    assert cats == (["empty_nest", "subsistence_allowance"],)
    assert zhao == ("0551-62345679", "countryside")
    assert contacts == [(1, "family", "女儿", "13900000002"), (2, "neighbour", "邻居", None)]
    assert bracelet == ("王秀英",)
    assert shifts is not None and shifts[0] >= 14, "the weekly pattern became shifts for the coming weeks"
    assert WANG not in stored and LI not in stored and LI.lower() not in stored, "no ID number is stored in clear"

    again = _import(monkeypatch, capsys, db_url, book)
    assert (again["residents"]["imported"], again["residents"]["updated"], again["residents"]["unchanged"]) == (0, 0, 3)
    assert (again["stations"]["unchanged"], again["staff"]["unchanged"]) == (2, 2)

    edited = [*ROWS]
    edited[0] = _resident("王秀英", WANG, "1945年3月2日", 手环编号="B-0001", 风险等级="B")
    changed = _import(monkeypatch, capsys, db_url, _book(tmp_path / "edited.xlsx", edited))
    assert (changed["residents"]["updated"], changed["residents"]["unchanged"]) == (1, 2)
    assert _count(db_url, "SELECT count(*) FROM residents") == 3


def test_csv_per_sheet_in_gb18030_and_the_template(
    tmp_path: Path, db_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "服务站.csv").write_bytes(
        ("名称,地址,经度,纬度,区域,所属区\n幸福路服务站,,117.27,31.86,城市,蜀山区\n").encode("gb18030")
    )
    header = ",".join(SHEETS["老人"])
    line = ",".join(str(v) if v is not None else "" for v in _resident("王秀英", WANG, "1945/3/2", 老人类别="独居"))
    (tmp_path / "老人.csv").write_text(f"\ufeff{header}\n{line}\n", encoding="utf-8")
    report = _import(monkeypatch, capsys, db_url, tmp_path / "服务站.csv", tmp_path / "老人.csv")
    assert report["residents"]["imported"] == 1 and report["stations"]["imported"] == 1

    monkeypatch.setenv("DATABASE_URL", db_url)
    assert run(argparse.Namespace(files=[], dry_run=False, template=tmp_path / "template.xlsx")) == 0
    template = load_workbook(tmp_path / "template.xlsx")
    for sheet, headers in SHEETS.items():
        assert [c.value for c in template[sheet][1]] == list(headers)
