-- +goose Up
-- One row per running worker process, written by its heartbeat: what it
-- can run (capabilities, by name: {"virtio": {"available": true,
-- "command": "virt-v2v-in-place", "path": "/usr/bin/virt-v2v-in-place"}})
-- and when it last said so. A worker is live while its heartbeat is
-- younger than three of its heartbeat intervals; a graceful stop deletes
-- its row, and rows dead for a day are pruned.
CREATE TABLE workers (
    id                   text PRIMARY KEY,
    hostname             text NOT NULL,
    pid                  integer NOT NULL,
    version              text NOT NULL DEFAULT '',
    started_at           timestamptz NOT NULL,
    heartbeat_interval_ms bigint NOT NULL CHECK (heartbeat_interval_ms > 0),
    capabilities         jsonb NOT NULL DEFAULT '{}',
    heartbeat_at         timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX workers_heartbeat_at ON workers (heartbeat_at);

-- +goose Down
DROP TABLE workers;
