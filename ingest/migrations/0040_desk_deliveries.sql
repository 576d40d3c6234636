-- Every alert ends at a person: desk people's channels, what each escalation step and staff offer
-- reached, and assignment ends that say what happened (an offer that timed out, a task withdrawn
-- because the alert was closed elsewhere).

-- Supervisors (and any desk user) are told on their own channel: an Apprise URL or an https webhook.
ALTER TABLE users ADD COLUMN IF NOT EXISTS notify_url text;
ALTER TABLE users ADD COLUMN IF NOT EXISTS on_duty boolean NOT NULL DEFAULT true;

-- One row per attempt to reach a person for an escalation step or a staff offer.
CREATE TABLE IF NOT EXISTS desk_deliveries (
    id             bigserial PRIMARY KEY,
    alert_id       bigint NOT NULL,
    purpose        text NOT NULL CHECK (purpose IN ('escalation', 'offer', 'all_clear')),
    ref_id         bigint,              -- escalations.id or dispatch_assignments.id
    step_key       text,                -- the escalation's step (ack.0, ack.1, promise) or 'offer'
    recipient      text NOT NULL,       -- supervisor:u3, staff:s1, consoles
    recipient_name text,
    channel        text,                -- apprise | webhook | broker; NULL when the person has none
    target         text,                -- the channel URL with any secret masked
    ok             boolean NOT NULL,
    detail         text NOT NULL DEFAULT '',
    at             timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS desk_deliveries_alert ON desk_deliveries (alert_id, at);

ALTER TABLE dispatch_assignments DROP CONSTRAINT IF EXISTS dispatch_assignments_state_check;
ALTER TABLE dispatch_assignments ADD CONSTRAINT dispatch_assignments_state_check
    CHECK (state IN ('offered', 'accepted', 'declined', 'unreachable', 'timed_out', 'withdrawn',
                     'en_route', 'on_site', 'done'));
ALTER TABLE dispatch_assignments ADD COLUMN IF NOT EXISTS ended_at timestamptz;  -- timed out or withdrawn
ALTER TABLE dispatches DROP CONSTRAINT IF EXISTS dispatches_state_check;
ALTER TABLE dispatches ADD CONSTRAINT dispatches_state_check
    CHECK (state IN ('assigning', 'accepted', 'en_route', 'on_site', 'closed', 'escalated', 'withdrawn'));

-- The all clear goes to the contacts an alert's earlier notices reached, and no one else.
ALTER TABLE notices DROP CONSTRAINT IF EXISTS notices_audience_check;
ALTER TABLE notices ADD CONSTRAINT notices_audience_check CHECK (audience IN ('chain', 'all', 'told'));
