"""Every answer the server refuses with is a code with parameters, never a sentence (guideline 17)."""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

from fastapi.testclient import TestClient

from tests.dashboard.world import PASSWORD

DASHBOARD = Path(__file__).resolve().parents[2] / "dashboard"
STATIC = DASHBOARD / "static"


def _refusals() -> list[tuple[str, int, ast.expr | None]]:
    """Find every HTTPException built in the dashboard, with the detail it is given."""
    found = []
    for path in DASHBOARD.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "HTTPException":
                detail = (
                    node.args[1]
                    if len(node.args) > 1
                    else next((k.value for k in node.keywords if k.arg == "detail"), None)
                )
                found.append((path.name, node.lineno, detail))
    return found


def test_no_route_refuses_with_a_sentence() -> None:
    for where, line, detail in _refusals():
        if where == "errors.py":
            continue  # refusal() itself: it builds {"code": ..., **params}
        assert not isinstance(detail, (ast.Constant, ast.JoinedStr)), f"{where}:{line}"


def test_every_code_the_server_names_is_translated_in_both_languages() -> None:
    zh = json.loads((STATIC / "i18n" / "zh-CN.json").read_text())
    en = json.loads((STATIC / "i18n" / "en.json").read_text())
    codes = set()
    for path in DASHBOARD.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Dict):
                for key, value in zip(node.keys, node.values, strict=True):
                    if isinstance(key, ast.Constant) and key.value == "code" and isinstance(value, ast.Constant):
                        codes.add(value.value)
            named = isinstance(node, ast.Call) and getattr(node.func, "id", None) == "refusal"
            if named and len(node.args) > 1 and isinstance(node.args[1], ast.Constant):
                codes.add(node.args[1].value)
    assert {"login_wait", "login_failed", "no_such_alert", "role_not_allowed"} <= codes
    missing = sorted(c for c in codes if f"error.{c}" not in zh or f"error.{c}" not in en)
    assert not missing


def test_the_refusals_a_page_meets_are_codes(client: TestClient, login) -> None:
    assert client.get("/api/auth/me").json() == {"detail": {"code": "signed_out"}}
    family = login("family1")
    assert client.get("/api/figures", headers=family).json() == {
        "detail": {"code": "role_not_allowed", "role": "family"}
    }
    assert client.get("/api/alerts/999999", headers=family).json() == {"detail": {"code": "no_such_alert"}}
    assert client.get("/api/no-such-thing").json() == {"detail": {"code": "not_found", "status": 404}}
    assert client.post("/api/alerts/1/reply", json={"answer": "going"}, headers=family).json()["detail"]["code"] in {
        "no_such_alert",
        "not_told_of_alert",
    }


def test_a_request_that_does_not_validate_names_its_fields_in_a_code(client: TestClient) -> None:
    answer = client.post("/api/auth/login", json={"username": "", "extra": 1})
    assert answer.status_code == 422
    detail = answer.json()["detail"]
    assert detail["code"] == "request_invalid"
    assert (detail["field"], detail["problem"]) == (detail["fields"][0]["field"], detail["fields"][0]["problem"])
    problems = {(f["field"], f["problem"]) for f in detail["fields"]}
    assert {("username", "string_too_short"), ("password", "missing"), ("extra", "extra_forbidden")} <= problems


def test_the_language_chosen_is_the_users_and_survives_a_sign_in(client: TestClient) -> None:
    signed = client.post("/api/auth/login", json={"username": "staff1", "password": PASSWORD, "locale": "en"})
    assert signed.json()["user"]["locale"] == "en"
    assert client.get("/api/auth/me").json()["locale"] == "en"
    assert client.put("/api/auth/me/locale", json={"locale": "zh-CN"}).json()["locale"] == "zh-CN"
    assert client.put("/api/auth/me/locale", json={"locale": "fr"}).status_code == 422
    client.post("/api/auth/logout")
    again = client.post("/api/auth/login", json={"username": "staff1", "password": PASSWORD})
    assert again.json()["user"]["locale"] == "zh-CN"


def test_pages_say_refusals_through_the_shared_translator() -> None:
    shown = re.compile(r"\b(?:exc|err|error)\.message\b")
    for script in STATIC.glob("*.js"):
        assert not shown.search(script.read_text()), f"{script.name}: translate refusals with explain(exc)"
