-- Learning from outcomes (issue 16, item 5). When the desk closes a fall alert as a false alarm, or confirms a
-- real fall, the impact window that raised it is kept here as a labelled example: only for a resident who gave
-- consent, and only as long as the platform's retention for them (the upkeep deletes older examples, and every
-- example of a resident who withdrew consent). The examples are health data: the alert service and the trainer
-- read them; no page of the dashboard does.

ALTER TABLE residents ADD COLUMN IF NOT EXISTS learning_consent boolean NOT NULL DEFAULT false;

CREATE TABLE IF NOT EXISTS fall_examples (
    id           bigserial PRIMARY KEY,
    alert_id     bigint NOT NULL UNIQUE REFERENCES alerts (id) ON DELETE CASCADE,
    resident_id  text NOT NULL REFERENCES residents (id) ON DELETE CASCADE,
    device_id    text NOT NULL,
    label        text NOT NULL CHECK (label IN ('false_alarm', 'fall')),
    outcome      text NOT NULL,
    impact_at    timestamptz NOT NULL,        -- the window's first sample, by the device clock
    rate_hz      double precision NOT NULL,
    samples      jsonb NOT NULL,              -- [[x, y, z], ...] in g, as the bracelet sent them
    kept_at      timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS fall_examples_resident ON fall_examples (resident_id, impact_at DESC);
CREATE INDEX IF NOT EXISTS fall_examples_impact ON fall_examples (impact_at);
