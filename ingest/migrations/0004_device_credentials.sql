-- Broker credentials of the devices that sign in themselves: only the `$7$` (PBKDF2-SHA512) hash,
-- never the secret. A table of its own, so that ordinary reads of `devices` never carry a hash, and
-- ON DELETE CASCADE, so that removing a device revokes its sign-in at the next provisioning run.
CREATE TABLE IF NOT EXISTS device_credentials (
    device_id     text PRIMARY KEY REFERENCES devices (id) ON DELETE CASCADE,
    password_hash text NOT NULL CHECK (password_hash LIKE '$7$%'),
    issued_at     timestamptz NOT NULL DEFAULT now()
);
