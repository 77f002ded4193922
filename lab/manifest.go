package lab

import (
	"net/url"
	"time"
)

// Mapping types of RegisterMapping.
const (
	MappingTest = "test"
	MappingLive = "live"
)

// Manifest describes the lab's protected VMs for tests and tools outside
// the process (labsim writes it as JSON).
type Manifest struct {
	VMs []ManifestVM `json:"vms"`
}

// ManifestVM is one protected VM: how to register it with the product's
// API, and how to reach its source disks.
type ManifestVM struct {
	Name       string `json:"name"`
	VMwareVMID string `json:"vmware_vm_id"`
	// OS is "linux" or "windows"; Firmware "bios" or "efi".
	OS       string `json:"os"`
	Firmware string `json:"firmware"`
	// Register is the body that registers the VM with the product's API.
	Register    RegisterRequest `json:"register"`
	SourceDisks []SourceDisk    `json:"source_disks"`
}

// SourceDisk is how to reach a source disk's NBD export, for a test that
// writes to it like the guest would.
type SourceDisk struct {
	DiskKey   int32  `json:"disk_key"`
	NBDURI    string `json:"nbd_uri"`
	SizeBytes int64  `json:"size_bytes"`
}

// RegisterRequest is the body that registers a protected VM with the
// product's API: its identity, its disks with their replica volumes, NBD
// exports, the change ids the replicas are in sync with and when, its NICs, and
// network mappings for test and live failover.
type RegisterRequest struct {
	VMwareVMID string `json:"vmware_vm_id"`
	VMName     string `json:"vm_name"`
	// VCenterHost is the host (with port, when the URL has one) of the
	// vCenter URL.
	VCenterHost     string            `json:"vcenter_host"`
	Datacenter      string            `json:"datacenter"`
	Disks           []RegisterDisk    `json:"disks"`
	NICs            []RegisterNIC     `json:"nics"`
	NetworkMappings []RegisterMapping `json:"network_mappings"`
}

// RegisterDisk is one disk of a RegisterRequest, in disk order.
type RegisterDisk struct {
	DiskKey       int32  `json:"disk_key"`
	VolumeID      string `json:"volume_id"`
	SourceNBDURI  string `json:"source_nbd_uri"`
	ReplicaNBDURI string `json:"replica_nbd_uri"`
	ChangeID      string `json:"change_id"`
	// LastSyncedAt is when the replica was in sync with the source at
	// ChangeID (the lab seeds it so at start).
	LastSyncedAt time.Time `json:"last_synced_at"`
}

// RegisterNIC is one NIC of a RegisterRequest, in NIC order.
type RegisterNIC struct {
	SourceNetworkName string `json:"source_network_name"`
	MACAddress        string `json:"mac_address"`
}

// RegisterMapping is a suggested network mapping of a RegisterRequest.
// MappingType is MappingTest or MappingLive.
type RegisterMapping struct {
	SourceNetworkName      string `json:"source_network_name"`
	DestinationNetworkID   string `json:"destination_network_id"`
	DestinationNetworkName string `json:"destination_network_name"`
	MappingType            string `json:"mapping_type"`
}

// Manifest returns the lab's manifest: every VM with its register body
// (test mappings first, then live ones) and its source disks.
func (l *Lab) Manifest() Manifest {
	host := l.VCenter.URL
	if u, err := url.Parse(l.VCenter.URL); err == nil {
		host = u.Host
	}
	m := Manifest{VMs: make([]ManifestVM, 0, len(l.VMs))}
	for _, vm := range l.VMs {
		reg := RegisterRequest{
			VMwareVMID:      vm.UUID,
			VMName:          vm.Name,
			VCenterHost:     host,
			Datacenter:      Datacenter,
			Disks:           make([]RegisterDisk, 0, len(vm.Disks)),
			NICs:            make([]RegisterNIC, 0, len(vm.NICs)),
			NetworkMappings: make([]RegisterMapping, 0, len(vm.TestMappings)+len(vm.LiveMappings)),
		}
		mv := ManifestVM{Name: vm.Name, VMwareVMID: vm.UUID, OS: vm.OS, Firmware: vm.Firmware}
		for _, d := range vm.Disks {
			reg.Disks = append(reg.Disks, RegisterDisk{
				DiskKey: d.Key, VolumeID: d.VolumeID, SourceNBDURI: d.Source.URI,
				ReplicaNBDURI: d.Replica.URI, ChangeID: d.ChangeID, LastSyncedAt: d.SyncedAt,
			})
			mv.SourceDisks = append(mv.SourceDisks, SourceDisk{DiskKey: d.Key, NBDURI: d.Source.URI, SizeBytes: d.SizeBytes})
		}
		for _, n := range vm.NICs {
			reg.NICs = append(reg.NICs, RegisterNIC{SourceNetworkName: n.NetworkName, MACAddress: n.MAC})
		}
		for _, set := range []struct {
			typ string
			ms  []Mapping
		}{{MappingTest, vm.TestMappings}, {MappingLive, vm.LiveMappings}} {
			for _, mp := range set.ms {
				reg.NetworkMappings = append(reg.NetworkMappings, RegisterMapping{
					SourceNetworkName: mp.SourceNetworkName, DestinationNetworkID: mp.DestinationNetworkID,
					DestinationNetworkName: mp.DestinationNetworkName, MappingType: set.typ,
				})
			}
		}
		mv.Register = reg
		m.VMs = append(m.VMs, mv)
	}
	return m
}
