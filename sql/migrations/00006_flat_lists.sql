-- +goose Up
-- Lists stay flat at a million rows: every filter of a list has an index
-- that leads with it and ends with the list's sort key, so a page is an
-- index range read of `limit` rows wherever the cursor stands.
--
-- A contract's and an event's commercial is their client's. It is copied
-- onto them (and kept in step by triggers) so that "the contracts / events
-- of commercial X in start order" is one index range instead of a join over
-- every client of X.
ALTER TABLE contracts ADD COLUMN commercial_id uuid;
UPDATE contracts k SET commercial_id = c.commercial_id FROM clients c WHERE c.id = k.client_id;
ALTER TABLE contracts ALTER COLUMN commercial_id SET NOT NULL;

ALTER TABLE events ADD COLUMN commercial_id uuid;
UPDATE events e SET commercial_id = k.commercial_id FROM contracts k WHERE k.id = e.contract_id;
ALTER TABLE events ALTER COLUMN commercial_id SET NOT NULL;

-- +goose StatementBegin
CREATE FUNCTION contract_commercial() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    SELECT c.commercial_id INTO NEW.commercial_id FROM clients c WHERE c.id = NEW.client_id;
    RETURN NEW;
END
$$;
-- +goose StatementEnd
CREATE TRIGGER contracts_commercial BEFORE INSERT OR UPDATE OF client_id, commercial_id ON contracts
    FOR EACH ROW EXECUTE FUNCTION contract_commercial();

-- +goose StatementBegin
CREATE FUNCTION event_commercial() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    SELECT k.commercial_id INTO NEW.commercial_id FROM contracts k WHERE k.id = NEW.contract_id;
    RETURN NEW;
END
$$;
-- +goose StatementEnd
CREATE TRIGGER events_commercial BEFORE INSERT OR UPDATE OF contract_id, commercial_id ON events
    FOR EACH ROW EXECUTE FUNCTION event_commercial();

-- A reassigned client takes its contracts and their events along (the
-- triggers above re-read the new commercial from the client).
-- +goose StatementBegin
CREATE FUNCTION client_commercial_moved() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE contracts SET commercial_id = NEW.commercial_id WHERE client_id = NEW.id;
    UPDATE events SET commercial_id = NEW.commercial_id
    WHERE contract_id IN (SELECT k.id FROM contracts k WHERE k.client_id = NEW.id);
    RETURN NULL;
END
$$;
-- +goose StatementEnd
CREATE TRIGGER clients_commercial_moved AFTER UPDATE OF commercial_id ON clients
    FOR EACH ROW WHEN (OLD.commercial_id IS DISTINCT FROM NEW.commercial_id)
    EXECUTE FUNCTION client_commercial_moved();

CREATE INDEX clients_commercial_full_name_idx ON clients (commercial_id, full_name, id);
CREATE INDEX clients_commercial_company_name_idx ON clients (commercial_id, company_name, id);
CREATE INDEX clients_commercial_last_contact_at_idx ON clients (commercial_id, last_contact_at, id);

CREATE INDEX contracts_commercial_created_at_idx ON contracts (commercial_id, created_at, id);
CREATE INDEX contracts_commercial_amount_due_idx ON contracts (commercial_id, amount_due, id);
CREATE INDEX contracts_signed_created_at_idx ON contracts (signed, created_at, id);
CREATE INDEX contracts_signed_amount_due_idx ON contracts (signed, amount_due, id);
CREATE INDEX contracts_paid_created_at_idx ON contracts ((amount_due = 0), created_at, id);

CREATE INDEX events_commercial_start_at_idx ON events (commercial_id, start_at, id);
CREATE INDEX events_support_start_at_idx ON events (support_id, start_at, id);

CREATE OR REPLACE VIEW contract_details AS
SELECT k.id, k.client_id, c.full_name AS client_full_name, c.company_name AS client_company_name,
       k.commercial_id, (m.first_name || ' ' || m.last_name)::text AS commercial_full_name,
       k.total_amount, k.amount_due,
       k.currency, k.signed, k.signed_at, k.version, k.created_at, k.updated_at
FROM contracts k
JOIN clients c ON c.id = k.client_id
JOIN collaborators m ON m.id = k.commercial_id;

CREATE OR REPLACE VIEW event_details AS
SELECT e.id, e.name, e.contract_id,
       k.client_id, c.full_name AS client_full_name, c.email AS client_email, c.phone AS client_phone,
       e.commercial_id,
       e.support_id, coalesce(s.first_name || ' ' || s.last_name, '')::text AS support_full_name,
       e.start_at, e.end_at, e.timezone, e.location, e.attendees, e.notes,
       e.version, e.created_at, e.updated_at
FROM events e
JOIN contracts k ON k.id = e.contract_id
JOIN clients c ON c.id = k.client_id
LEFT JOIN collaborators s ON s.id = e.support_id;

-- +goose Down
CREATE OR REPLACE VIEW event_details AS
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

CREATE OR REPLACE VIEW contract_details AS
SELECT k.id, k.client_id, c.full_name AS client_full_name, c.company_name AS client_company_name,
       c.commercial_id, (m.first_name || ' ' || m.last_name)::text AS commercial_full_name,
       k.total_amount, k.amount_due,
       k.currency, k.signed, k.signed_at, k.version, k.created_at, k.updated_at
FROM contracts k
JOIN clients c ON c.id = k.client_id
JOIN collaborators m ON m.id = c.commercial_id;

DROP INDEX events_support_start_at_idx;
DROP INDEX events_commercial_start_at_idx;
DROP INDEX contracts_paid_created_at_idx;
DROP INDEX contracts_signed_amount_due_idx;
DROP INDEX contracts_signed_created_at_idx;
DROP INDEX contracts_commercial_amount_due_idx;
DROP INDEX contracts_commercial_created_at_idx;
DROP INDEX clients_commercial_last_contact_at_idx;
DROP INDEX clients_commercial_company_name_idx;
DROP INDEX clients_commercial_full_name_idx;

DROP TRIGGER clients_commercial_moved ON clients;
DROP FUNCTION client_commercial_moved();
DROP TRIGGER events_commercial ON events;
DROP FUNCTION event_commercial();
DROP TRIGGER contracts_commercial ON contracts;
DROP FUNCTION contract_commercial();
ALTER TABLE events DROP COLUMN commercial_id;
ALTER TABLE contracts DROP COLUMN commercial_id;
