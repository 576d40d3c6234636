"""The pages and the public client configuration (tile source, zone, languages, kinds)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import APIRouter
from fastapi.responses import FileResponse, RedirectResponse

from alerts.kinds import ALERT_KINDS
from dashboard.deps import Settings
from dispatch.flow import OUTCOMES

router = APIRouter(tags=["pages"])
STATIC = Path(__file__).resolve().parent.parent / "static"
PAGES = ("login", "console", "figures", "visits", "staff", "family", "reply")


@router.get("/", include_in_schema=False)
def index() -> RedirectResponse:
    """Send visitors to the sign-in page."""
    return RedirectResponse("/login")


def _page(name: str) -> Any:
    """Make a handler that serves one page."""

    def serve() -> FileResponse:
        return FileResponse(STATIC / f"{name}.html", media_type="text/html")

    serve.__name__ = f"page_{name}"
    return serve


for _name in PAGES:
    router.add_api_route(f"/{_name}", _page(_name), methods=["GET"], include_in_schema=False)
router.add_api_route("/reply/{token}", _page("reply"), methods=["GET"], include_in_schema=False)


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
