-- +goose Up
-- The master record of one protected VM.
CREATE TABLE vm_replication_contexts (
    context_id         text PRIMARY KEY,
    vm_name            text NOT NULL CHECK (vm_name <> ''),
    vmware_vm_id       text NOT NULL UNIQUE CHECK (vmware_vm_id <> ''),
    vcenter_host       text NOT NULL DEFAULT '',
    datacenter         text NOT NULL DEFAULT '',
    cpu_count          integer NOT NULL DEFAULT 0 CHECK (cpu_count >= 0),
    memory_mb          integer NOT NULL DEFAULT 0 CHECK (memory_mb >= 0),
    os_type            text NOT NULL DEFAULT 'linux' CHECK (os_type IN ('linux', 'windows', 'other')),
    firmware           text NOT NULL DEFAULT 'bios' CHECK (firmware IN ('bios', 'efi')),
    current_status     text NOT NULL DEFAULT 'discovered' CHECK (current_status IN (
        'discovered', 'replicating', 'ready_for_failover', 'failed_over_test',
        'failed_over_live', 'completed', 'failed', 'cleanup_required')),
    last_status_change timestamptz NOT NULL DEFAULT now(),
    created_at         timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX vm_replication_contexts_vm_name ON vm_replication_contexts (vm_name);

-- One row per disk of a context: its replica volume and NBD exports.
CREATE TABLE vm_disks (
    context_id      text NOT NULL REFERENCES vm_replication_contexts (context_id) ON DELETE CASCADE,
    disk_key        integer NOT NULL,
    unit_order      integer NOT NULL CHECK (unit_order >= 0),
    label           text NOT NULL DEFAULT '',
    size_bytes      bigint NOT NULL CHECK (size_bytes >= 0),
    volume_id       text NOT NULL DEFAULT '',
    source_nbd_uri  text NOT NULL DEFAULT '',
    replica_nbd_uri text NOT NULL DEFAULT '',
    disk_change_id  text NOT NULL DEFAULT '',
    updated_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (context_id, disk_key),
    UNIQUE (context_id, unit_order)
);

-- One row per source NIC.
CREATE TABLE vm_source_networks (
    context_id          text NOT NULL REFERENCES vm_replication_contexts (context_id) ON DELETE CASCADE,
    nic_key             integer NOT NULL,
    nic_order           integer NOT NULL CHECK (nic_order >= 0),
    source_network_name text NOT NULL,
    mac_address         text NOT NULL DEFAULT '',
    adapter_type        text NOT NULL DEFAULT '',
    PRIMARY KEY (context_id, nic_key),
    UNIQUE (context_id, nic_order)
);

-- Source network -> CloudStack network, per context and mapping type.
CREATE TABLE network_mappings (
    id                       bigserial PRIMARY KEY,
    context_id               text NOT NULL REFERENCES vm_replication_contexts (context_id) ON DELETE CASCADE,
    source_network_name      text NOT NULL CHECK (source_network_name <> ''),
    destination_network_id   text NOT NULL CHECK (destination_network_id <> ''),
    destination_network_name text NOT NULL DEFAULT '',
    mapping_type             text NOT NULL CHECK (mapping_type IN ('live', 'test')),
    created_at               timestamptz NOT NULL DEFAULT now(),
    updated_at               timestamptz NOT NULL DEFAULT now(),
    UNIQUE (context_id, source_network_name, mapping_type)
);

-- The job log: one row per job of any kind.
CREATE TABLE job_tracking (
    id              uuid PRIMARY KEY,
    external_job_id text NOT NULL UNIQUE CHECK (external_job_id <> ''),
    job_type        text NOT NULL CHECK (job_type <> ''),
    failover_type   text CHECK (failover_type IN ('live', 'test')),
    context_id      text REFERENCES vm_replication_contexts (context_id) ON DELETE SET NULL,
    parent_job_id   uuid REFERENCES job_tracking (id) ON DELETE SET NULL,
    queue           text NOT NULL,
    status          text NOT NULL CHECK (status IN ('pending', 'running', 'completed', 'failed', 'cancelled')),
    run_no          integer NOT NULL DEFAULT 1,
    current_step    text NOT NULL DEFAULT '',
    error           text NOT NULL DEFAULT '',
    actor           text NOT NULL DEFAULT '',
    created_at      timestamptz NOT NULL DEFAULT now(),
    started_at      timestamptz,
    ended_at        timestamptz,
    updated_at      timestamptz NOT NULL DEFAULT now()
);
-- At most one active job per VM context, whatever its kind.
CREATE UNIQUE INDEX job_tracking_one_active_per_context ON job_tracking (context_id)
    WHERE status IN ('pending', 'running');
CREATE INDEX job_tracking_context_created ON job_tracking (context_id, created_at DESC);
CREATE INDEX job_tracking_status ON job_tracking (status, updated_at);

-- The planned steps of a job, in order.
CREATE TABLE job_steps (
    job_id      uuid NOT NULL REFERENCES job_tracking (id) ON DELETE CASCADE,
    seq         integer NOT NULL CHECK (seq >= 0),
    name        text NOT NULL,
    status      text NOT NULL CHECK (status IN ('pending', 'running', 'retrying', 'completed', 'failed', 'skipped')),
    attempts    integer NOT NULL DEFAULT 0,
    started_at  timestamptz,
    ended_at    timestamptz,
    error       text NOT NULL DEFAULT '',
    error_class text NOT NULL DEFAULT '',
    skip_reason text NOT NULL DEFAULT '',
    progress    jsonb,
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (job_id, seq),
    UNIQUE (job_id, name)
);

-- Structured events; each carries the job's external id.
CREATE TABLE log_events (
    id              bigserial PRIMARY KEY,
    job_id          uuid NOT NULL REFERENCES job_tracking (id) ON DELETE CASCADE,
    external_job_id text NOT NULL,
    step            text NOT NULL DEFAULT '',
    level           text NOT NULL DEFAULT 'info',
    message         text NOT NULL,
    attrs           jsonb NOT NULL DEFAULT '{}',
    created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX log_events_external_job_id ON log_events (external_job_id, id);
CREATE INDEX log_events_job_id ON log_events (job_id, id);

-- One row per failover, with its resolved config and what it created.
CREATE TABLE failover_jobs (
    job_id            uuid PRIMARY KEY REFERENCES job_tracking (id) ON DELETE CASCADE,
    external_job_id   text NOT NULL UNIQUE,
    vm_context_id     text REFERENCES vm_replication_contexts (context_id) ON DELETE SET NULL,
    vm_id             text NOT NULL,
    job_type          text NOT NULL CHECK (job_type IN ('live', 'test')),
    status            text NOT NULL CHECK (status IN ('pending', 'running', 'completed', 'failed', 'rolled_back', 'committed')),
    config            jsonb NOT NULL,
    destination_vm_id text NOT NULL DEFAULT '',
    snapshot_ids      jsonb NOT NULL DEFAULT '{}',
    source_vm_spec    jsonb,
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now(),
    completed_at      timestamptz
);
CREATE INDEX failover_jobs_context ON failover_jobs (vm_context_id, created_at DESC);

-- Every operator decision, with actor and the full choice.
CREATE TABLE decision_audit (
    id              bigserial PRIMARY KEY,
    decision        text NOT NULL,
    actor           text NOT NULL DEFAULT '',
    context_id      text,
    job_id          uuid,
    external_job_id text NOT NULL DEFAULT '',
    choice          jsonb NOT NULL DEFAULT '{}',
    created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX decision_audit_context ON decision_audit (context_id, id);
CREATE INDEX decision_audit_job ON decision_audit (job_id, id);

-- Scheduled DR drills and their runs.
CREATE TABLE drill_schedules (
    id           uuid PRIMARY KEY,
    name         text NOT NULL UNIQUE,
    context_ids  text[] NOT NULL,
    cron         text NOT NULL,
    timezone     text NOT NULL DEFAULT 'UTC',
    hold_seconds integer NOT NULL DEFAULT 0 CHECK (hold_seconds >= 0),
    max_parallel integer NOT NULL DEFAULT 1 CHECK (max_parallel >= 1),
    enabled      boolean NOT NULL DEFAULT true,
    created_by   text NOT NULL DEFAULT '',
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE drill_runs (
    id          uuid PRIMARY KEY,
    schedule_id uuid REFERENCES drill_schedules (id) ON DELETE SET NULL,
    tick        timestamptz NOT NULL,
    status      text NOT NULL CHECK (status IN ('pending', 'running', 'passed', 'failed')),
    started_at  timestamptz,
    ended_at    timestamptz,
    report      jsonb NOT NULL DEFAULT '{}',
    created_at  timestamptz NOT NULL DEFAULT now(),
    UNIQUE (schedule_id, tick)
);

-- +goose Down
DROP TABLE drill_runs;
DROP TABLE drill_schedules;
DROP TABLE decision_audit;
DROP TABLE failover_jobs;
DROP TABLE log_events;
DROP TABLE job_steps;
DROP TABLE job_tracking;
DROP TABLE network_mappings;
DROP TABLE vm_source_networks;
DROP TABLE vm_disks;
DROP TABLE vm_replication_contexts;
