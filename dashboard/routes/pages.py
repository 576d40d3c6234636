"""The pages and the public client configuration (tile source, zone, languages, kinds).

Each role lands on its own page for any URL: a signed-in user who opens a page their role does not use
(a family member on ``/console``, staff on ``/figures``) is sent to their role's home before any of that
page's script runs. A signed-out visitor gets the page, whose first request sends them to sign in.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, RedirectResponse

from alerts.kinds import ALERT_KINDS
from dashboard.deps import Conn, Settings, request_token, user_for_token
from dashboard.roles import ROLES
from dispatch.flow import OUTCOMES

router = APIRouter(tags=["pages"])
STATIC = Path(__file__).resolve().parent.parent / "static"
PAGES = ("login", "console", "figures", "visits", "report", "staff", "family", "reply", "admin", "roster")
OPEN_PAGES = frozenset({"login", "reply"})  # for anyone, signed in or not


@router.get("/", include_in_schema=False)
def index(request: Request, conn: Conn, settings: Settings) -> RedirectResponse:
    """Send a signed-in user to their role's page, anyone else to the sign-in page."""
    user = user_for_token(conn, settings, request_token(request))
    return RedirectResponse(ROLES[user.role].home if user else "/login", status_code=303)


def _page(name: str) -> Any:
    """Make a handler that serves one page, or sends a signed-in user whose role does not use it home."""

    def serve(request: Request, conn: Conn, settings: Settings) -> FileResponse | RedirectResponse:
        if name not in OPEN_PAGES:
            user = user_for_token(conn, settings, request_token(request))
            if user is not None and f"/{name}" not in ROLES[user.role].pages:
                return RedirectResponse(ROLES[user.role].home, status_code=303)
        return FileResponse(STATIC / f"{name}.html", media_type="text/html")

    serve.__name__ = f"page_{name}"
    return serve


for _name in PAGES:
    router.add_api_route(f"/{_name}", _page(_name), methods=["GET"], include_in_schema=False, response_model=None)
router.add_api_route("/reply/{token}", _page("reply"), methods=["GET"], include_in_schema=False, response_model=None)


@router.get("/api/config")
def config(settings: Settings) -> dict[str, Any]:
    """Return what the pages need to know before sign-in."""
    return {
        "timezone": settings.timezone,
        "default_locale": settings.default_locale,
        "tile_url": settings.tile_url,
        "tile_subdomains": settings.tile_subdomains,
        "tile_crs": settings.tile_crs,
        "tile_attribution": settings.tile_attribution,
        "map_center": list(settings.map_center),
        "kinds": {k: {"severity": int(v.severity), "en": v.title_en, "zh": v.title_zh} for k, v in ALERT_KINDS.items()},
        "staff_outcomes": {k: {"en": v.name_en, "zh": v.name_zh} for k, v in OUTCOMES.items()},
    }
