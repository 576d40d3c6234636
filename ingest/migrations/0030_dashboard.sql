-- Dashboard: people who sign in, their sessions, what they may reach, and what they did.

CREATE TABLE IF NOT EXISTS users (
    id             bigserial PRIMARY KEY,
    username       text NOT NULL UNIQUE,
    display_name   text NOT NULL,
    password_hash  text NOT NULL,          -- scrypt$n$r$p$salt$hash (dashboard.security)
    role           text NOT NULL CHECK (role IN ('admin', 'supervisor', 'operator', 'staff', 'family')),
    staff_id       text,                   -- the staff member a 'staff' user is (dispatch's staff.id)
    locale         text NOT NULL DEFAULT 'zh-CN',
    active         boolean NOT NULL DEFAULT true,
    created_at     timestamptz NOT NULL DEFAULT now(),
    CHECK (role <> 'staff' OR staff_id IS NOT NULL)
);

-- A family user reaches only the residents linked here (and, through them, their alerts).
CREATE TABLE IF NOT EXISTS user_residents (
    user_id      bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    resident_id  text NOT NULL REFERENCES residents (id) ON DELETE CASCADE,
    contact_id   bigint REFERENCES emergency_contacts (id) ON DELETE SET NULL,  -- who they are in the call chain
    PRIMARY KEY (user_id, resident_id)
);
CREATE INDEX IF NOT EXISTS user_residents_resident ON user_residents (resident_id);

-- Sessions: the cookie / bearer token carries a random id and its HMAC; only the id's SHA-256 is stored.
CREATE TABLE IF NOT EXISTS sessions (
    token_hash   bytea PRIMARY KEY,
    user_id      bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at   timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz NOT NULL,
    ip           text,
    user_agent   text,
    revoked_at   timestamptz
);
CREATE INDEX IF NOT EXISTS sessions_user ON sessions (user_id);

CREATE TABLE IF NOT EXISTS audit_log (
    id           bigserial PRIMARY KEY,
    at           timestamptz NOT NULL DEFAULT now(),
    user_id      bigint REFERENCES users (id) ON DELETE SET NULL,
    username     text,
    role         text,
    action       text NOT NULL,            -- read | acknowledge | assign | login | login_failed | ...
    object_type  text NOT NULL,            -- resident | alert | dispatch | session | ...
    object_id    text,
    ip           text,
    detail       jsonb
);
CREATE INDEX IF NOT EXISTS audit_log_at ON audit_log (at DESC);
CREATE INDEX IF NOT EXISTS audit_log_object ON audit_log (object_type, object_id, at DESC);

CREATE TABLE IF NOT EXISTS login_attempts (
    id        bigserial PRIMARY KEY,
    at        timestamptz NOT NULL DEFAULT now(),
    username  text NOT NULL,
    ip        text,
    success   boolean NOT NULL
);
CREATE INDEX IF NOT EXISTS login_attempts_username ON login_attempts (username, at DESC);
CREATE INDEX IF NOT EXISTS login_attempts_ip ON login_attempts (ip, at DESC);
