package apiv1

import "time"

// ContextStatus is the status of a VM context.
type ContextStatus string

// VM context statuses.
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

// VMContext is the record of one protected VM.
type VMContext struct {
	ContextID        string        `json:"context_id"`
	VMName           string        `json:"vm_name"`
	VMwareVMID       string        `json:"vmware_vm_id"`
	VCenterHost      string        `json:"vcenter_host"`
	Datacenter       string        `json:"datacenter"`
	CPUCount         int           `json:"cpu_count"`
	MemoryMB         int           `json:"memory_mb"`
	OSType           string        `json:"os_type"`
	Firmware         string        `json:"firmware"`
	CurrentStatus    ContextStatus `json:"current_status"`
	LastStatusChange time.Time     `json:"last_status_change"`
	CreatedAt        time.Time     `json:"created_at"`
	Disks            []Disk        `json:"disks"`
	NICs             []SourceNIC   `json:"networks"`
	// RPOSeconds is the replica's age: now minus the oldest disk's
	// last_synced_at, in whole seconds. Nil while a disk never reported a
	// sync.
	RPOSeconds *int64 `json:"rpo_seconds"`
	// RPOTargetSeconds is the RPO the VM should stay within: its own
	// target (rpo_target in a PATCH) or FAILOVER_RPO_TARGET.
	RPOTargetSeconds int64 `json:"rpo_target_seconds"`
	// ReplicationState is the replica's health (ReplicationInSync …).
	ReplicationState ReplicationState `json:"replication_state"`
}

// ReplicationState is a VM's replication health, read from its status
// and its RPO against its target.
type ReplicationState string

// Replication states, in the order they are decided: a context whose
// status is replicating or failed says so; otherwise unknown when a disk
// never reported a sync (or the VM has no disk), behind when the RPO
// exceeds the target, in_sync when it does not.
const (
	ReplicationReplicating ReplicationState = "replicating"
	ReplicationFailed      ReplicationState = "failed"
	ReplicationUnknown     ReplicationState = "unknown"
	ReplicationBehind      ReplicationState = "behind"
	ReplicationInSync      ReplicationState = "in_sync"
)

// Disk is one disk of a VM context and its replica.
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
	// appliance VM at registration; nil when it was registered detached.
	ApplianceDeviceID *int `json:"appliance_device_id,omitempty"`
	// LastSyncedAt is when the replica was last brought up to date with
	// the source disk; absent while it never reported a sync.
	LastSyncedAt *time.Time `json:"last_synced_at,omitempty"`
}

// SourceNIC is one NIC of the source VM.
type SourceNIC struct {
	NICKey      int32  `json:"nic_key"`
	Order       int    `json:"nic_order"`
	NetworkName string `json:"source_network_name"`
	MAC         string `json:"mac_address"`
	AdapterType string `json:"adapter_type"`
}

// ContextList is every VM context (GET /contexts).
type ContextList struct {
	Contexts []VMContext `json:"contexts"`
}

// ContextDetail is a VM context with its mappings and latest jobs
// (GET /contexts/{context_id}).
type ContextDetail struct {
	VMContext
	Mappings []NetworkMapping `json:"network_mappings"`
	Jobs     []Job            `json:"jobs"`
}

// RegisterRequest registers a protected VM (POST /contexts): the VM in
// vCenter, its disks with their replicas, NICs and network mappings. The
// short form is a VMwareVMID or an InventoryPath and, for the disks whose
// replica the naming rule does not find, their volume ids; the rest is
// read from vCenter and CloudStack.
type RegisterRequest struct {
	// VMwareVMID is the VM's instance UUID; or give InventoryPath.
	VMwareVMID string `json:"vmware_vm_id,omitempty"`
	// InventoryPath is the VM's vCenter inventory path
	// (/datacenter/vm/folder/name).
	InventoryPath   string            `json:"inventory_path,omitempty"`
	VMName          string            `json:"vm_name,omitempty"`
	VCenterHost     string            `json:"vcenter_host,omitempty"`
	Datacenter      string            `json:"datacenter,omitempty"`
	Disks           []RegisterDisk    `json:"disks"`
	NICs            []RegisterNIC     `json:"nics,omitempty"`
	NetworkMappings []RegisterMapping `json:"network_mappings,omitempty"`
}

// RegisterDisk is one disk of a RegisterRequest. Only what the
// replica rules cannot find need be given: VolumeID when the replica is
// not named by FAILOVER_REPLICA_VOLUME_NAME, the NBD URIs when
// FAILOVER_SOURCE_NBD_URI / FAILOVER_REPLICA_NBD_URI are not set, and
// ChangeID when the replica is not in sync with the disk now.
type RegisterDisk struct {
	DiskKey       int32  `json:"disk_key"`
	VolumeID      string `json:"volume_id"`
	SourceNBDURI  string `json:"source_nbd_uri,omitempty"`
	ReplicaNBDURI string `json:"replica_nbd_uri,omitempty"`
	ChangeID      string `json:"change_id,omitempty"`
	// LastSyncedAt is when the replica was last in sync with the source
	// (at ChangeID); absent, the VM's RPO is unknown until an update sets
	// it.
	LastSyncedAt *time.Time `json:"last_synced_at,omitempty"`
}

// RegisterNIC is one NIC of a RegisterRequest (MAC addresses otherwise come
// from vCenter).
type RegisterNIC struct {
	SourceNetworkName string `json:"source_network_name"`
	MACAddress        string `json:"mac_address,omitempty"`
}

// RegisterMapping is a network mapping given at registration.
type RegisterMapping struct {
	SourceNetworkName      string `json:"source_network_name"`
	DestinationNetworkID   string `json:"destination_network_id"`
	DestinationNetworkName string `json:"destination_network_name,omitempty"`
	MappingType            string `json:"mapping_type"`
}

// ContextUpdate is an update of a VM's record by the replication side
// (PATCH /contexts/{context_id}).
type ContextUpdate struct {
	// Status is replicating, ready_for_failover or failed (replication
	// failed); ready_for_failover needs every disk's replica set.
	Status ContextStatus `json:"status,omitempty"`
	// Disks set replicas, exports, change ids and sync times by disk key.
	Disks []DiskUpdate `json:"disks,omitempty"`
	// RPOTarget sets the VM's own RPO target, a duration from 1m to 168h
	// (for example "30m"); "default" clears it (FAILOVER_RPO_TARGET
	// applies).
	RPOTarget string `json:"rpo_target,omitempty"`
}

// DiskUpdate sets one disk's replica fields; an empty field is left as it
// is.
type DiskUpdate struct {
	DiskKey       int32  `json:"disk_key"`
	VolumeID      string `json:"volume_id,omitempty"`
	SourceNBDURI  string `json:"source_nbd_uri,omitempty"`
	ReplicaNBDURI string `json:"replica_nbd_uri,omitempty"`
	ChangeID      string `json:"change_id,omitempty"`
	// LastSyncedAt is when the replica was last brought up to date
	// (RFC 3339); at most a minute ahead of the server's clock.
	LastSyncedAt *time.Time `json:"last_synced_at,omitempty"`
}

// RefreshReport is what a refresh found changed in vCenter
// (POST /contexts/{context_id}/refresh).
type RefreshReport struct {
	Context *VMContext `json:"context"`
	Changes []string   `json:"changes"`
	// DisksWithoutReplica are disks (new in vCenter) that need a replica
	// before the VM can fail over; the VM is discovered until then.
	DisksWithoutReplica []int32 `json:"disks_without_replica,omitempty"`
}
