-- Plain PostgreSQL mode: hourly SpO2 and step counts per resident, next to heart_rate_hourly, kept up
-- to date by ingest.maintenance. The step counter is cumulative over a day, so the hour keeps its maximum.

CREATE TABLE IF NOT EXISTS vitals_hourly (
    bucket        timestamptz NOT NULL,
    resident_id   text NOT NULL,
    spo2_min      smallint,
    spo2_avg      real,
    spo2_samples  bigint NOT NULL,
    steps_max     integer,
    PRIMARY KEY (resident_id, bucket)
);
