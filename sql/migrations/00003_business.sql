-- +goose Up
-- Substring search (the lists' q) needs trigram indexes.
CREATE EXTENSION IF NOT EXISTS pg_trgm;

CREATE TABLE clients (
    id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    full_name        text NOT NULL,
    email            text NOT NULL,
    phone            text NOT NULL,
    company_name     text NOT NULL DEFAULT '',
    commercial_id    uuid NOT NULL REFERENCES collaborators (id),
    first_contact_at timestamptz NOT NULL,
    last_contact_at  timestamptz NOT NULL,
    version          integer NOT NULL DEFAULT 1,
    created_at       timestamptz NOT NULL,
    updated_at       timestamptz NOT NULL
);

-- The index name is what the service reports as the duplicate field.
CREATE UNIQUE INDEX clients_email_key ON clients (lower(email));
CREATE INDEX clients_commercial_idx ON clients (commercial_id, created_at, id);
CREATE INDEX clients_created_at_idx ON clients (created_at, id);
CREATE INDEX clients_full_name_idx ON clients (full_name, id);
CREATE INDEX clients_company_name_idx ON clients (company_name, id);
CREATE INDEX clients_last_contact_at_idx ON clients (last_contact_at, id);
CREATE INDEX clients_search_idx ON clients
    USING gin (full_name gin_trgm_ops, company_name gin_trgm_ops, email gin_trgm_ops);

-- Money is numeric(12,2): ten integer digits and two decimals, never a float.
CREATE TABLE contracts (
    id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    client_id    uuid NOT NULL REFERENCES clients (id),
    total_amount numeric(12, 2) NOT NULL CHECK (total_amount >= 0),
    amount_due   numeric(12, 2) NOT NULL CHECK (amount_due >= 0 AND amount_due <= total_amount),
    currency     text NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    signed       boolean NOT NULL DEFAULT false,
    signed_at    timestamptz,
    version      integer NOT NULL DEFAULT 1,
    created_at   timestamptz NOT NULL,
    updated_at   timestamptz NOT NULL,
    CHECK (signed = (signed_at IS NOT NULL))
);

CREATE INDEX contracts_client_idx ON contracts (client_id, created_at, id);
CREATE INDEX contracts_created_at_idx ON contracts (created_at, id);
CREATE INDEX contracts_amount_due_idx ON contracts (amount_due, id);

CREATE TABLE events (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    contract_id uuid NOT NULL REFERENCES contracts (id),
    name        text NOT NULL,
    support_id  uuid REFERENCES collaborators (id),
    start_at    timestamptz NOT NULL,
    end_at      timestamptz NOT NULL,
    timezone    text NOT NULL,
    location    text NOT NULL DEFAULT '',
    attendees   integer NOT NULL CHECK (attendees BETWEEN 0 AND 100000),
    notes       text NOT NULL DEFAULT '',
    version     integer NOT NULL DEFAULT 1,
    created_at  timestamptz NOT NULL,
    updated_at  timestamptz NOT NULL,
    CHECK (end_at > start_at)
);

CREATE INDEX events_contract_idx ON events (contract_id, start_at, id);
-- Also finds the upcoming events of a support who leaves.
CREATE INDEX events_support_idx ON events (support_id, end_at);
CREATE INDEX events_start_at_idx ON events (start_at, id);

-- The records with the summaries of others they embed, so that every read
-- is one query.
CREATE VIEW client_details AS
SELECT c.id, c.full_name, c.email, c.phone, c.company_name,
       c.commercial_id, (m.first_name || ' ' || m.last_name)::text AS commercial_full_name,
       c.first_contact_at, c.last_contact_at, c.version, c.created_at, c.updated_at
FROM clients c
JOIN collaborators m ON m.id = c.commercial_id;

CREATE VIEW contract_details AS
SELECT k.id, k.client_id, c.full_name AS client_full_name, c.company_name AS client_company_name,
       c.commercial_id, (m.first_name || ' ' || m.last_name)::text AS commercial_full_name,
       k.total_amount, k.amount_due,
       k.currency, k.signed, k.signed_at, k.version, k.created_at, k.updated_at
FROM contracts k
JOIN clients c ON c.id = k.client_id
JOIN collaborators m ON m.id = c.commercial_id;

CREATE VIEW event_details AS
SELECT e.id, e.name, e.contract_id,
       k.client_id, c.full_name AS client_full_name, c.email AS client_email, c.phone AS client_phone,
       c.commercial_id,
       e.support_id, coalesce(s.first_name || ' ' || s.last_name, '')::text AS support_full_name,
       e.start_at, e.end_at, e.timezone, e.location, e.attendees, e.notes,
       e.version, e.created_at, e.updated_at
FROM events e
JOIN contracts k ON k.id = e.contract_id
JOIN clients c ON c.id = k.client_id
LEFT JOIN collaborators s ON s.id = e.support_id;

-- +goose Down
DROP VIEW event_details;
DROP VIEW contract_details;
DROP VIEW client_details;
DROP TABLE events;
DROP TABLE contracts;
DROP TABLE clients;
