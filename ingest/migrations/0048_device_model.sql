-- The bracelet model of a device (its maker's product name, e.g. "umafall_wrist" or a vendor's SKU): fall
-- detection uses that model's calibration (alerts/models/calibrations/{model}.json) where one exists and
-- the shipped, conservative trigger and thresholds otherwise. NULL: not known, the default applies.
ALTER TABLE devices ADD COLUMN IF NOT EXISTS model text;
