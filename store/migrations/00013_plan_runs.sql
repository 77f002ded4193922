-- +goose Up
-- Recovery plan runs: a run is pinned to the plan version (and its spec,
-- defaults filled) it started with. A plan has at most one unfinished run
-- (running, halted or rolling_back): the partial unique index.
CREATE TABLE plan_runs (
    id           uuid PRIMARY KEY,
    -- NULL once the plan is deleted: a run keeps its plan's name and spec,
    -- and stays as history (the API refuses to delete a plan while it has
    -- an unfinished run).
    plan_id      uuid REFERENCES recovery_plans (id) ON DELETE SET NULL,
    plan_name    text NOT NULL,
    plan_version integer NOT NULL,
    spec         jsonb NOT NULL,
    mode         text NOT NULL CHECK (mode IN ('test', 'live')),
    status       text NOT NULL,
    reason       text NOT NULL DEFAULT '',
    -- tick numbers the plan-advance tasks, so each tick's task id is unique
    -- and duplicates of one tick collapse.
    tick         bigint NOT NULL DEFAULT 0,
    created_by   text NOT NULL DEFAULT '',
    started_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    ended_at     timestamptz
);
CREATE UNIQUE INDEX plan_runs_one_unfinished ON plan_runs (plan_id)
    WHERE status IN ('running', 'halted', 'rolling_back');

-- One row per (run, member): its state, the jobs the run made for it, and
-- when each phase began and ended.
CREATE TABLE plan_run_members (
    run_id          uuid NOT NULL REFERENCES plan_runs (id) ON DELETE CASCADE,
    member_id       text NOT NULL,
    wave            integer NOT NULL,
    ord             integer NOT NULL,
    context_id      text NOT NULL,
    vm_name         text NOT NULL DEFAULT '',
    optional        boolean NOT NULL DEFAULT false,
    state           text NOT NULL DEFAULT 'pending',
    reason          text NOT NULL DEFAULT '',
    warning         text NOT NULL DEFAULT '',
    -- waived: the operator continued past this member's failure.
    waived          boolean NOT NULL DEFAULT false,
    job_id          text NOT NULL DEFAULT '',
    rollback_job_id text NOT NULL DEFAULT '',
    attempts        integer NOT NULL DEFAULT 0,
    started_at      timestamptz,
    job_done_at     timestamptz,
    checked_at      timestamptz,
    ready_at        timestamptz,
    ended_at        timestamptz,
    rollback_started_at timestamptz,
    PRIMARY KEY (run_id, member_id)
);
CREATE INDEX plan_run_members_context ON plan_run_members (context_id);

-- The run's event log, with the operator's choices (actor set).
CREATE TABLE plan_run_events (
    id        bigserial PRIMARY KEY,
    run_id    uuid NOT NULL REFERENCES plan_runs (id) ON DELETE CASCADE,
    at        timestamptz NOT NULL DEFAULT now(),
    level     text NOT NULL DEFAULT 'info',
    member_id text NOT NULL DEFAULT '',
    actor     text NOT NULL DEFAULT '',
    message   text NOT NULL,
    attrs     jsonb
);
CREATE INDEX plan_run_events_run ON plan_run_events (run_id, id);

-- +goose Down
DROP TABLE plan_run_events;
DROP TABLE plan_run_members;
DROP TABLE plan_runs;
