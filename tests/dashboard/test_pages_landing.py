"""Each role lands on its own page for any URL; signed-out visitors get the page, which sends them to sign in."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from dashboard.roles import ROLES
from dashboard.routes.pages import OPEN_PAGES
from dashboard.routes.pages import PAGES as SERVED
from tests.dashboard.world import PASSWORD

PAGES = ("/console", "/figures", "/visits", "/report", "/staff", "/family")
# role's user → the pages they may open (any other sends them to the first, their home)
OWN = {
    "admin": ("/console", "/figures", "/visits", "/report"),
    "supervisor": ("/figures", "/console", "/visits", "/report"),
    "operator": ("/console",),
    "staff1": ("/staff",),
    "family1": ("/family",),
}


@pytest.mark.parametrize("username", list(OWN))
def test_every_page_sends_a_role_that_does_not_use_it_home(client: TestClient, username: str) -> None:
    assert client.post("/api/auth/login", json={"username": username, "password": PASSWORD}).status_code == 200
    home, *others = OWN[username]
    for page in PAGES:
        answer = client.get(page + "?x=1", follow_redirects=False)
        if page in (home, *others):
            assert answer.status_code == 200, (username, page)
        else:
            assert (answer.status_code, answer.headers["location"]) == (303, home), (username, page)
    assert client.get("/", follow_redirects=False).headers["location"] == home
    for page in ("/login", "/reply/some-token"):
        assert client.get(page, follow_redirects=False).status_code == 200


def test_signed_out_visitors_get_the_page_and_the_root_sends_them_to_sign_in(client: TestClient) -> None:
    for page in PAGES:
        assert client.get(page, follow_redirects=False).status_code == 200
    assert client.get("/", follow_redirects=False).headers["location"] == "/login"


def test_every_page_belongs_to_some_role_or_to_everyone() -> None:
    orphans = [p for p in SERVED if p not in OPEN_PAGES and not any(f"/{p}" in r.pages for r in ROLES.values())]
    assert not orphans, "a page no role may open sends everyone home: list it in dashboard.roles"
