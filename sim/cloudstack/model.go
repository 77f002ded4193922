package cloudstack

import "time"

// VM states as CloudStack reports them.
const (
	StateStopped   = "Stopped"
	StateStarting  = "Starting"
	StateRunning   = "Running"
	StateStopping  = "Stopping"
	StateDestroyed = "Destroyed"
	StateExpunging = "Expunging"
)

// Volume types as CloudStack reports them.
const (
	VolumeRoot     = "ROOT"
	VolumeDataDisk = "DATADISK"
)

// Zone is a simulated availability zone.
type Zone struct {
	ID   string
	Name string
}

// Network is a simulated guest network. Type is "Isolated", "L2" or
// "Shared".
type Network struct {
	ID     string
	Name   string
	Type   string
	ZoneID string
	CIDR   string
	State  string
}

// ServiceOffering is a simulated compute offering.
type ServiceOffering struct {
	ID       string
	Name     string
	CPUs     int
	MemoryMB int
}

// Template is a simulated template. A template with SizeBytes 0 is a
// "blank" template: deploying it creates no ROOT volume.
type Template struct {
	ID        string
	Name      string
	ZoneID    string
	SizeBytes int64
}

// NIC is a simulated network interface of a VM.
type NIC struct {
	ID        string
	NetworkID string
	MAC       string
	DeviceID  int
	IsDefault bool
}

// VM is a simulated virtual machine.
type VM struct {
	ID                string
	Name              string
	DisplayName       string
	State             string
	ZoneID            string
	ServiceOfferingID string
	TemplateID        string
	BootType          string
	BootMode          string
	NICs              []NIC
	Created           time.Time
}

// VolumeSpec describes a volume added through the Go API. Path, when set,
// is the file holding the volume's bytes; snapshots copy it.
type VolumeSpec struct {
	ID        string
	Name      string
	Type      string // VolumeDataDisk when empty
	SizeBytes int64
	Path      string
	ZoneID    string
}

// Volume is a simulated volume. VMID is empty when detached.
type Volume struct {
	ID        string
	Name      string
	Type      string
	SizeBytes int64
	Path      string
	ZoneID    string
	VMID      string
	DeviceID  int
	State     string
	Created   time.Time
}

// Snapshot is a simulated volume snapshot. Path is the sim's copy of the
// volume's bytes, empty when the volume has no backing file.
type Snapshot struct {
	ID       string
	Name     string
	VolumeID string
	State    string
	Path     string
	Created  time.Time
}
