-- +goose Up
-- Every step updates its job's row and its own row, and each update sets
-- updated_at. With updated_at in an index (job_tracking_status), none of
-- the job's updates could be HOT: each wrote a new entry into all five of
-- job_tracking's indexes and left dead ones behind. The index becomes
-- (status, created_at), what a listing by status sorts on; the sweeper's
-- scan for stale active jobs reads the few active jobs through the partial
-- index job_tracking_one_active_per_context. Free space on each page keeps
-- the rewritten rows of a job, its steps and its failover on their page.
DROP INDEX job_tracking_status;
CREATE INDEX job_tracking_status_created ON job_tracking (status, created_at DESC);
ALTER TABLE job_tracking SET (fillfactor = 80);
ALTER TABLE job_steps SET (fillfactor = 80);
ALTER TABLE failover_jobs SET (fillfactor = 80);

-- +goose Down
ALTER TABLE failover_jobs RESET (fillfactor);
ALTER TABLE job_steps RESET (fillfactor);
ALTER TABLE job_tracking RESET (fillfactor);
DROP INDEX job_tracking_status_created;
CREATE INDEX job_tracking_status ON job_tracking (status, updated_at);
