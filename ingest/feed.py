"""The detection feed's write side: which partition a resident belongs to, and the feed row of a record.

Residents are spread over a fixed number of partitions by a stable hash of their id, so that every
process (ingest writers, alert processes, any language) computes the same partition. The number is
fixed for a deployment: changing it moves residents between owners.
"""

from __future__ import annotations

import zlib
from datetime import datetime
from typing import Final

from gateway.contract import Record, encode

PARTITIONS: Final = 64
FEED_COLUMNS: Final = (
    *("ord", "channel", "device_id", "ts", "seq", "part", "resident_id", "received_at", "body", "urgent"),
)
FEED_TYPES: Final = ("int4", "text", "text", "timestamptz", "int8", "int2", "text", "timestamptz", "bytea", "bool")


def partition_of(resident_id: str, partitions: int = PARTITIONS) -> int:
    """Return the partition of a resident (CRC-32 of the id: the same in every process and language)."""
    return zlib.crc32(resident_id.encode()) % partitions


def feed_row(ord_: int, record: Record, resident_id: str, received_at: datetime) -> tuple[object, ...]:
    """Return the staged feed row of one record (its position in the batch keeps arrival order)."""
    body = record.body
    return (
        ord_,
        record.channel.value,
        record.device_id,
        body.ts,
        body.seq,
        partition_of(resident_id),
        resident_id,
        received_at,
        encode(body),
        record.urgent,
    )
