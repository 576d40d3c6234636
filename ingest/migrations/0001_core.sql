-- Core tables: the device registry, what devices send, and what they sent that we could not take.

CREATE TABLE IF NOT EXISTS residents (
    id          text PRIMARY KEY,
    name        text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS devices (
    id           text PRIMARY KEY,
    resident_id  text REFERENCES residents (id) ON DELETE SET NULL,
    kind         text NOT NULL CHECK (kind IN ('bracelet', 'hub', 'sensor')),
    sensor_kind  text,              -- motion, door, bed, bathroom, smoke, gas, water_leak, meter
    room         text,              -- where a sensor is: bedroom, bathroom, kitchen, living_room, front
    parent_id    text REFERENCES devices (id) ON DELETE SET NULL,  -- the hub a sensor reports through
    created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS devices_resident ON devices (resident_id);

CREATE TABLE IF NOT EXISTS telemetry (
    ts           timestamptz NOT NULL,
    device_id    text NOT NULL,
    seq          bigint NOT NULL,
    resident_id  text,
    received_at  timestamptz NOT NULL,
    heart_rate   smallint,
    spo2         smallint,
    steps        integer,
    battery      smallint NOT NULL,
    worn         boolean NOT NULL,
    skin_temp_c  real,
    lat          double precision,
    lon          double precision,
    accuracy_m   real
);
CREATE UNIQUE INDEX IF NOT EXISTS telemetry_dedup ON telemetry (device_id, ts, seq);
CREATE INDEX IF NOT EXISTS telemetry_resident_ts ON telemetry (resident_id, ts DESC);

CREATE TABLE IF NOT EXISTS events (
    ts           timestamptz NOT NULL,
    device_id    text NOT NULL,
    seq          bigint NOT NULL,
    sensor_id    text,
    resident_id  text,
    received_at  timestamptz NOT NULL,
    kind         text NOT NULL,
    state        text,
    room         text,
    value        double precision,
    data         jsonb
);
CREATE UNIQUE INDEX IF NOT EXISTS events_dedup ON events (device_id, ts, seq);
CREATE INDEX IF NOT EXISTS events_resident_ts ON events (resident_id, ts DESC);

CREATE TABLE IF NOT EXISTS device_status (
    ts           timestamptz NOT NULL,
    device_id    text NOT NULL,
    seq          bigint NOT NULL,
    received_at  timestamptz NOT NULL,
    state        text NOT NULL,
    firmware     text,
    battery      smallint,
    reason       text
);
CREATE UNIQUE INDEX IF NOT EXISTS device_status_dedup ON device_status (device_id, ts, seq);

CREATE TABLE IF NOT EXISTS dead_letters (
    id           bigserial PRIMARY KEY,
    received_at  timestamptz NOT NULL,
    topic        text NOT NULL,
    payload      bytea NOT NULL,
    reason       text NOT NULL,
    detail       text NOT NULL
);
CREATE INDEX IF NOT EXISTS dead_letters_received ON dead_letters (received_at DESC);
