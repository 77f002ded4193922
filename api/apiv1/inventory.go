package apiv1

// InventoryList is vCenter's VMs as candidates for protection
// (GET /inventory/vms).
type InventoryList struct {
	VMs []InventoryVM `json:"vms"`
}

// InventoryVM is one VM of vCenter's inventory.
type InventoryVM struct {
	VMwareVMID string `json:"vmware_vm_id"`
	Name       string `json:"name"`
	// InventoryPath is /datacenter/vm/folder/name; Folder the folder's
	// path.
	InventoryPath string `json:"inventory_path"`
	Folder        string `json:"folder"`
	// PowerState is poweredOn, poweredOff or suspended.
	PowerState string          `json:"power_state"`
	OSType     string          `json:"os_type"`
	CBT        CBTState        `json:"cbt"`
	Disks      []InventoryDisk `json:"disks"`
	NICs       []InventoryNIC  `json:"nics"`
	// Protected says whether the VM has a context; ContextID and
	// ContextStatus are then set.
	Protected     bool          `json:"protected"`
	ContextID     string        `json:"context_id,omitempty"`
	ContextStatus ContextStatus `json:"context_status,omitempty"`
}

// CBTState is a VM's changed block tracking: without it no change ids,
// so no incremental sync and no protection. Hint says how to enable it.
type CBTState struct {
	Enabled bool   `json:"enabled"`
	Hint    string `json:"hint,omitempty"`
}

// InventoryDisk is one disk of an InventoryVM, in vCenter's disk order.
type InventoryDisk struct {
	DiskKey int32 `json:"disk_key"`
	// DiskNumber is the 1-based position in vCenter's disk order, the
	// {disk_number} of the naming rule.
	DiskNumber int    `json:"disk_number"`
	Label      string `json:"label"`
	SizeBytes  int64  `json:"size_bytes"`
	// Replica is the disk's replica volume: the registered one, or the one
	// the naming rule (FAILOVER_REPLICA_VOLUME_NAME) finds on the
	// appliance.
	Replica InventoryReplica `json:"replica"`
}

// InventoryReplica is a disk's replica, or why none was found.
type InventoryReplica struct {
	VolumeID   string `json:"volume_id,omitempty"`
	VolumeName string `json:"volume_name,omitempty"`
	// FoundBy is "registered" or "naming_rule"; empty with Problem.
	FoundBy string `json:"found_by,omitempty"`
	Problem string `json:"problem,omitempty"`
}

// InventoryNIC is one network adapter of an InventoryVM.
type InventoryNIC struct {
	NICKey      int32  `json:"nic_key"`
	NetworkName string `json:"network_name"`
	MAC         string `json:"mac_address"`
	AdapterType string `json:"adapter_type"`
}
