"""Roster files in and out: an .xlsx workbook (openpyxl) or one CSV file per sheet, and the blank template.

Reading keeps cells as they are (a date cell stays a date; text is normalised by `dispatch.roster`);
the header row names the columns, empty rows are skipped. CSV files are named after their sheet
(``老人.csv``) and may be UTF-8 (with or without BOM) or GB18030, as spreadsheet programs in China save them.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from openpyxl import Workbook, load_workbook
from openpyxl.styles import Font

from dispatch.roster import SHEETS

Sheets = dict[str, list[dict[str, Any]]]
_HELP = (
    ("服务站", "区域：城市 或 农村；所属区：区县名称（新区县会自动建立）；经纬度用 WGS-84。"),
    (
        "护理员",
        "服务站：服务站名称；通知方式：企业微信/钉钉/飞书机器人地址（Apprise URL）或 https 回调地址；"
        "排班：如“周一至周五 08:00-20:00；周六 09:00-17:00”或“每天 08:00-20:00”。",
    ),
    (
        "老人",
        "必填：姓名、身份证号、服务站。出生日期可写 1945/3/2、1945-03-02 或 1945年3月2日；"
        "老人类别用顿号或逗号分隔（如“独居、高龄”）；能力等级 0–4 或 能力完好/轻度失能/中度失能/重度失能/完全失能；"
        "风险等级 A/B/C。身份证号只保存加密摘要和掩码。",
    ),
)


class RosterFileError(ValueError):
    """A file that cannot be read as a roster."""


def read_roster(paths: Sequence[Path]) -> Sheets:
    """Read one workbook, or CSV files named after their sheets, into rows of ``{header: cell}``."""
    sheets: Sheets = {}
    for path in paths:
        if path.suffix.lower() == ".xlsx":
            sheets |= _workbook(path)
        elif path.suffix.lower() == ".csv":
            if path.stem not in SHEETS:
                raise RosterFileError(f"{path.name}: a CSV file is named after its sheet: {', '.join(SHEETS)}")
            sheets[path.stem] = _csv(path)
        else:
            raise RosterFileError(f"{path.name}: not an .xlsx workbook or a .csv file")
    missing = [s for s in SHEETS if s not in sheets]
    if len(missing) == len(SHEETS):
        raise RosterFileError(f"no sheet named {', '.join(SHEETS)}")
    return sheets


def _rows(header: Sequence[Any], body: Sequence[Sequence[Any]]) -> list[dict[str, Any]]:
    names = [str(h).strip() if h is not None else "" for h in header]
    out = []
    for cells in body:
        if all(c is None or str(c).strip() == "" for c in cells):
            continue
        out.append({n: c for n, c in zip(names, cells, strict=False) if n})
    return out


def _workbook(path: Path) -> Sheets:
    try:
        book = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a file that is not a workbook
        raise RosterFileError(f"{path.name}: not a readable workbook ({type(exc).__name__})") from exc
    sheets: Sheets = {}
    for title in book.sheetnames:
        if title.strip() in SHEETS:
            values = list(book[title].iter_rows(values_only=True))
            sheets[title.strip()] = _rows(values[0], values[1:]) if values else []
    book.close()
    return sheets


def _csv(path: Path) -> list[dict[str, Any]]:
    raw = path.read_bytes()
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = raw.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise RosterFileError(f"{path.name}: neither UTF-8 nor GB18030")
    rows = list(csv.reader(io.StringIO(text)))
    return _rows(rows[0], rows[1:]) if rows else []


def write_template(path: Path) -> None:
    """Write the blank roster workbook: the three sheets with their exact headers, and a sheet of instructions."""
    book = Workbook()
    assert book.active is not None
    book.remove(book.active)
    for title, headers in SHEETS.items():
        sheet = book.create_sheet(title)
        sheet.append(list(headers))
        for cell in sheet[1]:
            cell.font = Font(bold=True)
        for index, header in enumerate(headers, start=1):
            sheet.column_dimensions[sheet.cell(1, index).column_letter].width = max(10, 2.2 * len(header) + 4)
        sheet.freeze_panes = "A2"
    notes = book.create_sheet("说明")
    notes.append(["工作表", "填写说明"])
    for row in _HELP:
        notes.append(list(row))
    notes.column_dimensions["B"].width = 120
    book.save(path)
