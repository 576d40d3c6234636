-- Urgent records (SOS, fall, smoke, …) are marked in the detection feed, so that their partition's holder
-- reads them ahead of the telemetry committed before them: the alert path is never behind a batch.
ALTER TABLE detection_feed ADD COLUMN IF NOT EXISTS urgent boolean NOT NULL DEFAULT false;
CREATE INDEX IF NOT EXISTS detection_feed_urgent ON detection_feed (part, xid) WHERE urgent;
