-- +goose Up
-- The change feed: one row per committed write that moves a record's
-- version, appended in the write's own transaction.
INSERT INTO permissions (name) VALUES ('change:read');
INSERT INTO role_permissions (role, permission) SELECT name, 'change:read' FROM roles;

-- Positions order the feed. They are not taken when a row is inserted (a
-- transaction that began earlier may commit later, and a reader that had
-- already passed its number would skip it) but at commit: a deferred
-- trigger takes one transaction-scoped lock, then numbers the rows. The
-- lock is released only once the transaction is visible, so a position is
-- handed out after every smaller one is visible: whoever sees position n
-- sees every committed position below it. Positions come from a sequence,
-- which a dump and restore carries over, so they keep increasing in a new
-- cluster (a transaction id would not).
CREATE SEQUENCE change_positions AS bigint;

CREATE TABLE changes (
    id         uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    position   bigint UNIQUE,
    type       text NOT NULL CHECK (type IN (
        'collaborator.created', 'collaborator.updated', 'collaborator.deleted',
        'client.created', 'client.updated', 'contract.created', 'contract.updated',
        'event.created', 'event.updated')),
    record_id  uuid NOT NULL,
    version    integer NOT NULL,
    actor_id   uuid REFERENCES collaborators (id),
    request_id text,
    -- json, not jsonb: the bytes GET sent, key order included.
    data       json NOT NULL,
    at         timestamptz NOT NULL
);

-- Pruning finds what is older than the retention by instant.
CREATE INDEX changes_at_idx ON changes (at);

-- Pruning removes a prefix of positions; pruned_through is the highest one
-- removed, so a cursor below it has missed something (410).
CREATE TABLE change_feed (
    singleton      boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    pruned_through bigint NOT NULL DEFAULT 0
);
INSERT INTO change_feed DEFAULT VALUES;

-- +goose StatementBegin
CREATE FUNCTION changes_number_at_commit() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- 7012 names the feed's commit lock; nothing else takes it.
    PERFORM pg_advisory_xact_lock(7012);
    UPDATE changes SET position = nextval('change_positions') WHERE id = NEW.id;
    -- Delivered on commit, once per transaction: wakes held readers.
    PERFORM pg_notify('epicevents_changes', '');
    RETURN NULL;
END
$$;
-- +goose StatementEnd

CREATE CONSTRAINT TRIGGER changes_number_at_commit AFTER INSERT ON changes
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION changes_number_at_commit();

-- +goose Down
DROP TABLE change_feed;
DROP TABLE changes;
DROP FUNCTION changes_number_at_commit();
DROP SEQUENCE change_positions;
DELETE FROM role_permissions WHERE permission = 'change:read';
DELETE FROM permissions WHERE name = 'change:read';
