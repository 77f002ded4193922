-- +goose Up
-- The CloudStack device id each replica had on the appliance VM when the
-- VM was registered. A rollback reattaches the replica there, so whatever
-- serves it from the appliance keeps pointing at the right disk. NULL for
-- a replica registered detached (CloudStack then picks the id).
ALTER TABLE vm_disks ADD COLUMN appliance_device_id integer;
-- The ROOT volume CloudStack allocated from the template for a failover's
-- destination VM. volume-operations records it before detaching it, so a
-- crash between its detach and its delete leaves no stray volume behind.
ALTER TABLE failover_jobs ADD COLUMN template_volume_id text NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE failover_jobs DROP COLUMN template_volume_id;
ALTER TABLE vm_disks DROP COLUMN appliance_device_id;
