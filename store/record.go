package store

import (
	"context"

	"github.com/jackc/pgx/v5"

	"github.com/ossea/unifiedfailover/errs"
)

// editableStatuses are the statuses in which a VM's record may be
// refreshed, updated or unregistered: never while it is failed over or
// waits for a cleanup (the record is what the way back reads).
var editableStatuses = map[ContextStatus]bool{StatusDiscovered: true, StatusReplicating: true,
	StatusReadyForFailover: true, StatusFailed: true, StatusCompleted: true}

// lockEditable locks a context's row for an edit and checks the edit is
// allowed: the status, and no active job. It returns the context as
// stored.
func (s *Store) lockEditable(ctx context.Context, tx pgx.Tx, contextID, what string) (ContextStatus, error) {
	var status ContextStatus
	if err := tx.QueryRow(ctx, `SELECT current_status FROM vm_replication_contexts WHERE context_id = $1 FOR UPDATE`,
		contextID).Scan(&status); err != nil {
		return "", err
	}
	if !editableStatuses[status] {
		return "", errs.New(errs.FailedPrecondition, "VM context %s is %s: %s waits until it is rolled back or committed", contextID, status, what)
	}
	var active string
	err := tx.QueryRow(ctx, `SELECT external_job_id FROM job_tracking WHERE context_id = $1 AND status IN ('pending', 'running') LIMIT 1`,
		contextID).Scan(&active)
	if err == nil {
		return "", errs.New(errs.Conflict, "VM context %s has an active job %s: %s waits for it", contextID, active, what)
	}
	if err != pgx.ErrNoRows {
		return "", err
	}
	return status, nil
}

// ReplaceRecord stores c as the whole new record of its context (spec,
// disks, NICs, status) when the edit is allowed (see lockEditable),
// with d recorded in the audit, in one transaction. A replica volume
// another context holds is refused (AlreadyExists).
func (s *Store) ReplaceRecord(ctx context.Context, c *VMContext, what string, d Decision) error {
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := s.lockEditable(ctx, tx, c.ContextID, what); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE vm_replication_contexts SET vm_name = $2, cpu_count = $3, memory_mb = $4,
				os_type = $5, firmware = $6, rpo_target_seconds = $7, updated_at = now() WHERE context_id = $1`,
			c.ContextID, c.VMName, c.CPUCount, c.MemoryMB, c.OSType, c.Firmware, c.RPOTargetSeconds); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, setContextStatus, c.ContextID, c.CurrentStatus); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `DELETE FROM vm_disks WHERE context_id = $1`, c.ContextID); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `DELETE FROM vm_source_networks WHERE context_id = $1`, c.ContextID); err != nil {
			return err
		}
		if err := insertChildren(ctx, tx, c); err != nil {
			return err
		}
		return s.RecordDecision(ctx, tx, d)
	})
	if isUniqueViolation(err, "vm_disks_volume_id_key") {
		return s.volumeTaken(ctx, c)
	}
	return classify(err, "updating the record of context %s", c.ContextID)
}

// UnregisterContext unregisters a VM (when allowed, see lockEditable):
// its record, disks, NICs and mappings go; its jobs and the audit stay,
// with d recorded.
func (s *Store) UnregisterContext(ctx context.Context, contextID string, d Decision) error {
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := s.lockEditable(ctx, tx, contextID, "unregistering it"); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `DELETE FROM vm_replication_contexts WHERE context_id = $1`, contextID); err != nil {
			return err
		}
		return s.RecordDecision(ctx, tx, d)
	})
	return classify(err, "unregistering context %s", contextID)
}

// insertChildren inserts a context's disks and NICs.
func insertChildren(ctx context.Context, tx pgx.Tx, c *VMContext) error {
	for _, d := range c.Disks {
		if _, err := tx.Exec(ctx, `
			INSERT INTO vm_disks (context_id, disk_key, unit_order, label, size_bytes, volume_id,
				source_nbd_uri, replica_nbd_uri, disk_change_id, appliance_device_id, last_synced_at)
			VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11)`,
			c.ContextID, d.DiskKey, d.UnitOrder, d.Label, d.SizeBytes, d.VolumeID,
			d.SourceNBDURI, d.ReplicaNBDURI, d.ChangeID, d.ApplianceDeviceID, d.LastSyncedAt); err != nil {
			return classify(err, "inserting disk %d of context %s", d.DiskKey, c.ContextID)
		}
	}
	for _, n := range c.NICs {
		if _, err := tx.Exec(ctx, `
			INSERT INTO vm_source_networks (context_id, nic_key, nic_order, source_network_name, mac_address, adapter_type)
			VALUES ($1,$2,$3,$4,$5,$6)`,
			c.ContextID, n.NICKey, n.Order, n.NetworkName, n.MAC, n.AdapterType); err != nil {
			return classify(err, "inserting NIC %d of context %s", n.NICKey, c.ContextID)
		}
	}
	return nil
}
