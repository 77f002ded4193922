-- +goose Up
-- When a test run's copies are rolled back by themselves (the plan's
-- test_ttl, from the run's end); cleared by any change of the run's
-- status (a manual rollback cancels it).
ALTER TABLE plan_runs ADD COLUMN rollback_at timestamptz;

-- +goose Down
ALTER TABLE plan_runs DROP COLUMN rollback_at;
