-- +goose Up
-- When each replica was last brought up to date with its source disk: set
-- by whatever replicates (PATCH /contexts/{id}) and by a live failover's
-- final sync. NULL while the disk never reported a sync (its RPO is then
-- unknown).
ALTER TABLE vm_disks ADD COLUMN last_synced_at timestamptz;
-- The VM's own RPO target, in seconds; NULL takes FAILOVER_RPO_TARGET.
ALTER TABLE vm_replication_contexts ADD COLUMN rpo_target_seconds integer
    CHECK (rpo_target_seconds IS NULL OR rpo_target_seconds > 0);

-- +goose Down
ALTER TABLE vm_replication_contexts DROP COLUMN rpo_target_seconds;
ALTER TABLE vm_disks DROP COLUMN last_synced_at;
