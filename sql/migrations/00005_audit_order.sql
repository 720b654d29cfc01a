-- +goose Up
-- Entries of one instant (a transaction that moves several records, or two
-- writes within a clock tick) still have an order: the order they were
-- written in. History reads newest first by this sequence.
ALTER TABLE audit_entries ADD COLUMN seq bigint NOT NULL GENERATED ALWAYS AS IDENTITY;
DROP INDEX audit_entries_record_idx;
CREATE INDEX audit_entries_record_idx ON audit_entries (record_type, record_id, seq DESC);

-- +goose Down
DROP INDEX audit_entries_record_idx;
ALTER TABLE audit_entries DROP COLUMN seq;
CREATE INDEX audit_entries_record_idx ON audit_entries (record_type, record_id, at DESC, id DESC);
