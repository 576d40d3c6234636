-- Dispatches and their per-staff assignments with every stage time; family notices, their
-- deliveries (one per notice and contact) and every delivery attempt; family replies; welfare visits.
-- alert_id is text and not a foreign key: the alert tables belong to the alert lifecycle.

CREATE TABLE IF NOT EXISTS dispatches (
    id           bigserial PRIMARY KEY,
    alert_id     text NOT NULL UNIQUE,
    resident_id  text NOT NULL REFERENCES residents (id),
    raised_at    timestamptz NOT NULL,      -- the promise clock runs from here
    promise_min  smallint NOT NULL,
    deadline     timestamptz NOT NULL,
    state        text NOT NULL DEFAULT 'assigning'
        CHECK (state IN ('assigning', 'accepted', 'en_route', 'on_site', 'closed', 'escalated')),
    opened_by    text NOT NULL,
    opened_at    timestamptz NOT NULL,
    outcome      text,
    outcome_note text,
    closed_at    timestamptz
);

CREATE TABLE IF NOT EXISTS dispatch_assignments (
    id             bigserial PRIMARY KEY,
    dispatch_id    bigint NOT NULL REFERENCES dispatches (id) ON DELETE CASCADE,
    staff_id       text NOT NULL REFERENCES staff (id),
    rank           smallint NOT NULL,
    distance_km    real NOT NULL,
    eta_min        real NOT NULL,
    in_time        boolean NOT NULL,
    reason_en      text NOT NULL,
    reason_zh      text NOT NULL,
    state          text NOT NULL DEFAULT 'offered'
        CHECK (state IN ('offered', 'accepted', 'declined', 'unreachable', 'en_route', 'on_site', 'done')),
    assigned_by    text NOT NULL,
    assigned_at    timestamptz NOT NULL,
    notified_at    timestamptz,
    accepted_at    timestamptz,
    declined_at    timestamptz,
    decline_reason text,
    en_route_at    timestamptz,
    on_site_at     timestamptz,
    outcome_at     timestamptz,
    outcome        text
);
-- At most one live assignment per dispatch: a decline must end one before the next begins.
CREATE UNIQUE INDEX IF NOT EXISTS dispatch_assignments_live ON dispatch_assignments (dispatch_id)
    WHERE state IN ('offered', 'accepted', 'en_route', 'on_site');
CREATE INDEX IF NOT EXISTS dispatch_assignments_staff ON dispatch_assignments (staff_id, assigned_at DESC);

CREATE TABLE IF NOT EXISTS notices (
    id           bigserial PRIMARY KEY,
    key          text NOT NULL UNIQUE,     -- the caller's idempotency key: one notice per alert event
    alert_id     text,
    resident_id  text NOT NULL REFERENCES residents (id),
    event        text NOT NULL,            -- a key of notify.templates.TEMPLATES
    severity     smallint NOT NULL CHECK (severity BETWEEN 1 AND 4),
    audience     text NOT NULL CHECK (audience IN ('chain', 'all')),
    params       jsonb NOT NULL DEFAULT '{}',
    created_at   timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS notices_alert ON notices (alert_id);

CREATE TABLE IF NOT EXISTS notice_deliveries (
    id               bigserial PRIMARY KEY,
    notice_id        bigint NOT NULL REFERENCES notices (id) ON DELETE CASCADE,
    contact_id       bigint NOT NULL REFERENCES emergency_contacts (id) ON DELETE CASCADE,
    position         smallint NOT NULL,
    state            text NOT NULL DEFAULT 'waiting'
        CHECK (state IN ('waiting', 'pending', 'sent', 'failed', 'skipped')),
    due_at           timestamptz,          -- NULL while waiting for an earlier contact to answer
    next_attempt_at  timestamptz,
    claimed_until    timestamptz,          -- a sender's lease, so two workers never send one delivery
    attempts         integer NOT NULL DEFAULT 0,
    first_attempt_at timestamptz,
    sent_at          timestamptz,
    answered_at      timestamptz,
    skip_reason      text,
    UNIQUE (notice_id, contact_id)         -- never two copies of one notice to one person
);
CREATE INDEX IF NOT EXISTS notice_deliveries_due ON notice_deliveries (next_attempt_at) WHERE state = 'pending';

CREATE TABLE IF NOT EXISTS delivery_attempts (
    id           bigserial PRIMARY KEY,
    delivery_id  bigint NOT NULL REFERENCES notice_deliveries (id) ON DELETE CASCADE,
    channel_id   bigint REFERENCES contact_channels (id) ON DELETE SET NULL,
    attempt      integer NOT NULL,
    at           timestamptz NOT NULL,
    ok           boolean NOT NULL,
    detail       text NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS delivery_attempts_delivery ON delivery_attempts (delivery_id, at);

CREATE TABLE IF NOT EXISTS family_replies (
    id           bigserial PRIMARY KEY,
    delivery_id  bigint NOT NULL REFERENCES notice_deliveries (id) ON DELETE CASCADE,
    alert_id     text,
    contact_id   bigint NOT NULL,
    answer       text NOT NULL CHECK (answer IN ('going', 'cant', 'call_me')),
    at           timestamptz NOT NULL,
    UNIQUE (delivery_id, answer)           -- a link clicked twice records one reply
);
CREATE INDEX IF NOT EXISTS family_replies_alert ON family_replies (alert_id, at);

CREATE TABLE IF NOT EXISTS visits (
    id           bigserial PRIMARY KEY,
    resident_id  text NOT NULL REFERENCES residents (id) ON DELETE CASCADE,
    reason       text NOT NULL CHECK (reason IN ('scheduled', 'trend', 'follow_up')),
    due_at       timestamptz NOT NULL,
    status       text NOT NULL DEFAULT 'planned' CHECK (status IN ('planned', 'done', 'missed', 'cancelled')),
    staff_id     text REFERENCES staff (id),
    signals      text[] NOT NULL DEFAULT '{}',    -- why a trend visit was created
    created_at   timestamptz NOT NULL,
    done_at      timestamptz,
    notes        text,
    findings     jsonb NOT NULL DEFAULT '{}'
);
-- One open visit per resident and reason: re-running the planner or the trend check adds no copies.
CREATE UNIQUE INDEX IF NOT EXISTS visits_open ON visits (resident_id, reason) WHERE status = 'planned';
CREATE INDEX IF NOT EXISTS visits_due ON visits (due_at) WHERE status = 'planned';
