-- Plain PostgreSQL mode: the same names as TimescaleDB's continuous aggregates, as tables that the
-- platform keeps up to date (ingest.maintenance), together with retention.

CREATE INDEX IF NOT EXISTS telemetry_ts ON telemetry (ts);
CREATE INDEX IF NOT EXISTS events_ts ON events (ts);
CREATE INDEX IF NOT EXISTS device_status_ts ON device_status (ts);

CREATE TABLE IF NOT EXISTS activity_hourly (
    bucket       timestamptz NOT NULL,
    resident_id  text NOT NULL,
    room         text NOT NULL,
    events       bigint NOT NULL,
    PRIMARY KEY (resident_id, bucket, room)
);

CREATE TABLE IF NOT EXISTS heart_rate_hourly (
    bucket       timestamptz NOT NULL,
    resident_id  text NOT NULL,
    hr_min       smallint,
    hr_avg       real,
    hr_max       smallint,
    samples      bigint NOT NULL,
    PRIMARY KEY (resident_id, bucket)
);
