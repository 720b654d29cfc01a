-- +goose Up
-- Departments are roles; what a role may do is data, so the code asks for a
-- permission and never for a department.
CREATE TABLE roles (
    name text PRIMARY KEY
);

CREATE TABLE permissions (
    name text PRIMARY KEY
);

CREATE TABLE role_permissions (
    role       text NOT NULL REFERENCES roles (name) ON DELETE CASCADE,
    permission text NOT NULL REFERENCES permissions (name) ON DELETE CASCADE,
    PRIMARY KEY (role, permission)
);

INSERT INTO roles (name) VALUES ('commercial'), ('support'), ('management');

INSERT INTO permissions (name) VALUES
    ('collaborator:read'), ('client:read'), ('contract:read'), ('event:read'),
    ('collaborator:create'), ('collaborator:update'), ('collaborator:delete'),
    ('client:create'), ('client:update_own'), ('contract:update_own'), ('event:create_own'),
    ('client:reassign'), ('contract:create'), ('contract:update'), ('event:update'),
    ('event:assign_support'), ('audit:read'),
    ('event:update_assigned');

INSERT INTO role_permissions (role, permission)
SELECT r.name, p.name
FROM roles r
CROSS JOIN permissions p
WHERE p.name IN ('collaborator:read', 'client:read', 'contract:read', 'event:read')
   OR (r.name = 'management' AND p.name IN (
        'collaborator:create', 'collaborator:update', 'collaborator:delete',
        'client:reassign', 'contract:create', 'contract:update', 'event:update',
        'event:assign_support', 'audit:read'))
   OR (r.name = 'commercial' AND p.name IN (
        'client:create', 'client:update_own', 'contract:update_own', 'event:create_own'))
   OR (r.name = 'support' AND p.name IN ('event:update_assigned'));

CREATE TABLE collaborators (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    employee_number integer NOT NULL CHECK (employee_number BETWEEN 1 AND 999999),
    first_name      text NOT NULL,
    last_name       text NOT NULL,
    email           text NOT NULL,
    username        text NOT NULL,
    department      text NOT NULL REFERENCES roles (name),
    password_hash   text NOT NULL,
    is_active       boolean NOT NULL DEFAULT true,
    deleted_at      timestamptz,
    version         integer NOT NULL DEFAULT 1,
    created_at      timestamptz NOT NULL,
    updated_at      timestamptz NOT NULL
);

-- Soft-deleted collaborators keep their names reserved, so the unique
-- indexes cover every row. Their names are what the service reports as the
-- duplicate field.
CREATE UNIQUE INDEX collaborators_employee_number_key ON collaborators (employee_number);
CREATE UNIQUE INDEX collaborators_email_key ON collaborators (lower(email));
CREATE UNIQUE INDEX collaborators_username_key ON collaborators (lower(username));
CREATE INDEX collaborators_last_name_idx ON collaborators (last_name, id);
CREATE INDEX collaborators_created_at_idx ON collaborators (created_at, id);

-- A session is one login and its chain of refreshed tokens; every
-- authenticated request checks that its session is still open.
CREATE TABLE sessions (
    id              uuid PRIMARY KEY,
    collaborator_id uuid NOT NULL REFERENCES collaborators (id),
    created_at      timestamptz NOT NULL,
    expires_at      timestamptz NOT NULL,
    revoked_at      timestamptz
);

CREATE INDEX sessions_collaborator_idx ON sessions (collaborator_id) WHERE revoked_at IS NULL;

-- Refresh tokens are stored as SHA-256 digests only.
CREATE TABLE refresh_tokens (
    token_hash  bytea PRIMARY KEY,
    session_id  uuid NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    created_at  timestamptz NOT NULL,
    expires_at  timestamptz NOT NULL,
    rotated_at  timestamptz
);

CREATE INDEX refresh_tokens_session_idx ON refresh_tokens (session_id);

-- One row per write, appended in the write's own transaction.
CREATE TABLE audit_entries (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    record_type text NOT NULL,
    record_id   uuid NOT NULL,
    action      text NOT NULL CHECK (action IN ('create', 'update', 'delete')),
    actor_id    uuid REFERENCES collaborators (id),
    changes     jsonb NOT NULL,
    request_id  text NOT NULL,
    at          timestamptz NOT NULL
);

CREATE INDEX audit_entries_record_idx ON audit_entries (record_type, record_id, at DESC, id DESC);

-- +goose Down
DROP TABLE audit_entries;
DROP TABLE refresh_tokens;
DROP TABLE sessions;
DROP TABLE collaborators;
DROP TABLE role_permissions;
DROP TABLE permissions;
DROP TABLE roles;
