-- +goose Up
-- Login throttling lives in the database so that every replica sees the
-- same counts. An account is named "collaborator:<id>" when the submitted
-- name designates one, otherwise by a digest of the name itself (never the
-- name: people type passwords into the name field). An address is an IPv4
-- address or an IPv6 /64.

-- Every failed attempt in the recent window, for the per-account and
-- per-address limits.
CREATE TABLE login_failures (
    id      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account text NOT NULL,
    address text NOT NULL,
    at      timestamptz NOT NULL
);

CREATE INDEX login_failures_account_idx ON login_failures (account, at DESC);
CREATE INDEX login_failures_address_idx ON login_failures (address, at DESC);
CREATE INDEX login_failures_at_idx ON login_failures (at);

-- Consecutive failures of one account from one address, and the lock they
-- earned. A success deletes the row.
CREATE TABLE login_lockouts (
    account         text NOT NULL,
    address         text NOT NULL,
    failures        integer NOT NULL CHECK (failures > 0),
    last_failure_at timestamptz NOT NULL,
    locked_until    timestamptz,
    PRIMARY KEY (account, address)
);

CREATE INDEX login_lockouts_last_failure_idx ON login_lockouts (last_failure_at);

-- Housekeeping deletes ended sessions; this finds them.
CREATE INDEX sessions_expires_at_idx ON sessions (expires_at);
CREATE INDEX sessions_revoked_at_idx ON sessions (revoked_at) WHERE revoked_at IS NOT NULL;
CREATE INDEX refresh_tokens_expires_at_idx ON refresh_tokens (expires_at);

-- +goose Down
DROP INDEX refresh_tokens_expires_at_idx;
DROP INDEX sessions_revoked_at_idx;
DROP INDEX sessions_expires_at_idx;
DROP TABLE login_lockouts;
DROP TABLE login_failures;
