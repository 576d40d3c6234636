-- Which alert process owns which residents. Residents are spread over a fixed number of partitions
-- (ingest/feed.py: CRC-32 of the resident id modulo 64); each partition is leased to one process at a
-- time, renewed every few seconds and taken over when the lease runs out. The checkpoint is the
-- detection feed's line below which every committed row of the partition has been acted on.
CREATE TABLE IF NOT EXISTS alert_partitions (
    part        smallint PRIMARY KEY,
    owner       text,
    lease_until timestamptz,
    checkpoint  xid8 NOT NULL,
    moved_at    timestamptz
);
INSERT INTO alert_partitions (part, checkpoint)
SELECT p, pg_snapshot_xmin(pg_current_snapshot()) FROM generate_series(0, 63) AS p
ON CONFLICT DO NOTHING;

-- Alert processes alive: each says so every few seconds; the fair share is the partitions over the living.
CREATE TABLE IF NOT EXISTS alert_workers (
    name       text PRIMARY KEY,
    seen_at    timestamptz NOT NULL,
    started_at timestamptz NOT NULL DEFAULT now()
);
