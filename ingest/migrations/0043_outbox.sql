-- The outbox: a channel that works with no server at all. A message sent to an outbox is stored here,
-- and the family page (or a drill, or a demo) reads it back. Contacts get the channel kind 'outbox';
-- staff and desk users reach theirs with the URL outbox://<name>. An attempt's outcome gets a stable
-- code, so a page can say in its own language why a notice was not delivered.

CREATE TABLE IF NOT EXISTS outbox_messages (
    id          bigserial PRIMARY KEY,
    mailbox     text NOT NULL,             -- the channel's target: a contact's box name, or <name> of outbox://<name>
    message_id  text NOT NULL,             -- the sender's stable id: a retry stores nothing twice
    recipient   text,                      -- contact:<id>, staff:s1, supervisor:u3
    contact_id  bigint REFERENCES emergency_contacts (id) ON DELETE CASCADE,
    notice_id   bigint REFERENCES notices (id) ON DELETE SET NULL,
    alert_id    text,
    event       text NOT NULL,
    language    text,
    title       text NOT NULL,
    body        text NOT NULL,
    at          timestamptz NOT NULL,
    UNIQUE (mailbox, message_id)
);
CREATE INDEX IF NOT EXISTS outbox_messages_contact ON outbox_messages (contact_id, at DESC);
CREATE INDEX IF NOT EXISTS outbox_messages_recipient ON outbox_messages (recipient, at DESC);

ALTER TABLE contact_channels DROP CONSTRAINT IF EXISTS contact_channels_kind_check;
ALTER TABLE contact_channels ADD CONSTRAINT contact_channels_kind_check
    CHECK (kind IN ('apprise', 'webhook', 'email', 'outbox'));

-- Why an attempt failed, as a code (no_mail_server, invalid_url, http_error, unreachable, no_outbox …),
-- and the kind of channel it went on (kept when the contact later changes their channels).
ALTER TABLE delivery_attempts ADD COLUMN IF NOT EXISTS code text;
ALTER TABLE delivery_attempts ADD COLUMN IF NOT EXISTS channel_kind text;
