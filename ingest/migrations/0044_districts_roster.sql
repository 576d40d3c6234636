-- Districts and the civil-affairs roster: a district (各区养老服务指挥调度中心) owns stations, and through
-- them residents and staff; residents imported from a roster are keyed by a keyed hash of their ID number,
-- which is never stored in clear (only its mask); staff have weekly shift patterns.

CREATE TABLE IF NOT EXISTS districts (
    id          bigserial PRIMARY KEY,
    name        text NOT NULL UNIQUE,
    created_at  timestamptz NOT NULL DEFAULT now()
);
ALTER TABLE stations ADD COLUMN IF NOT EXISTS district_id bigint REFERENCES districts (id);

ALTER TABLE residents ADD COLUMN IF NOT EXISTS gender text CHECK (gender IN ('M', 'F'));
ALTER TABLE residents ADD COLUMN IF NOT EXISTS id_key text UNIQUE;        -- HMAC-SHA256 of the ID number
ALTER TABLE residents ADD COLUMN IF NOT EXISTS id_masked text;            -- 3401**********123X
ALTER TABLE residents ADD COLUMN IF NOT EXISTS birth_date date;
ALTER TABLE residents ADD COLUMN IF NOT EXISTS street text;               -- 街道
ALTER TABLE residents ADD COLUMN IF NOT EXISTS community text;            -- 社区
ALTER TABLE residents ADD COLUMN IF NOT EXISTS station_id text REFERENCES stations (id);
ALTER TABLE residents ADD COLUMN IF NOT EXISTS roster_fingerprint text;   -- what the last import said

ALTER TABLE emergency_contacts ADD COLUMN IF NOT EXISTS relation_label text;  -- as the roster wrote it: 女儿

-- A staff member's week as the roster gives it; concrete shifts are made from it for the coming weeks.
CREATE TABLE IF NOT EXISTS staff_shift_patterns (
    staff_id   text NOT NULL REFERENCES staff (id) ON DELETE CASCADE,
    weekday    smallint NOT NULL CHECK (weekday BETWEEN 0 AND 6),   -- 0 Monday
    starts     time NOT NULL,
    ends       time NOT NULL,                                       -- before starts: runs overnight
    PRIMARY KEY (staff_id, weekday, starts)
);
ALTER TABLE shifts ADD COLUMN IF NOT EXISTS from_pattern boolean NOT NULL DEFAULT false;
CREATE UNIQUE INDEX IF NOT EXISTS shifts_pattern_once ON shifts (staff_id, starts_at) WHERE from_pattern;
