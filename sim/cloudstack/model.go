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
	// StateShutdown is a VM state revertSnapshot accepts like Stopped.
	StateShutdown = "Shutdown"
)

// Volume types as CloudStack reports them.
const (
	VolumeRoot     = "ROOT"
	VolumeDataDisk = "DATADISK"
)

// Volume states as CloudStack reports them (Volume.State).
const (
	// VolumeAllocated is a volume known to the database but never created
	// on primary storage (a ROOT volume of a VM that never started).
	VolumeAllocated = "Allocated"
	VolumeReady     = "Ready"
	// VolumeSnapshotting is the state while a snapshot is taken on primary
	// storage (Volume.Event.SnapshotRequested).
	VolumeSnapshotting = "Snapshotting"
	VolumeAttaching    = "Attaching"
	VolumeReverting    = "Reverting"
)

// Snapshot states as CloudStack reports them (Snapshot.State).
const (
	SnapshotAllocated        = "Allocated"
	SnapshotCreating         = "Creating"
	SnapshotCreatedOnPrimary = "CreatedOnPrimary"
	SnapshotBackingUp        = "BackingUp"
	SnapshotBackedUp         = "BackedUp"
	SnapshotError            = "Error"
	SnapshotDestroying       = "Destroying"
	SnapshotDestroyed        = "Destroyed"
)

// Storage pool types as CloudStack reports them (Storage.StoragePoolType).
const (
	PoolNFS        = "NetworkFilesystem"
	PoolFilesystem = "Filesystem"
	PoolRBD        = "RBD"
	PoolCLVM       = "CLVM"
)

// Volume formats (Storage.ImageFormat).
const (
	FormatQCOW2 = "QCOW2"
	FormatRAW   = "RAW"
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
	// Customized makes the offering dynamic (iscustomized=true): a
	// deployVirtualMachine with it must pass details cpuNumber, cpuSpeed
	// and memory, as UserVmManagerImpl.validateCustomParameters demands.
	// On a customized offering, CPUs, CPUSpeedMHz and MemoryMB set to a
	// non-zero value are fixed (the matching detail is then refused).
	Customized bool
	// CPUSpeedMHz is the offering's CPU speed; 0 renders 1000 on a fixed
	// offering and means "custom" on a customized one.
	CPUSpeedMHz int
	// MinCPUs, MaxCPUs, MinMemoryMB and MaxMemoryMB bound a customized
	// offering (service_offering_details mincpunumber etc.). Default to 1,
	// 2147483647, 32 and 2147483647 as in the real server.
	MinCPUs, MaxCPUs, MinMemoryMB, MaxMemoryMB int
}

// Template is a simulated template. Deploying it always allocates a ROOT
// volume at device 0 (VirtualMachineManagerImpl.allocateRootVolume): a
// template with SizeBytes 0 gets a ROOT of DefaultRootSize. There is no
// "blank" template in CloudStack.
type Template struct {
	ID        string
	Name      string
	ZoneID    string
	SizeBytes int64
}

// DefaultRootSize is the size of the ROOT volume a template with
// SizeBytes 0 gets: 8 GiB.
const DefaultRootSize int64 = 8 << 30

// NIC is a simulated network interface of a VM.
type NIC struct {
	ID        string
	NetworkID string
	MAC       string
	IPAddress string
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
	// Account owns the VM; defaults to Config.Account.
	Account string
	// CPUs, CPUSpeedMHz and MemoryMB are the sizes chosen through the
	// details of a customized offering; 0 means the offering's.
	CPUs, CPUSpeedMHz, MemoryMB int
	// InstanceName is CloudStack's internal name (i-2-<id>-VM); generated
	// when empty.
	InstanceName string

	dbID int64
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
	// Account owns the volume; defaults to Config.Account.
	Account string
	// StorageID is the primary storage pool; the default NFS pool when
	// empty (created on demand).
	StorageID string
	// Format defaults to QCOW2, or RAW on an RBD or CLVM pool.
	Format string
	// State defaults to Ready.
	State string
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
	Account   string
	StorageID string
	Format    string

	dbID int64
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
	// VMID is the instance the volume was attached to when the snapshot
	// was taken (SnapshotDao.listByInstanceId); empty for a detached one.
	VMID string

	dbID int64
}

// StoragePool is a simulated primary storage pool. Type is one of
// PoolNFS, PoolFilesystem, PoolRBD, PoolCLVM (or any other CloudStack
// StoragePoolType name).
type StoragePool struct {
	ID     string
	Name   string
	Type   string
	ZoneID string
}
