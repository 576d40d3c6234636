-- The operator desk: who has taken a case (so no two operators dispatch the same alert), the desk's
-- free-text case notes, and the resident's own phone for one-click calls.

-- The claim: the actor (operator:u12, supervisor:u3) who holds the case, and since when. Acknowledging
-- claims an alert for the acknowledger; a supervisor may take a claim over. Kept after the alert closes:
-- it says who handled the case.
ALTER TABLE alerts ADD COLUMN IF NOT EXISTS claimed_by text;
ALTER TABLE alerts ADD COLUMN IF NOT EXISTS claimed_at timestamptz;
ALTER TABLE alerts DROP CONSTRAINT IF EXISTS alerts_claim_check;
ALTER TABLE alerts ADD CONSTRAINT alerts_claim_check CHECK ((claimed_by IS NULL) = (claimed_at IS NULL));

-- Case notes on the timeline: what the operator learned on the phone, what the next shift must know.
CREATE TABLE IF NOT EXISTS alert_notes (
    id        bigserial PRIMARY KEY,
    alert_id  bigint NOT NULL REFERENCES alerts (id) ON DELETE CASCADE,
    actor     text NOT NULL,
    at        timestamptz NOT NULL,
    body      text NOT NULL CHECK (length(body) BETWEEN 1 AND 2000)
);
CREATE INDEX IF NOT EXISTS alert_notes_alert ON alert_notes (alert_id, at DESC);

-- The resident's own phone (the bracelet's SIM or a landline), called from the console.
ALTER TABLE residents ADD COLUMN IF NOT EXISTS phone text;
