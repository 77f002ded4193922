-- +goose Up
-- What a forced cleanup could not clean: one entry per resource
-- ({kind, id, step, error}), set by the last rollback of the failover.
ALTER TABLE failover_jobs ADD COLUMN leftovers jsonb NOT NULL DEFAULT '[]';

-- +goose Down
ALTER TABLE failover_jobs DROP COLUMN leftovers;
