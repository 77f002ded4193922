package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ossea/unifiedfailover/api/apiv1"
	"github.com/ossea/unifiedfailover/errs"
)

// ContextStatus is the status of a VM context (the API's type, apiv1).
type ContextStatus = apiv1.ContextStatus

// VM context statuses (SPEC §2).
const (
	StatusDiscovered       ContextStatus = "discovered"
	StatusReplicating      ContextStatus = "replicating"
	StatusReadyForFailover ContextStatus = "ready_for_failover"
	StatusFailedOverTest   ContextStatus = "failed_over_test"
	StatusFailedOverLive   ContextStatus = "failed_over_live"
	StatusCompleted        ContextStatus = "completed"
	StatusFailed           ContextStatus = "failed"
	StatusCleanupRequired  ContextStatus = "cleanup_required"
)

// VMContext is the master record of one protected VM.
type VMContext struct {
	ContextID        string
	VMName           string
	VMwareVMID       string
	VCenterHost      string
	Datacenter       string
	CPUCount         int
	MemoryMB         int
	OSType           string
	Firmware         string
	CurrentStatus    ContextStatus
	LastStatusChange time.Time
	CreatedAt        time.Time
	// RPOTargetSeconds is the VM's own RPO target; nil takes the
	// installation's default (FAILOVER_RPO_TARGET).
	RPOTargetSeconds *int
	// Syncs are the disks' last sync times, read with every context (also
	// by ListContexts, which reads no disks), for Replication.
	Syncs []DiskSync
	Disks []Disk
	NICs  []SourceNIC
}

// DiskSync is when one disk's replica was last brought up to date.
type DiskSync struct {
	DiskKey      int32      `json:"disk_key"`
	LastSyncedAt *time.Time `json:"last_synced_at"`
}

// Disk is one disk of a VM context and its replica. Its json tags (and
// SourceNIC's) are the keys contextChildrenJSON aggregates the disks and
// NICs with, not the API's format; the API's is apiv1.Disk.
type Disk struct {
	DiskKey       int32  `json:"disk_key"`
	UnitOrder     int    `json:"unit_order"`
	Label         string `json:"label"`
	SizeBytes     int64  `json:"size_bytes"`
	VolumeID      string `json:"volume_id"`
	SourceNBDURI  string `json:"source_nbd_uri"`
	ReplicaNBDURI string `json:"replica_nbd_uri"`
	ChangeID      string `json:"disk_change_id"`
	// ApplianceDeviceID is the CloudStack device id the replica had on the
	// appliance VM at registration; a rollback reattaches it there. Nil
	// when the replica was registered detached.
	ApplianceDeviceID *int `json:"appliance_device_id,omitempty"`
	// LastSyncedAt is when the replica was last brought up to date with
	// the source disk; nil while it never reported a sync.
	LastSyncedAt *time.Time `json:"last_synced_at,omitempty"`
}

// SourceNIC is one NIC of the source VM (json tags: see Disk).
type SourceNIC struct {
	NICKey      int32  `json:"nic_key"`
	Order       int    `json:"nic_order"`
	NetworkName string `json:"source_network_name"`
	MAC         string `json:"mac_address"`
	AdapterType string `json:"adapter_type"`
}

// CreateContext inserts a context with its disks and NICs in one
// transaction. Registering a VMware VM that already has a context fails
// with AlreadyExists carrying the existing context id.
func (s *Store) CreateContext(ctx context.Context, c *VMContext) error {
	if c.CurrentStatus == "" {
		c.CurrentStatus = StatusDiscovered
	}
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		err := tx.QueryRow(ctx, `
			INSERT INTO vm_replication_contexts (context_id, vm_name, vmware_vm_id, vcenter_host, datacenter,
				cpu_count, memory_mb, os_type, firmware, current_status, rpo_target_seconds)
			VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11)
			RETURNING last_status_change, created_at`,
			c.ContextID, c.VMName, c.VMwareVMID, c.VCenterHost, c.Datacenter,
			c.CPUCount, c.MemoryMB, c.OSType, c.Firmware, c.CurrentStatus, c.RPOTargetSeconds,
		).Scan(&c.LastStatusChange, &c.CreatedAt)
		if err != nil {
			return classify(err, "inserting context %s", c.ContextID)
		}
		return insertChildren(ctx, tx, c)
	})
	if isUniqueViolation(err, "vm_disks_volume_id_key") {
		return s.volumeTaken(ctx, c)
	}
	if isUniqueViolation(err, "") {
		var existing string
		if qerr := s.pool.QueryRow(ctx, `SELECT context_id FROM vm_replication_contexts
			WHERE vmware_vm_id = $1 OR context_id = $2 LIMIT 1`, c.VMwareVMID, c.ContextID).Scan(&existing); qerr != nil {
			existing = ""
		}
		return errs.New(errs.AlreadyExists, "VM %s is already registered as context %s", c.VMwareVMID, existing).
			WithDetails("context_id", existing)
	}
	return err
}

// volumeTaken is the error of a registration whose replica volume belongs
// to another disk already: it names the volume and who holds it.
func (s *Store) volumeTaken(ctx context.Context, c *VMContext) error {
	seen := map[string]int32{}
	for _, d := range c.Disks {
		if d.VolumeID == "" {
			continue
		}
		if k, dup := seen[d.VolumeID]; dup {
			return errs.New(errs.InvalidArgument, "disks %d and %d name the same replica volume %s", k, d.DiskKey, d.VolumeID).
				WithDetails("field", "disks")
		}
		seen[d.VolumeID] = d.DiskKey
		var holder, name string
		err := s.pool.QueryRow(ctx, `SELECT d.context_id, c.vm_name FROM vm_disks d
			JOIN vm_replication_contexts c USING (context_id) WHERE d.volume_id = $1`, d.VolumeID).Scan(&holder, &name)
		if err == nil {
			return errs.New(errs.AlreadyExists, "replica volume %s (disk %d) already belongs to VM %s (context %s)",
				d.VolumeID, d.DiskKey, name, holder).WithDetails("context_id", holder, "volume_id", d.VolumeID)
		}
	}
	return errs.New(errs.AlreadyExists, "a replica volume of VM %s already belongs to another VM", c.VMName)
}

// contextColumns are a context's columns (of vm_replication_contexts c),
// with its disks' sync times as a JSON array (DiskSync's keys).
const contextColumns = `c.context_id, c.vm_name, c.vmware_vm_id, c.vcenter_host, c.datacenter, c.cpu_count, c.memory_mb,
	c.os_type, c.firmware, c.current_status, c.last_status_change, c.created_at, c.rpo_target_seconds,
	COALESCE((SELECT json_agg(json_build_object('disk_key', d.disk_key, 'last_synced_at', d.last_synced_at)
		ORDER BY d.unit_order) FROM vm_disks d WHERE d.context_id = c.context_id), '[]'::json)`

func scanContext(row pgx.Row) (*VMContext, error) {
	var c VMContext
	var syncs []byte
	if err := row.Scan(&c.ContextID, &c.VMName, &c.VMwareVMID, &c.VCenterHost, &c.Datacenter, &c.CPUCount,
		&c.MemoryMB, &c.OSType, &c.Firmware, &c.CurrentStatus, &c.LastStatusChange, &c.CreatedAt, &c.RPOTargetSeconds,
		&syncs); err != nil {
		return nil, err
	}
	if err := json.Unmarshal(syncs, &c.Syncs); err != nil {
		return nil, fmt.Errorf("decoding disk sync times of context %s: %w", c.ContextID, err)
	}
	return &c, nil
}

// GetContext returns a context with its disks and NICs.
func (s *Store) GetContext(ctx context.Context, contextID string) (*VMContext, error) {
	c, err := scanContextWithChildren(s.pool.QueryRow(ctx, `SELECT `+contextColumns+`, `+contextChildrenJSON+`
		FROM vm_replication_contexts c WHERE c.context_id = $1`, contextID))
	if err != nil {
		return nil, classify(err, "reading context %q", contextID)
	}
	return c, nil
}

// contextChildrenJSON selects a context's disks and NICs as two JSON arrays
// (keys as Disk's and SourceNIC's JSON names), so a context comes back
// whole in one query.
const contextChildrenJSON = `COALESCE((SELECT json_agg(json_build_object('disk_key', d.disk_key,
		'unit_order', d.unit_order, 'label', d.label, 'size_bytes', d.size_bytes, 'volume_id', d.volume_id,
		'source_nbd_uri', d.source_nbd_uri, 'replica_nbd_uri', d.replica_nbd_uri, 'disk_change_id', d.disk_change_id,
		'appliance_device_id', d.appliance_device_id, 'last_synced_at', d.last_synced_at)
		ORDER BY d.unit_order) FROM vm_disks d WHERE d.context_id = c.context_id), '[]'::json),
	COALESCE((SELECT json_agg(json_build_object('nic_key', n.nic_key, 'nic_order', n.nic_order,
		'source_network_name', n.source_network_name, 'mac_address', n.mac_address, 'adapter_type', n.adapter_type)
		ORDER BY n.nic_order) FROM vm_source_networks n WHERE n.context_id = c.context_id), '[]'::json)`

// scanContextWithChildren scans contextColumns followed by
// contextChildrenJSON.
func scanContextWithChildren(row pgx.Row) (*VMContext, error) {
	var c VMContext
	var syncs, disks, nics []byte
	err := row.Scan(&c.ContextID, &c.VMName, &c.VMwareVMID, &c.VCenterHost, &c.Datacenter, &c.CPUCount,
		&c.MemoryMB, &c.OSType, &c.Firmware, &c.CurrentStatus, &c.LastStatusChange, &c.CreatedAt, &c.RPOTargetSeconds,
		&syncs, &disks, &nics)
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(syncs, &c.Syncs); err != nil {
		return nil, fmt.Errorf("decoding disk sync times of context %s: %w", c.ContextID, err)
	}
	if err := json.Unmarshal(disks, &c.Disks); err != nil {
		return nil, fmt.Errorf("decoding disks of context %s: %w", c.ContextID, err)
	}
	if err := json.Unmarshal(nics, &c.NICs); err != nil {
		return nil, fmt.Errorf("decoding NICs of context %s: %w", c.ContextID, err)
	}
	return &c, nil
}

// ResolveContext finds a context by id, by the VM's VMware instance UUID,
// or, failing those, by VM name. A name shared by several contexts is
// ambiguous (InvalidArgument).
func (s *Store) ResolveContext(ctx context.Context, idOrName string) (*VMContext, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+contextColumns+`, `+contextChildrenJSON+` FROM vm_replication_contexts c
		WHERE c.context_id = $1 OR c.vm_name = $1 OR c.vmware_vm_id = $1
		ORDER BY (c.context_id = $1) DESC, (c.vmware_vm_id = $1) DESC LIMIT 2`, idOrName)
	if err != nil {
		return nil, classify(err, "resolving context %q", idOrName)
	}
	found, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*VMContext, error) { return scanContextWithChildren(r) })
	if err != nil {
		return nil, classify(err, "resolving context %q", idOrName)
	}
	switch {
	case len(found) == 0:
		return nil, errs.New(errs.NotFound, "no VM context with id or name %q", idOrName)
	case len(found) == 2 && found[0].ContextID != idOrName && found[0].VMwareVMID != idOrName:
		return nil, errs.New(errs.InvalidArgument, "VM name %q matches several contexts: use the context id", idOrName)
	}
	return found[0], nil
}

// ListContexts returns every context (without disks and NICs) by name.
func (s *Store) ListContexts(ctx context.Context) ([]*VMContext, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+contextColumns+` FROM vm_replication_contexts c ORDER BY c.vm_name, c.context_id`)
	if err != nil {
		return nil, classify(err, "listing contexts")
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*VMContext, error) { return scanContext(r) })
	return out, classify(err, "listing contexts")
}

// setContextStatus sets context $1's status to $2 (and its last change
// time when the status changes).
const setContextStatus = `UPDATE vm_replication_contexts
	SET last_status_change = CASE WHEN current_status = $2 THEN last_status_change ELSE now() END,
	    current_status = $2, updated_at = now()
	WHERE context_id = $1`

// SetContextStatus sets a context's status (and its last change time when
// the status changes).
func (s *Store) SetContextStatus(ctx context.Context, contextID string, status ContextStatus) error {
	tag, err := s.pool.Exec(ctx, setContextStatus, contextID, status)
	if err != nil {
		return classify(err, "setting status of context %s to %s", contextID, status)
	}
	if tag.RowsAffected() == 0 {
		return errs.New(errs.NotFound, "no VM context %q", contextID)
	}
	return nil
}

// SetDiskSynced stores, after a sync of one disk, the CBT change id the
// replica is now in sync with and when it was (its last_synced_at).
func (s *Store) SetDiskSynced(ctx context.Context, contextID string, diskKey int32, changeID string, syncedAt time.Time) error {
	tag, err := s.pool.Exec(ctx, `UPDATE vm_disks SET disk_change_id = $3, last_synced_at = $4, updated_at = now()
		WHERE context_id = $1 AND disk_key = $2`, contextID, diskKey, changeID, syncedAt)
	if err != nil {
		return classify(err, "storing change id of disk %d of %s", diskKey, contextID)
	}
	if tag.RowsAffected() == 0 {
		return errs.New(errs.NotFound, "no disk %d in context %q", diskKey, contextID)
	}
	return nil
}

// DeleteContext deletes a context; its disks, NICs and mappings go with it.
func (s *Store) DeleteContext(ctx context.Context, contextID string) error {
	tag, err := s.pool.Exec(ctx, `DELETE FROM vm_replication_contexts WHERE context_id = $1`, contextID)
	if err != nil {
		return classify(err, "deleting context %s", contextID)
	}
	if tag.RowsAffected() == 0 {
		return errs.New(errs.NotFound, "no VM context %q", contextID)
	}
	return nil
}

// NewContextID makes a context id in the product's format,
// ctx-<vm name>-<yyyymmdd>-<hhmmss>.
func NewContextID(vmName string, at time.Time) string {
	return fmt.Sprintf("ctx-%s-%s", vmName, at.UTC().Format("20060102-150405"))
}
