-- Alerts (owned by alerts/): incidents, alerts with their durable escalation clock, and every change made to them.
-- No foreign key to residents: an alert about a resident the registry does not know yet must still be stored.

CREATE TABLE IF NOT EXISTS incidents (
    id           bigserial PRIMARY KEY,
    resident_id  text NOT NULL,
    alert_group  text NOT NULL,         -- alerts.kinds.AlertKind.group: emergency, vitals, environment, ...
    opened_at    timestamptz NOT NULL,
    closed_at    timestamptz            -- set when its last open alert closes
);
-- Related findings of one resident join one open incident (fall + SOS + long lie).
CREATE UNIQUE INDEX IF NOT EXISTS incidents_one_open ON incidents (resident_id, alert_group) WHERE closed_at IS NULL;
CREATE INDEX IF NOT EXISTS incidents_resident ON incidents (resident_id, opened_at DESC);

CREATE TABLE IF NOT EXISTS alerts (
    id                   bigserial PRIMARY KEY,
    incident_id          bigint NOT NULL REFERENCES incidents (id),
    resident_id          text NOT NULL,
    kind                 text NOT NULL,
    severity             smallint NOT NULL CHECK (severity BETWEEN 1 AND 4),  -- alerts.kinds.Severity
    state                text NOT NULL CHECK (state IN ('raised', 'acknowledged', 'dispatched', 'en_route',
                                                         'on_site', 'resolved', 'cancelled')),
    outcome              text CHECK (outcome IN ('false_alarm', 'no_injury', 'minor_injury', 'hospital', 'other')),
    raised_at            timestamptz NOT NULL,
    updated_at           timestamptz NOT NULL,
    acknowledged_at      timestamptz,
    dispatched_at        timestamptz,
    en_route_at          timestamptz,
    on_site_at           timestamptz,
    closed_at            timestamptz,
    explanation          text NOT NULL,     -- the latest finding's, for the operator at 3 a.m.
    explanation_zh       text NOT NULL,
    details              jsonb NOT NULL DEFAULT '{}',
    device_id            text,
    finding_count        integer NOT NULL DEFAULT 1,   -- raising findings joined; cancels are counted apart
    promise_minutes      smallint NOT NULL,            -- 15 city, 30 countryside, fixed when raised
    next_deadline        timestamptz,                  -- the escalation clock; NULL when nothing is pending
    escalation_step      smallint NOT NULL DEFAULT 0,  -- rungs of the not-acknowledged ladder passed
    promise_breached_at  timestamptz,
    CHECK ((state = 'resolved') = (outcome IS NOT NULL)),
    CHECK ((state IN ('resolved', 'cancelled')) = (closed_at IS NOT NULL))
);
-- One OPEN alert per resident and kind: a second finding updates it instead of raising another.
CREATE UNIQUE INDEX IF NOT EXISTS alerts_one_open ON alerts (resident_id, kind)
    WHERE state NOT IN ('resolved', 'cancelled');
CREATE INDEX IF NOT EXISTS alerts_due ON alerts (next_deadline) WHERE next_deadline IS NOT NULL;
CREATE INDEX IF NOT EXISTS alerts_resident ON alerts (resident_id, raised_at DESC);
CREATE INDEX IF NOT EXISTS alerts_incident ON alerts (incident_id);
CREATE INDEX IF NOT EXISTS alerts_open ON alerts (severity DESC, raised_at) WHERE state NOT IN ('resolved', 'cancelled');

CREATE TABLE IF NOT EXISTS alert_transitions (
    id          bigserial PRIMARY KEY,
    alert_id    bigint NOT NULL REFERENCES alerts (id),
    from_state  text,                   -- NULL for the raise
    to_state    text NOT NULL,
    actor       text NOT NULL,          -- operator:u12, staff:s3, family:c7, resident, system
    at          timestamptz NOT NULL,
    note        text,
    outcome     text
);
CREATE INDEX IF NOT EXISTS alert_transitions_alert ON alert_transitions (alert_id, at);

CREATE TABLE IF NOT EXISTS alert_findings (
    id              bigserial PRIMARY KEY,
    alert_id        bigint REFERENCES alerts (id),  -- NULL only for a cancel that found no alert at all
    resident_id     text NOT NULL,
    kind            text NOT NULL,
    at              timestamptz NOT NULL,           -- when it happened, by the device or detector clock
    recorded_at     timestamptz NOT NULL,
    severity        smallint,
    cancels         boolean NOT NULL,
    explanation     text NOT NULL,
    explanation_zh  text NOT NULL,
    device_id       text,
    details         jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX IF NOT EXISTS alert_findings_alert ON alert_findings (alert_id, at);
CREATE INDEX IF NOT EXISTS alert_findings_resident ON alert_findings (resident_id, at DESC);

CREATE TABLE IF NOT EXISTS escalations (
    id            bigserial PRIMARY KEY,
    alert_id      bigint NOT NULL REFERENCES alerts (id),
    action        text NOT NULL,       -- notify_operators, notify_supervisor, notify_family, promise_breached
    step_key      text NOT NULL,       -- ack.0, ack.1, ..., promise
    due_at        timestamptz NOT NULL,
    fired_at      timestamptz NOT NULL,
    published_at  timestamptz,         -- NULL until the broker and the notify hook took it
    UNIQUE (alert_id, step_key)        -- each step fires once, whichever process runs the clock
);
CREATE INDEX IF NOT EXISTS escalations_unpublished ON escalations (fired_at) WHERE published_at IS NULL;
