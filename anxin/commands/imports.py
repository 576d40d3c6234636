"""`anxin import roster FILE…`: load a district's stations, staff and residents from the civil-affairs spreadsheet.

``FILE`` is an .xlsx workbook with the sheets 服务站, 护理员 and 老人 (or one CSV file per sheet, named after
it); ``--dry-run`` checks and counts everything and stores nothing; ``--template OUT.xlsx`` writes the blank
workbook with the exact headers. With no ``DATABASE_URL`` it works on the local services under
``ANXIN_DATA_DIR``, as ``anxin run`` does. The last line printed is the report as JSON: per sheet the rows,
imported, updated, unchanged and rejected, and each refused row's number, column and reason.
"""

from __future__ import annotations

import argparse
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg

from anxin.care import local_secret
from anxin.commands.common import database
from anxin.settings import load_settings
from dispatch.roster import parse_roster
from dispatch.roster_files import RosterFileError, read_roster, write_template
from dispatch.roster_store import apply_roster, known_categories


def register(sub: Any) -> None:
    """Add the `import` subcommand and its `roster` kind."""
    parser: argparse.ArgumentParser = sub.add_parser("import", help="load a district from spreadsheets")
    kinds = parser.add_subparsers(dest="kind", required=True)
    roster = kinds.add_parser("roster", help="stations, staff and residents from the civil-affairs roster")
    roster.add_argument("files", nargs="*", type=Path, help="an .xlsx workbook, or 服务站.csv 护理员.csv 老人.csv")
    roster.add_argument("--dry-run", action="store_true", help="check and count, store nothing")
    roster.add_argument("--template", type=Path, help="write the blank roster workbook here and stop")
    roster.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Import (or check) a roster and print the report; exit 1 if the file could not be read."""
    if args.template is not None:
        write_template(args.template)
        print(json.dumps({"import": "roster", "template": str(args.template)}, ensure_ascii=False))
        return 0
    if not args.files:
        raise SystemExit("give the roster file(s), or --template OUT.xlsx")
    try:
        sheets = read_roster(args.files)
    except RosterFileError as exc:
        print(json.dumps({"import": "roster", "error": str(exc)}, ensure_ascii=False))
        return 1
    settings = load_settings()
    key = local_secret(settings, "id_key").encode()
    with database(settings) as url, psycopg.connect(url) as conn:  # one transaction: a dry run is rolled back
        parsed = parse_roster(sheets, key, known_categories(conn))
        tallies = apply_roster(conn, parsed, datetime.now(UTC), settings.timezone)
        if args.dry_run:
            conn.rollback()
    report = {"import": "roster", "dry_run": bool(args.dry_run)} | {k: t.as_dict() for k, t in tallies.items()}
    print(json.dumps(report, ensure_ascii=False, default=str))
    return 0
