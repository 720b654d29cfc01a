-- +goose Up
-- Idempotency keys of create requests, scoped to the caller. A row is
-- claimed before the request runs (status NULL) and holds the response once
-- it has one; rows older than 24 h no longer count and are cleared lazily.
CREATE TABLE idempotency_keys (
    collaborator_id uuid NOT NULL REFERENCES collaborators (id),
    key             text NOT NULL,
    fingerprint     bytea NOT NULL,
    created_at      timestamptz NOT NULL,
    status          integer,
    content_type    text NOT NULL DEFAULT '',
    location        text NOT NULL DEFAULT '',
    etag            text NOT NULL DEFAULT '',
    body            bytea NOT NULL DEFAULT '',
    PRIMARY KEY (collaborator_id, key)
);

CREATE INDEX idempotency_keys_created_at_idx ON idempotency_keys (created_at);

-- +goose Down
DROP TABLE idempotency_keys;
