"""One router per resource."""

from __future__ import annotations

from fastapi import APIRouter

from dashboard.routes import (
    admin,
    admin_places,
    alerts,
    auth,
    devices,
    dispatch,
    family,
    figures,
    health,
    live,
    pages,
    places,
    reports,
    residents,
    roster,
    users,
    visits,
)

ROUTERS: tuple[APIRouter, ...] = (
    health.router,
    auth.router,
    users.router,
    residents.router,
    devices.router,
    places.router,
    alerts.router,
    dispatch.router,
    family.router,
    visits.router,
    figures.router,
    reports.router,
    roster.router,
    live.router,
    admin.router,
    admin_places.router,
    pages.router,
)
