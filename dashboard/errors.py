"""The dashboard's exception tree; routes turn these into HTTP errors in one place (`dashboard.app`)."""

from __future__ import annotations


class DashboardError(Exception):
    """Something the dashboard refuses or cannot do."""

    status = 400


class NotFoundError(DashboardError):
    """The object does not exist, or the user may not know it exists."""

    status = 404


class ForbiddenError(DashboardError):
    """The user is known but may not do this."""

    status = 403


class ConflictError(DashboardError):
    """The request does not fit the object's present state (an illegal transition, say)."""

    status = 409


class UnavailableError(DashboardError):
    """A part of the platform this request needs is not there."""

    status = 503
