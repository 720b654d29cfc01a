-- +goose Up
-- Personal access tokens: long-lived, scoped bearer secrets of one
-- collaborator, for integrators. Only the SHA-256 of a token is kept, and
-- requests find the token by it. What a token may do is its scopes
-- intersected with its owner's current department permissions, read on
-- every request.
CREATE TABLE personal_access_tokens (
    id              uuid PRIMARY KEY,
    collaborator_id uuid NOT NULL REFERENCES collaborators (id),
    name            text NOT NULL,
    scopes          text[] NOT NULL CHECK (cardinality(scopes) > 0),
    token_hash      bytea NOT NULL,
    token_prefix    text NOT NULL,
    created_by      uuid NOT NULL REFERENCES collaborators (id),
    created_at      timestamptz NOT NULL,
    expires_at      timestamptz NOT NULL,
    last_used_at    timestamptz,
    -- A revoked token never comes back, whatever happens to its owner.
    revoked_at      timestamptz,
    revoked_by      uuid REFERENCES collaborators (id)
);

CREATE UNIQUE INDEX personal_access_tokens_hash_key ON personal_access_tokens (token_hash);
-- Lists (newest first) and the count of a collaborator's live tokens.
CREATE INDEX personal_access_tokens_owner_idx
    ON personal_access_tokens (collaborator_id, created_at DESC, id DESC);

-- +goose Down
DROP TABLE personal_access_tokens;
