-- The detection feed: each record newly stored for a resident, written in the same transaction as its
-- row, for the alert processes that own the resident's partition. A reader takes the rows whose
-- transaction id lies below the oldest transaction still running (pg_snapshot_xmin): every such
-- transaction has ended, so no row can appear later below that line, and the line is the partition's
-- checkpoint. The body is the device's message as the wire contract encodes it, decoded again with
-- the same types on the other side.
CREATE TABLE IF NOT EXISTS detection_feed (
    id          bigserial PRIMARY KEY,
    xid         xid8 NOT NULL DEFAULT pg_current_xact_id(),
    part        smallint NOT NULL,
    resident_id text NOT NULL,
    device_id   text NOT NULL,
    channel     text NOT NULL,
    received_at timestamptz NOT NULL,
    body        bytea NOT NULL
);
CREATE INDEX IF NOT EXISTS detection_feed_part_xid ON detection_feed (part, xid, id);
CREATE INDEX IF NOT EXISTS detection_feed_received ON detection_feed (received_at);
