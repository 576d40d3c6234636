"""The ingest exception tree; database library errors are translated here."""

from __future__ import annotations


class IngestError(Exception):
    """Base of every error raised by ingest."""


class DatabaseError(IngestError):
    """The database refused a statement or is unreachable."""


class DataRejectedError(DatabaseError):
    """The database is up but refused the data of a batch (a value it cannot store)."""


class SpoolFullError(IngestError):
    """The disk spool reached its size limit; messages stay unacknowledged at the broker."""
