"""The dashboard's exception tree and its answers in codes; the app turns these into HTTP errors in one place.

Every refusal the dashboard sends is ``{"detail": {"code": "...", ...parameters}}``: a stable code the pages
translate (``error.<code>`` in ``static/i18n``), never a sentence (guideline 17). `refusal` builds the
FastAPI exception for a route; `DashboardError` and its kinds carry the same code and parameters.
"""

from __future__ import annotations

from typing import Any

from fastapi import HTTPException


def refusal(status: int, code: str, headers: dict[str, str] | None = None, **params: Any) -> HTTPException:
    """Make the HTTP answer of a refusal: a code with its parameters."""
    return HTTPException(status, {"code": code, **params}, headers=headers)


class DashboardError(Exception):
    """Something the dashboard refuses or cannot do, said as a code with parameters."""

    status = 400

    def __init__(self, code: str, **params: Any) -> None:
        super().__init__(code)
        self.code = code
        self.params = params

    def detail(self) -> dict[str, Any]:
        """Return the answer's detail: the code and its parameters."""
        return {"code": self.code, **self.params}


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
