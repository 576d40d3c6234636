"""Probes and metrics of the dashboard process: ``/healthz``, ``/readyz`` (no sign-in) and ``/metrics``.

``/metrics`` answers without sign-in only to a client on the loopback interface that came through no
proxy (a proxy adds ``X-Forwarded-For`` or ``Forwarded``); anyone else needs the admin role.
"""

from __future__ import annotations

import ipaddress
from typing import Any

from fastapi import APIRouter, Request, status
from fastapi.responses import JSONResponse, Response
from prometheus_client import CollectorRegistry
from prometheus_client.exposition import choose_encoder
from psycopg_pool import ConnectionPool

from dashboard.deps import client_ip, request_token, require, user_for_token
from dashboard.errors import refusal
from ingest.health import Check

router = APIRouter(tags=["health"])
_PROXY_HEADERS = ("x-forwarded-for", "forwarded", "x-real-ip")
_admin = require(lambda r: r.manages_users)


@router.get("/healthz")
def healthz() -> dict[str, str]:
    """Answer that the process is alive."""
    return {"status": "alive"}


@router.get("/readyz")
def readyz(request: Request) -> JSONResponse:
    """Run the readiness checks: 200 when the critical ones pass, 503 otherwise, with every check's result."""
    ready: Check = request.app.state.ready
    ok, body = ready()
    return JSONResponse(body, status_code=status.HTTP_200_OK if ok else status.HTTP_503_SERVICE_UNAVAILABLE)


@router.get("/metrics")
def metrics(request: Request) -> Response:
    """Expose the process's Prometheus metrics (loopback without a proxy, or the admin role)."""
    if not _direct_loopback(request):
        _require_admin(request)
    registry: CollectorRegistry = request.app.state.metrics_registry
    encoder, content_type = choose_encoder(request.headers.get("accept", ""))
    return Response(encoder(registry), media_type=content_type)


def _direct_loopback(request: Request) -> bool:
    """Say whether the request comes from this machine and not through a proxy."""
    host = client_ip(request)
    if host is None or any(h in request.headers for h in _PROXY_HEADERS):
        return False
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _require_admin(request: Request) -> None:
    """Let through a signed-in admin; answer 401 or 403 otherwise."""
    pool: ConnectionPool[Any] = request.app.state.pool
    with pool.connection() as conn:
        user = user_for_token(conn, request.app.state.settings, request_token(request))
    if user is None:
        raise refusal(status.HTTP_401_UNAUTHORIZED, "signed_out", headers={"WWW-Authenticate": "Bearer"})
    _admin(user)
