"""The roster from the admin's browser: a preview that stores nothing, then the import, with the same report.

The workbook is the messy one the command's test builds; the page is driven in headless Chromium, both
languages: the file chosen, the preview's counts and refused rows with their reasons, then the import.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from psycopg_pool import ConnectionPool

from dashboard.app import create_app
from tests.anxin.test_import_roster import ROWS, _book
from tests.dashboard.test_e2e import CHROMIUM, NO_TILES, SHOTS, WEB
from tests.dashboard.world import PASSWORD, Platform, RootedBroker, serve, settings

needs_browser = pytest.mark.skipif(
    not (Path(CHROMIUM).exists() and (WEB / "node_modules" / "playwright-core").is_dir()),
    reason="needs Debian's chromium and `npm ci` in dashboard/web",
)


@pytest.fixture
def served_url(pool: ConnectionPool[Any], world: Platform, broker: RootedBroker) -> Iterator[str]:
    """Serve the dashboard on a free port (the roster's key is the test world's)."""
    app = create_app(settings(tile_url=NO_TILES), pool, subscriber=broker, actions=world.actions())
    with serve(app) as base:
        yield base


def _count(pool: ConnectionPool[Any]) -> int:
    with pool.connection() as conn:
        row = conn.execute("SELECT count(*) FROM residents WHERE id_key IS NOT NULL").fetchone()
    assert row is not None
    return int(row[0])


def test_preview_then_import_over_http(
    client: TestClient, login: Callable[[str], dict[str, str]], pool: ConnectionPool[Any], tmp_path: Path
) -> None:
    body = _book(tmp_path / "roster.xlsx", ROWS).read_bytes()
    admin = login("admin")
    preview = client.post("/api/admin/roster", content=body, headers=admin)
    assert preview.status_code == 200, preview.text
    report = preview.json()
    assert report["dry_run"] is True and _count(pool) == 0, "a preview stores nothing"
    assert (report["residents"]["imported"], report["residents"]["rejected"]) == (3, 5)
    assert {"row": 6, "column": "身份证号", "reason": "id_repeats", "repeats_row": 2} in report["residents"]["errors"]
    done = client.post("/api/admin/roster?dry_run=false", content=body, headers=admin).json()
    assert {k: done[k] for k in ("stations", "staff", "residents")} == {
        k: report[k] for k in ("stations", "staff", "residents")
    }
    assert _count(pool) == 3
    again = client.post("/api/admin/roster?dry_run=false", content=body, headers=admin).json()
    assert again["residents"]["unchanged"] == 3
    bad = client.post("/api/admin/roster", content=b"not a workbook", headers=admin)
    assert (bad.status_code, bad.json()["detail"]) == (400, {"code": "roster_unreadable"})
    assert client.post("/api/admin/roster", content=body, headers=login("supervisor")).status_code == 403


@needs_browser
def test_the_upload_page_previews_then_imports(served_url: str, tmp_path: Path, pool: ConnectionPool[Any]) -> None:
    book = _book(tmp_path / "roster.xlsx", ROWS)
    env = {**os.environ, "BASE_URL": served_url, "SHOTS": str(SHOTS), "PASSWORD": PASSWORD, "ANXIN_WEB": str(WEB)}
    env |= {"CHROMIUM": CHROMIUM, "ROSTER": str(book)}
    SHOTS.mkdir(parents=True, exist_ok=True)
    script = Path(__file__).parent / "e2e" / "roster_upload.mjs"
    run = subprocess.run(["node", str(script)], env=env, capture_output=True, text=True, timeout=120, check=False)
    result = json.loads(run.stdout.strip().splitlines()[-1])
    assert result.get("ok"), (result, run.stderr[-2000:])
    assert result["zh"]["previewResidents"][:3] == ["老人", "8", "3"]
    assert "身份证号与第 2 行重复" in result["zh"]["errors"]
    assert "ID number repeats row 2" in result["en"]["errors"]
    assert result["zh"]["storedAfterPreview"] is False
    assert _count(pool) == 3
