-- Administration: things are deactivated, never deleted (alerts, visits and the audit log keep pointing
-- at them); a resident's personal vital limits, set by their doctor, override the clinical defaults.

ALTER TABLE residents ADD COLUMN IF NOT EXISTS active boolean NOT NULL DEFAULT true;
ALTER TABLE residents ADD COLUMN IF NOT EXISTS heart_rate_low smallint CHECK (heart_rate_low BETWEEN 20 AND 200);
ALTER TABLE residents ADD COLUMN IF NOT EXISTS heart_rate_high smallint CHECK (heart_rate_high BETWEEN 40 AND 250);
ALTER TABLE residents ADD COLUMN IF NOT EXISTS spo2_low smallint CHECK (spo2_low BETWEEN 50 AND 100);
ALTER TABLE devices ADD COLUMN IF NOT EXISTS active boolean NOT NULL DEFAULT true;
ALTER TABLE stations ADD COLUMN IF NOT EXISTS active boolean NOT NULL DEFAULT true;
ALTER TABLE staff ADD COLUMN IF NOT EXISTS active boolean NOT NULL DEFAULT true;
ALTER TABLE emergency_contacts ADD COLUMN IF NOT EXISTS active boolean NOT NULL DEFAULT true;
