-- +goose Up
-- Recovery plans: the operator's spec (waves, members, hooks, checks) as
-- it was written, with a version that grows with each update; a run is
-- pinned to the version it started with.
CREATE TABLE recovery_plans (
    id         uuid PRIMARY KEY,
    name       text NOT NULL UNIQUE,
    version    integer NOT NULL DEFAULT 1 CHECK (version > 0),
    spec       jsonb NOT NULL,
    created_by text NOT NULL DEFAULT '',
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- +goose Down
DROP TABLE recovery_plans;
