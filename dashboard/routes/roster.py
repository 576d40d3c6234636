"""The roster upload (admin): the civil-affairs workbook sent from the browser, previewed (dry run) then imported.

The same checks and the same report as `anxin import roster`: the body is the .xlsx file itself (no form
encoding), checked row by row by `dispatch.roster`, stored by `dispatch.roster_store` in one transaction
that a preview rolls back. The ID numbers are hashed with the deployment's key, which the composition root
hands in; they are never stored or answered in clear.
"""

from __future__ import annotations

import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
from fastapi import APIRouter, HTTPException, Request, status
from starlette.concurrency import run_in_threadpool

from dashboard.actions import Actions
from dashboard.deps import Admin, Audit, Settings
from dispatch.roster import parse_roster
from dispatch.roster_files import RosterFileError, read_roster
from dispatch.roster_store import apply_roster, known_categories

router = APIRouter(prefix="/api/admin/roster", tags=["admin"])
MAX_BYTES = 20 * 1024 * 1024  # a district's roster is a few thousand rows; a bigger upload is a mistake


@router.post("", responses={400: {}, 413: {}, 503: {}})
async def upload_roster(
    request: Request, _: Admin, settings: Settings, log: Audit, dry_run: bool = True
) -> dict[str, Any]:
    """Check (``dry_run``, the default) or import the uploaded roster workbook; answer the import report."""
    acts: Actions = request.app.state.actions
    if acts.roster_key is None:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, {"code": "service_unavailable", "service": "roster"})
    body = await request.body()
    if len(body) > MAX_BYTES:
        raise HTTPException(
            status.HTTP_413_CONTENT_TOO_LARGE, {"code": "upload_too_large", "max_mb": MAX_BYTES // 2**20}
        )
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "roster.xlsx"
        path.write_bytes(body)
        try:
            sheets = read_roster([path])
        except RosterFileError as exc:
            raise HTTPException(status.HTTP_400_BAD_REQUEST, {"code": "roster_unreadable"}) from exc
    report = await run_in_threadpool(
        _apply, request.app.state.pool, sheets, acts.roster_key, settings.timezone, dry_run
    )
    log(
        "import" if not dry_run else "preview",
        "roster",
        None,
        {k: v["rows"] for k, v in report.items() if isinstance(v, dict)},
    )
    return {"import": "roster", "dry_run": dry_run} | report


def _apply(pool: Any, sheets: Any, key: bytes, zone: str, dry_run: bool) -> dict[str, Any]:
    """Run the import in one transaction of its own; a preview rolls it back (the same work, the same figures)."""
    with pool.connection() as conn, conn.transaction():
        tallies = apply_roster(conn, parse_roster(sheets, key, known_categories(conn)), datetime.now(UTC), zone)
        report = {k: t.as_dict() for k, t in tallies.items()}
        if dry_run:
            raise psycopg.Rollback  # the transaction block rolls back and swallows it
    return report
