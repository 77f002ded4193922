-- +goose Up
-- A job's own parameters (for example a rollback's options); a failover's
-- resolved config lives on failover_jobs.
ALTER TABLE job_tracking ADD COLUMN params jsonb NOT NULL DEFAULT '{}';

-- +goose Down
ALTER TABLE job_tracking DROP COLUMN params;
