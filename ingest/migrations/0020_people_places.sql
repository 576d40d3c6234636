-- People and places for dispatch: service stations, their staff and shifts, the residents' profiles
-- (where they live, how vulnerable they are) and their emergency contacts in the order to call them.

CREATE TABLE IF NOT EXISTS stations (
    id          text PRIMARY KEY,
    name        text NOT NULL,
    address     text,
    lat         double precision NOT NULL CHECK (lat BETWEEN -90 AND 90),
    lon         double precision NOT NULL CHECK (lon BETWEEN -180 AND 180),
    area_type   text NOT NULL CHECK (area_type IN ('city', 'countryside')),
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS staff (
    id           text PRIMARY KEY,
    name         text NOT NULL,
    role         text NOT NULL CHECK (role IN ('nurse', 'caregiver', 'social_worker')),
    station_id   text NOT NULL REFERENCES stations (id),
    status       text NOT NULL DEFAULT 'available' CHECK (status IN ('available', 'on_task', 'off_shift')),
    phone        text,
    notify_url   text,               -- where the staff app is told of a task (Apprise URL)
    last_lat     double precision,
    last_lon     double precision,
    last_seen_at timestamptz,        -- when last_lat/last_lon were reported
    created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS staff_station ON staff (station_id);

CREATE TABLE IF NOT EXISTS shifts (
    id         bigserial PRIMARY KEY,
    staff_id   text NOT NULL REFERENCES staff (id) ON DELETE CASCADE,
    starts_at  timestamptz NOT NULL,
    ends_at    timestamptz NOT NULL,
    CHECK (ends_at > starts_at)
);
CREATE INDEX IF NOT EXISTS shifts_staff_time ON shifts (staff_id, starts_at, ends_at);

-- The categories of especially vulnerable older people (九类特殊困难老年人 and related civil-affairs
-- classes); one resident may belong to several.
CREATE TABLE IF NOT EXISTS resident_category_codes (
    code     text PRIMARY KEY,
    name_zh  text NOT NULL,
    name_en  text NOT NULL
);
INSERT INTO resident_category_codes (code, name_zh, name_en) VALUES
    ('living_alone', '独居', 'living alone'),
    ('empty_nest', '空巢', 'empty nest'),
    ('left_behind', '留守', 'left behind'),
    ('disabled', '失能', 'disabled (fully dependent)'),
    ('semi_disabled', '半失能', 'semi-disabled'),
    ('severe_disability', '重残', 'severe disability'),
    ('advanced_age', '高龄', 'advanced age (80+)'),
    ('bereaved_family', '计划生育特殊家庭', 'bereaved or disabled only-child family'),
    ('extreme_poverty', '特困', 'extreme poverty (特困供养)'),
    ('subsistence_allowance', '低保', 'subsistence allowance (低保)'),
    ('low_income', '低收入', 'low income'),
    ('veteran_entitled', '优抚对象', 'entitled veteran or martyr family')
ON CONFLICT (code) DO NOTHING;

ALTER TABLE residents ADD COLUMN IF NOT EXISTS address text;
ALTER TABLE residents ADD COLUMN IF NOT EXISTS lat double precision CHECK (lat BETWEEN -90 AND 90);
ALTER TABLE residents ADD COLUMN IF NOT EXISTS lon double precision CHECK (lon BETWEEN -180 AND 180);
ALTER TABLE residents ADD COLUMN IF NOT EXISTS area_type text NOT NULL DEFAULT 'city'
    CHECK (area_type IN ('city', 'countryside'));
-- 老年人能力评估 (GB/T 42195-2022): 0 intact, 1 mild, 2 moderate, 3 severe, 4 total loss of capability.
ALTER TABLE residents ADD COLUMN IF NOT EXISTS assessment_level smallint CHECK (assessment_level BETWEEN 0 AND 4);
ALTER TABLE residents ADD COLUMN IF NOT EXISTS risk_class text NOT NULL DEFAULT 'C'
    CHECK (risk_class IN ('A', 'B', 'C'));
ALTER TABLE residents ADD COLUMN IF NOT EXISTS medical_notes text;
ALTER TABLE residents ADD COLUMN IF NOT EXISTS key_holder text;   -- who holds a key to the home, and how to reach them
ALTER TABLE residents ADD COLUMN IF NOT EXISTS timezone text NOT NULL DEFAULT 'Asia/Shanghai';

CREATE TABLE IF NOT EXISTS resident_categories (
    resident_id  text NOT NULL REFERENCES residents (id) ON DELETE CASCADE,
    code         text NOT NULL REFERENCES resident_category_codes (code),
    PRIMARY KEY (resident_id, code)
);

CREATE TABLE IF NOT EXISTS emergency_contacts (
    id            bigserial PRIMARY KEY,
    resident_id   text NOT NULL REFERENCES residents (id) ON DELETE CASCADE,
    position      smallint NOT NULL CHECK (position >= 1),   -- 1 is told first
    relation      text NOT NULL CHECK (relation IN ('family', 'neighbour', 'grid_worker', 'volunteer', 'other')),
    name          text NOT NULL,
    phone         text,
    language      text NOT NULL DEFAULT 'zh' CHECK (language IN ('zh', 'en')),
    quiet_start   time,              -- local quiet hours; critical alerts ignore them
    quiet_end     time,
    min_severity  smallint NOT NULL DEFAULT 1 CHECK (min_severity BETWEEN 1 AND 4),
    wants_updates boolean NOT NULL DEFAULT true,   -- progress notices (staff on the way, resolved)
    UNIQUE (resident_id, position),
    CHECK ((quiet_start IS NULL) = (quiet_end IS NULL))
);

-- A contact's channels in order of preference; one copy of a notice goes out on the first that works.
CREATE TABLE IF NOT EXISTS contact_channels (
    id          bigserial PRIMARY KEY,
    contact_id  bigint NOT NULL REFERENCES emergency_contacts (id) ON DELETE CASCADE,
    position    smallint NOT NULL CHECK (position >= 1),
    kind        text NOT NULL CHECK (kind IN ('apprise', 'webhook', 'email')),
    target      text NOT NULL,      -- an Apprise URL, an https webhook URL, or an e-mail address
    UNIQUE (contact_id, position)
);
