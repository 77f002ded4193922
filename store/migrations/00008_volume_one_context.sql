-- +goose Up
-- A replica volume belongs to at most one VM context (and one disk of it):
-- two contexts on one volume would let a failover of one attach the
-- other's replica, past the one-job-per-VM lock.
CREATE UNIQUE INDEX vm_disks_volume_id_key ON vm_disks (volume_id) WHERE volume_id <> '';

-- +goose Down
DROP INDEX vm_disks_volume_id_key;
