-- +goose Up
-- A drill run: the drill job that runs it, the schedule's settings as they
-- were at the tick, how it was triggered, and when its hold ends.
ALTER TABLE drill_runs
    ADD COLUMN job_id        uuid REFERENCES job_tracking (id) ON DELETE SET NULL,
    ADD COLUMN schedule_name text NOT NULL DEFAULT '',
    ADD COLUMN hold_seconds  integer NOT NULL DEFAULT 0 CHECK (hold_seconds >= 0),
    ADD COLUMN max_parallel  integer NOT NULL DEFAULT 1 CHECK (max_parallel >= 1),
    ADD COLUMN trigger       text NOT NULL DEFAULT 'schedule' CHECK (trigger IN ('schedule', 'manual')),
    ADD COLUMN actor         text NOT NULL DEFAULT '',
    ADD COLUMN error         text NOT NULL DEFAULT '',
    ADD COLUMN hold_until    timestamptz;
CREATE UNIQUE INDEX drill_runs_job ON drill_runs (job_id);
CREATE INDEX drill_runs_schedule_tick ON drill_runs (schedule_id, tick DESC);
CREATE INDEX drill_runs_active ON drill_runs (schedule_id) WHERE status IN ('pending', 'running');

-- One row per VM of a drill run: where it is, the failover and rollback
-- jobs the drill started for it (recorded before and after starting them,
-- so a re-run after a crash never starts a second one), and its outcome.
CREATE TABLE drill_run_vms (
    run_id             uuid NOT NULL REFERENCES drill_runs (id) ON DELETE CASCADE,
    context_id         text NOT NULL,
    seq                integer NOT NULL CHECK (seq >= 0),
    vm_name            text NOT NULL DEFAULT '',
    state              text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'skipped', 'failing-over',
        'failed-over', 'failover-failed', 'rolling-back', 'rolled-back', 'rollback-failed')),
    outcome            text NOT NULL DEFAULT '' CHECK (outcome IN ('', 'passed', 'failed', 'skipped')),
    skip_reason        text NOT NULL DEFAULT '',
    error              text NOT NULL DEFAULT '',
    failover_intent_at timestamptz,
    failover_job_id    uuid UNIQUE,
    destination_vm_id  text NOT NULL DEFAULT '',
    destination_state  text NOT NULL DEFAULT '',
    rto_seconds        double precision,
    rollback_intent_at timestamptz,
    rollback_job_id    uuid UNIQUE,
    updated_at         timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (run_id, context_id),
    UNIQUE (run_id, seq)
);

-- Time-boxed test failovers: the requested duration, the deadline set when
-- the failover completes, a short claim so one process starts the rollback,
-- and the rollback job that was started.
ALTER TABLE failover_jobs
    ADD COLUMN test_duration_seconds       integer CHECK (test_duration_seconds > 0),
    ADD COLUMN auto_rollback_at            timestamptz,
    ADD COLUMN auto_rollback_claimed_until timestamptz,
    ADD COLUMN auto_rollback_job_id        uuid;
CREATE INDEX failover_jobs_auto_rollback_due ON failover_jobs (auto_rollback_at)
    WHERE auto_rollback_at IS NOT NULL AND auto_rollback_job_id IS NULL;

-- +goose Down
DROP INDEX failover_jobs_auto_rollback_due;
ALTER TABLE failover_jobs
    DROP COLUMN auto_rollback_job_id,
    DROP COLUMN auto_rollback_claimed_until,
    DROP COLUMN auto_rollback_at,
    DROP COLUMN test_duration_seconds;
DROP TABLE drill_run_vms;
DROP INDEX drill_runs_active;
DROP INDEX drill_runs_schedule_tick;
DROP INDEX drill_runs_job;
ALTER TABLE drill_runs
    DROP COLUMN hold_until,
    DROP COLUMN error,
    DROP COLUMN actor,
    DROP COLUMN trigger,
    DROP COLUMN max_parallel,
    DROP COLUMN hold_seconds,
    DROP COLUMN schedule_name,
    DROP COLUMN job_id;
