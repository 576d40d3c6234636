"""The dispatch exception tree; database errors are translated here."""

from __future__ import annotations


class DispatchError(Exception):
    """Base of every error raised by dispatch."""


class NotFoundError(DispatchError):
    """A resident, staff member, dispatch or visit does not exist."""


class StageError(DispatchError):
    """A step was asked for that the dispatch's current stage does not allow."""


class NobodyAvailableError(DispatchError):
    """No staff member is on shift and available; the caller must escalate."""
