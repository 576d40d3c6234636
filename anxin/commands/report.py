"""`anxin report monthly --month 2026-11 [--district D] --out F.xlsx`: the bureau's monthly report as a workbook.

With no ``DATABASE_URL`` it reads the local services under ``ANXIN_DATA_DIR``. The last line printed is a
summary as JSON (the month, the district, the overall answer and arrival figures, the file written).
"""

from __future__ import annotations

import argparse
import json
from datetime import date
from pathlib import Path
from typing import Any

import psycopg

from anxin.commands.common import database
from anxin.settings import load_settings
from dashboard.reports import monthly_workbook
from dashboard.store.reports import monthly_report


def register(sub: Any) -> None:
    """Add the `report` subcommand."""
    parser: argparse.ArgumentParser = sub.add_parser("report", help="reports for the civil-affairs bureau")
    kinds = parser.add_subparsers(dest="kind", required=True)
    monthly = kinds.add_parser("monthly", help="one month: response, alerts, visits, devices, residents")
    monthly.add_argument("--month", required=True, help="YYYY-MM")
    monthly.add_argument("--district", default=None, help="one district only")
    monthly.add_argument("--out", type=Path, required=True, help="the .xlsx file to write")
    monthly.add_argument("--lang", choices=("zh", "en"), default="zh")
    monthly.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Write the month's workbook and print its summary."""
    year, month = (int(part) for part in args.month.split("-"))
    settings = load_settings()
    with database(settings) as url, psycopg.connect(url) as conn:
        report = monthly_report(conn, date(year, month, 1), settings.timezone, args.district)
    args.out.write_bytes(monthly_workbook(report, args.lang))
    overall = report["response"]["overall"]
    keys = ("alerts", "answer_needed", "answered_in_time", "never_answered", "arrival_needed", "arrived_in_time")
    summary = {"report": "monthly", "month": report["month"], "district": args.district, "out": str(args.out)}
    print(
        json.dumps(summary | {k: overall[k] for k in (*keys, "never_arrived", "never_dispatched")}, ensure_ascii=False)
    )
    return 0
