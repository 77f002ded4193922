package lab

import (
	"errors"
	"fmt"
	"net"
	"time"
)

// Defaults of Config.
const (
	// DefaultVMs is the default number of protected VMs.
	DefaultVMs = 3
	// DefaultDiskSize is the default size of every simulated disk. The
	// files are sparse: only the seeded extents take space.
	DefaultDiskSize = 64 << 20
	// DefaultCloudStackAddr is where the CloudStack simulator listens by
	// default (a free loopback port).
	DefaultCloudStackAddr = "127.0.0.1:0"
	// MaxVMs bounds Config.VMs (the deterministic MAC scheme and the
	// appliance's device ids have room for this many).
	MaxVMs = 1000
)

// Config describes the lab to start. The zero value is usable after
// WithDefaults.
type Config struct {
	// VMs is the number of protected VMs to seed. Default 3.
	VMs int
	// Dir is the data directory: disk files, nbdkit sockets, CloudStack
	// snapshot copies. Default: a temporary directory that Close removes.
	// A given Dir is left in place (with its disk files) by Close.
	Dir string
	// DiskSize is the size in bytes of every simulated disk, a multiple of
	// 1 MiB. Default 64 MiB. Disk files are sparse.
	DiskSize int64
	// Seed makes the mix of VMs (OS, firmware, disks, NICs, sizes) and the
	// seeded disk contents deterministic: the same seed gives the same
	// lab, except for the ids the simulators generate.
	Seed int64
	// CloudStackAddr is the address the CloudStack simulator listens on.
	// Default 127.0.0.1:0 (a free port).
	CloudStackAddr string
	// Names overrides the names of the first len(Names) VMs, in vCenter
	// and in their replicas' volume names. Defaults to pgtest1, pgtest2, ….
	Names []string
	// NICs fixes every VM's number of NICs, each on a different source
	// network (1 to 3). Defaults to the seeded mix of one or two.
	NICs int
	// KVMSnapshotEnabled is the CloudStack setting kvm.snapshot.enabled.
	// Defaults to false, as on a cloud that never turned it on.
	KVMSnapshotEnabled bool
	// JobDuration is how long the CloudStack simulator's async jobs run.
	// Zero keeps the simulator's default.
	JobDuration time.Duration
}

// WithDefaults returns c with zero fields set to their defaults. Dir stays
// empty (Start makes a temporary directory).
func (c Config) WithDefaults() Config {
	if c.VMs == 0 {
		c.VMs = DefaultVMs
	}
	if c.DiskSize == 0 {
		c.DiskSize = DefaultDiskSize
	}
	if c.CloudStackAddr == "" {
		c.CloudStackAddr = DefaultCloudStackAddr
	}
	return c
}

func (c Config) validate() error {
	var problems []error
	if c.VMs < 1 || c.VMs > MaxVMs {
		problems = append(problems, fmt.Errorf("vms %d is not between 1 and %d", c.VMs, MaxVMs))
	}
	if c.DiskSize < 1<<20 || c.DiskSize%(1<<20) != 0 {
		problems = append(problems, fmt.Errorf("disk size %d is not a positive multiple of 1 MiB", c.DiskSize))
	}
	if _, _, err := net.SplitHostPort(c.CloudStackAddr); err != nil {
		problems = append(problems, fmt.Errorf("cloudstack address %q: %w", c.CloudStackAddr, err))
	}
	if len(c.Names) > c.VMs {
		problems = append(problems, fmt.Errorf("%d names for %d VMs", len(c.Names), c.VMs))
	}
	if c.NICs < 0 || c.NICs > len(networkCatalog) {
		problems = append(problems, fmt.Errorf("nics %d is not between 1 and %d", c.NICs, len(networkCatalog)))
	}
	if c.JobDuration < 0 {
		problems = append(problems, fmt.Errorf("job duration %s is negative", c.JobDuration))
	}
	return errors.Join(problems...)
}
