-- TimescaleDB mode: hypertables, compression segmented by device, retention, continuous aggregates.

SELECT create_hypertable('telemetry', by_range('ts', INTERVAL '1 day'), migrate_data => true, if_not_exists => true);
SELECT create_hypertable('events', by_range('ts', INTERVAL '1 day'), migrate_data => true, if_not_exists => true);
SELECT create_hypertable('device_status', by_range('ts', INTERVAL '7 days'), migrate_data => true, if_not_exists => true);

ALTER TABLE telemetry SET (timescaledb.compress, timescaledb.compress_segmentby = 'device_id', timescaledb.compress_orderby = 'ts DESC, seq');
ALTER TABLE events SET (timescaledb.compress, timescaledb.compress_segmentby = 'device_id', timescaledb.compress_orderby = 'ts DESC, seq');
ALTER TABLE device_status SET (timescaledb.compress, timescaledb.compress_segmentby = 'device_id', timescaledb.compress_orderby = 'ts DESC, seq');
SELECT add_compression_policy('telemetry', INTERVAL '7 days', if_not_exists => true);
SELECT add_compression_policy('events', INTERVAL '7 days', if_not_exists => true);
SELECT add_compression_policy('device_status', INTERVAL '14 days', if_not_exists => true);
SELECT add_retention_policy('telemetry', INTERVAL '{retention_days} days', if_not_exists => true);
SELECT add_retention_policy('events', INTERVAL '{retention_days} days', if_not_exists => true);
SELECT add_retention_policy('device_status', INTERVAL '{retention_days} days', if_not_exists => true);

CREATE MATERIALIZED VIEW IF NOT EXISTS activity_hourly
WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS
SELECT time_bucket(INTERVAL '1 hour', ts) AS bucket, resident_id, coalesce(room, kind) AS room, count(*) AS events
FROM events
WHERE kind IN ('motion', 'door', 'bed', 'bathroom') AND resident_id IS NOT NULL
GROUP BY bucket, resident_id, coalesce(room, kind)
WITH NO DATA;

CREATE MATERIALIZED VIEW IF NOT EXISTS heart_rate_hourly
WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS
SELECT time_bucket(INTERVAL '1 hour', ts) AS bucket, resident_id,
       min(heart_rate) AS hr_min, avg(heart_rate)::real AS hr_avg, max(heart_rate) AS hr_max, count(heart_rate) AS samples
FROM telemetry
WHERE heart_rate IS NOT NULL AND resident_id IS NOT NULL
GROUP BY bucket, resident_id
WITH NO DATA;

SELECT add_continuous_aggregate_policy('activity_hourly', start_offset => INTERVAL '3 days',
       end_offset => INTERVAL '1 hour', schedule_interval => INTERVAL '15 minutes', if_not_exists => true);
SELECT add_continuous_aggregate_policy('heart_rate_hourly', start_offset => INTERVAL '3 days',
       end_offset => INTERVAL '1 hour', schedule_interval => INTERVAL '15 minutes', if_not_exists => true);
