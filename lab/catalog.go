package lab

// offeringDef is a compute offering the lab creates in CloudStack; every
// seeded VM has the size of one of them.
type offeringDef struct {
	name     string
	cpus     int
	memoryMB int
}

// offeringCatalog lists the lab's compute offerings.
// maxDisksPerVM is the most disks a seeded VM has.
const maxDisksPerVM = 3

var offeringCatalog = []offeringDef{
	{"lab-small-1c-1g", 1, 1024},
	{"lab-medium-2c-2g", 2, 2048},
	{"lab-medium-2c-4g", 2, 4096},
	{"lab-large-4c-8g", 4, 8192},
	{"lab-xlarge-8c-16g", 8, 16384},
}

// Network types of CloudStack.
const (
	netShared   = "Shared"
	netIsolated = "Isolated"
	netL2       = "L2"
)

// networkDef is a source network of the simulated vCenter with the
// CloudStack networks it maps to: a production network for live failover
// and an isolated or L2 network for test failover.
type networkDef struct {
	source   string // vCenter network name
	live     string
	liveType string
	liveCIDR string
	test     string
	testType string
	testCIDR string
}

// networkCatalog lists the source networks NICs are put on. "VM Network"
// is vcsim's standard network; the others become distributed port groups.
var networkCatalog = []networkDef{
	{"VM Network", "prod-app", netShared, "10.10.0.0/22", "test-isolated-app", netIsolated, "192.168.10.0/24"},
	{"DB Network", "prod-db", netIsolated, "10.20.0.0/24", "lab-l2-db", netL2, ""},
	{"Backup Network", "prod-backup", netShared, "10.30.0.0/24", "test-l2-backup", netL2, ""},
}
