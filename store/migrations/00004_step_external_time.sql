-- +goose Up
-- Time a step spent in outside calls (vCenter, CloudStack, NBD copies,
-- external commands), summed over its attempts, in milliseconds (fractional): the rest
-- of the step's wall time is the orchestration's own.
ALTER TABLE job_steps ADD COLUMN external_ms double precision NOT NULL DEFAULT 0;

-- +goose Down
ALTER TABLE job_steps DROP COLUMN external_ms;
