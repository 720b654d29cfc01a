-- +goose Up
-- Webhooks: management's subscriptions to the change feed, and their
-- deliveries (jobs of the queue carry them; these rows are the log).
INSERT INTO permissions (name) VALUES ('webhook:manage');
INSERT INTO role_permissions (role, permission) VALUES ('management', 'webhook:manage');

CREATE TABLE webhooks (
    id              uuid PRIMARY KEY,
    url             text NOT NULL CHECK (char_length(url) <= 2048),
    -- Empty is every type.
    types           text[] NOT NULL,
    description     text NOT NULL,
    is_active       boolean NOT NULL,
    disabled_reason text CHECK (disabled_reason IN ('gone', 'manual')),
    -- The signing secret, sealed (AES-256-GCM under SECRETS_KEY, the
    -- webhook's id as associated data), and the one it replaced while it
    -- still signs.
    secret_sealed          bytea NOT NULL,
    previous_secret_sealed bytea,
    previous_secret_until  timestamptz,
    last_ping_at    timestamptz,
    version         integer NOT NULL,
    created_at      timestamptz NOT NULL,
    updated_at      timestamptz NOT NULL,
    CHECK (is_active = (disabled_reason IS NULL))
);

CREATE INDEX webhooks_created_idx ON webhooks (created_at DESC, id DESC);

CREATE TABLE webhook_deliveries (
    id                   uuid PRIMARY KEY,
    webhook_id           uuid NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
    -- The change delivered, null for a ping. No foreign key: the change
    -- may be pruned before its delivery gives up.
    change_id            uuid,
    -- webhook-id of every attempt: the change id, or the ping's own id.
    message_id           uuid NOT NULL,
    type                 text NOT NULL,
    -- The body, fixed at enqueue time.
    body                 bytea NOT NULL,
    status               text NOT NULL CHECK (status IN ('pending', 'failed', 'succeeded', 'gave_up', 'cancelled')),
    attempts             integer NOT NULL DEFAULT 0,
    in_flight            boolean NOT NULL DEFAULT false,
    last_response_status integer,
    last_error           text,
    next_attempt_at      timestamptz,
    created_at           timestamptz NOT NULL,
    updated_at           timestamptz NOT NULL,
    UNIQUE (webhook_id, change_id)
);

-- The log, newest first; pruning by age.
CREATE INDEX webhook_deliveries_log_idx ON webhook_deliveries (webhook_id, created_at DESC, id DESC);
CREATE INDEX webhook_deliveries_created_idx ON webhook_deliveries (created_at);

-- +goose Down
DROP TABLE webhook_deliveries;
DROP TABLE webhooks;
DELETE FROM role_permissions WHERE permission = 'webhook:manage';
DELETE FROM permissions WHERE name = 'webhook:manage';
