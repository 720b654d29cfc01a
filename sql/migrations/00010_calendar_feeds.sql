-- +goose Up
-- A collaborator's private calendar subscription: at most one live feed
-- each, known by the SHA-256 of the token in its URL. Replacing the feed
-- replaces the row, so the old URL is simply unknown; deactivation and
-- deletion remove it.
CREATE TABLE calendar_feeds (
    collaborator_id uuid PRIMARY KEY REFERENCES collaborators (id),
    token_hash      bytea NOT NULL,
    created_at      timestamptz NOT NULL,
    last_used_at    timestamptz
);

CREATE UNIQUE INDEX calendar_feeds_hash_key ON calendar_feeds (token_hash);

-- +goose Down
DROP TABLE calendar_feeds;
