-- TimescaleDB mode: hourly SpO2 and step counts per resident, next to heart_rate_hourly. The step
-- counter is cumulative over a day, so the hour keeps its maximum.

CREATE MATERIALIZED VIEW IF NOT EXISTS vitals_hourly
WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS
SELECT time_bucket(INTERVAL '1 hour', ts) AS bucket, resident_id,
       min(spo2) AS spo2_min, avg(spo2)::real AS spo2_avg, count(spo2) AS spo2_samples, max(steps) AS steps_max
FROM telemetry
WHERE resident_id IS NOT NULL
GROUP BY bucket, resident_id
WITH NO DATA;

SELECT add_continuous_aggregate_policy('vitals_hourly', start_offset => INTERVAL '3 days',
       end_offset => INTERVAL '1 hour', schedule_interval => INTERVAL '15 minutes', if_not_exists => true);
