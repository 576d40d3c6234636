"""The dashboard's FastAPI app: REST API, WebSocket push, and the pages, built from settings and a pool."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from prometheus_client import CollectorRegistry
from psycopg_pool import ConnectionPool
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.base import RequestResponseEndpoint

from dashboard.actions import Actions
from dashboard.errors import DashboardError
from dashboard.live import (
    BrokerSubscriber,
    LiveCollector,
    LiveHub,
    parse_alert,
    parse_dispatch,
    parse_position,
    status_parser,
)
from dashboard.routes import ROUTERS
from dashboard.settings import DashboardSettings
from dashboard.store.devices import residents_of
from ingest.health import Check, standard_readiness
from ingest.metrics import PolicyJobCollector

HERE = Path(__file__).resolve().parent
_CSP = (
    "default-src 'self'; img-src 'self' data: blob: {tiles}; style-src 'self' 'unsafe-inline'; "
    "script-src 'self'; connect-src 'self' ws: wss:; media-src 'self' data:; frame-ancestors 'none'"
)


def _tile_origin(url: str) -> str:
    """Return the tile source's origin for the CSP; a templated subdomain becomes a ``*.`` wildcard."""
    scheme, _, rest = url.partition("://")
    labels = rest.split("/", 1)[0].split(".")
    templated = [i for i, label in enumerate(labels) if "{" in label]
    if templated:
        labels = ["*", *labels[templated[-1] + 1 :]]
    return f"{scheme}://{'.'.join(labels)}"


class DeviceOwners:
    """The resident each device belongs to, read for a batch of devices at once and trusted for ``ttl_s``.

    A device given to someone else (a bracelet passed on) or registered after its first status is
    followed within ``ttl_s``; before it, its status still goes to those who saw its former owner.
    """

    def __init__(self, pool: ConnectionPool[Any], ttl_s: float = 30.0, clock: Callable[[], float] = time.monotonic):
        self._pool = pool
        self._ttl_s = ttl_s
        self._clock = clock
        self._known: dict[str, tuple[str | None, float]] = {}  # device → (resident, read at)
        self.reads = 0  # database reads: one per batch that had a device not known or too old

    def _read(self, device_ids: set[str]) -> dict[str, str | None]:
        with self._pool.connection() as conn:
            return residents_of(conn, device_ids)

    async def __call__(self, device_ids: set[str]) -> dict[str, str | None]:
        """Return the resident of each device, reading those not known or known too long ago."""
        if len(self._known) > 100_000:  # a bound, far above a district's devices
            self._known.clear()
        now = self._clock()
        stale = {d for d in device_ids if d not in self._known or now - self._known[d][1] > self._ttl_s}
        found = {d: self._known[d][0] for d in device_ids - stale}  # taken before the read gives up the loop
        if stale:
            self.reads += 1
            read = await run_in_threadpool(self._read, stale)
            self._known.update({d: (resident, now) for d, resident in read.items()})
            found.update(read)
        return found


def _changes(settings: DashboardSettings) -> dict[str, Any]:
    """Map the topic filters of alert and dispatch changes (each one delivered) to their parsers."""
    return {f"{settings.alerts_topic}/#": parse_alert, f"{settings.topic_root}/dispatch/+": parse_dispatch}


def _updates(settings: DashboardSettings) -> dict[str, Any]:
    """Map the topic filters of device status and staff positions (a newer one makes an older stale)."""
    return {
        f"{settings.device_topic_prefix}/+/status": status_parser(settings.device_topic_prefix),
        f"{settings.topic_root}/staff/+/position": parse_position,
    }


def create_app(
    settings: DashboardSettings,
    pool: ConnectionPool[Any],
    *,
    subscriber: BrokerSubscriber | None = None,
    updates: BrokerSubscriber | None = None,
    actions: Actions | None = None,
    metrics_registry: CollectorRegistry | None = None,
    ready: Check | None = None,
) -> FastAPI:
    """Build the dashboard app; it follows the broker through ``subscriber`` and acts through ``actions``.

    ``updates``, when given, brings device status and staff positions over a connection of its own, so
    that a burst of them is read on that connection's thread, never ahead of an alert change.

    ``/metrics`` serves ``metrics_registry`` (a new one by default) with TimescaleDB's policy jobs added;
    ``/readyz`` runs ``ready`` (by default: the database, and the policies as an advisory check).
    """
    if not settings.secret_key.get_secret_value().strip():
        raise ValueError("the dashboard needs a secret key")
    hub = LiveHub(DeviceOwners(pool))

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        hub.bind(asyncio.get_running_loop())
        follows = [(subscriber, _changes(settings)), (updates or subscriber, _updates(settings))] if subscriber else []
        for source, topics in follows:
            for topic_filter, parse in topics.items():
                source.subscribe(topic_filter, hub.handler(parse))
        try:
            yield
        finally:
            for source, topics in follows:
                for topic_filter in topics:
                    source.unsubscribe(topic_filter)

    app = FastAPI(title="Anxin dashboard", version="1", lifespan=lifespan)
    app.state.settings = settings
    app.state.pool = pool
    app.state.hub = hub
    app.state.actions = actions or Actions()
    if metrics_registry is None:  # a registry handed in is complete: its maker added the policy jobs
        metrics_registry = CollectorRegistry()
        metrics_registry.register(PolicyJobCollector(pool.connection))
    metrics_registry.register(LiveCollector(hub))
    app.state.metrics_registry = metrics_registry
    app.state.ready = ready or standard_readiness(pool.connection)
    for router in ROUTERS:
        app.include_router(router)
    _mount_static(app, settings)
    app.add_exception_handler(DashboardError, _on_error)
    app.add_exception_handler(StarletteHTTPException, _on_http_error)
    app.add_exception_handler(RequestValidationError, _on_invalid)
    app.add_exception_handler(Exception, _on_crash)
    csp = _CSP.format(tiles=_tile_origin(settings.tile_url))

    @app.middleware("http")
    async def security_headers(request: Request, call_next: RequestResponseEndpoint) -> Response:
        response = await call_next(request)
        response.headers.setdefault("Content-Security-Policy", csp)
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["X-Frame-Options"] = "DENY"
        response.headers["Referrer-Policy"] = "no-referrer"
        if request.url.path.startswith("/api/"):
            response.headers["Cache-Control"] = "no-store"
        return response

    return app


def _mount_static(app: FastAPI, settings: DashboardSettings) -> None:
    """Serve our own files and the npm libraries' dist folders (installed by `npm ci`)."""
    web = Path(settings.web_root) if settings.web_root else HERE / "web"
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    for name, sub in (("echarts", "echarts/dist"), ("leaflet", "leaflet/dist")):
        folder = web / "node_modules" / sub
        app.mount(f"/vendor/{name}", StaticFiles(directory=folder, check_dir=False), name=f"vendor-{name}")


async def _on_error(_: Request, exc: Exception) -> JSONResponse:
    """Turn a dashboard error into its HTTP answer: its code and parameters."""
    if isinstance(exc, DashboardError):
        return JSONResponse({"detail": exc.detail()}, status_code=exc.status)
    return JSONResponse({"detail": {"code": "server_error"}}, status_code=500)


# The framework's own refusals (no such route, wrong method...) as codes, like ours.
_HTTP_CODES = {401: "signed_out", 403: "role_not_allowed", 404: "not_found", 405: "method_not_allowed"}


async def _on_http_error(_: Request, exc: Exception) -> JSONResponse:
    """Answer an HTTP error in a code: ours already are; a framework sentence becomes one."""
    assert isinstance(exc, StarletteHTTPException)
    detail: Any = exc.detail
    if not isinstance(detail, dict) or "code" not in detail:
        detail = {"code": _HTTP_CODES.get(exc.status_code, "http_error"), "status": exc.status_code}
    return JSONResponse({"detail": detail}, status_code=exc.status_code, headers=exc.headers)


def _field(loc: tuple[Any, ...] | list[Any]) -> str:
    """Name the field a validation error is about: the last name in its location, not where it was."""
    names = [str(part) for part in loc if isinstance(part, str) and part not in ("body", "query", "path", "header")]
    return names[-1] if names else "value"


async def _on_invalid(_: Request, exc: Exception) -> JSONResponse:
    """Answer a request that does not validate (422) in a code, naming each field and what is wrong with it."""
    assert isinstance(exc, RequestValidationError)
    fields = [{"field": _field(e.get("loc", ())), "problem": str(e.get("type", "invalid"))} for e in exc.errors()]
    first = fields[0] if fields else {"field": "value", "problem": "invalid"}
    detail = {"code": "request_invalid", **first, "fields": fields}
    return JSONResponse({"detail": detail}, status_code=422)


async def _on_crash(_: Request, exc: Exception) -> JSONResponse:
    """Answer an unexpected failure in a code; the server log has the trace."""
    return JSONResponse({"detail": {"code": "server_error"}}, status_code=500)
