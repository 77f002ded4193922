package failover

import (
	"errors"
	"testing"

	"github.com/ossea/unifiedfailover/errs"
)

// TestRegisterRequestValidation: a registration's shape is checked before
// anything is read or written, each refusal naming its field.
func TestRegisterRequestValidation(t *testing.T) {
	t.Parallel()
	disk := RegisterDisk{DiskKey: 2000, VolumeID: "vol-1", SourceNBDURI: "nbd://esxi/disk0", ReplicaNBDURI: "nbd+unix:///r?socket=/s"}
	valid := func() RegisterRequest {
		return RegisterRequest{VMwareVMID: "uuid-1", Disks: []RegisterDisk{disk},
			NetworkMappings: []RegisterMapping{{SourceNetworkName: "VM Network", DestinationNetworkID: "net-1", MappingType: "test"}}}
	}
	cases := []struct {
		name      string
		change    func(r *RegisterRequest)
		wantField string // "" means valid
	}{
		{"valid", func(*RegisterRequest) {}, ""},
		{"no NBD URIs (given later)", func(r *RegisterRequest) { r.Disks[0].SourceNBDURI, r.Disks[0].ReplicaNBDURI = "", "" }, ""},
		{"no mappings", func(r *RegisterRequest) { r.NetworkMappings = nil }, ""},
		{"blank UUID", func(r *RegisterRequest) { r.VMwareVMID = "  " }, "vmware_vm_id"},
		{"short form: a UUID alone (replicas by naming rule)", func(r *RegisterRequest) { r.Disks = nil }, ""},
		{"short form: an inventory path", func(r *RegisterRequest) { r.VMwareVMID, r.InventoryPath = "", "/DC0/vm/web-01" }, ""},
		{"UUID and path", func(r *RegisterRequest) { r.InventoryPath = "/DC0/vm/web-01" }, "inventory_path"},
		{"relative path", func(r *RegisterRequest) { r.VMwareVMID, r.InventoryPath = "", "DC0/vm/web-01" }, "inventory_path"},
		{"disk twice", func(r *RegisterRequest) { r.Disks = append(r.Disks, disk) }, "disks[1].disk_key"},
		{"no volume (by naming rule)", func(r *RegisterRequest) { r.Disks[0].VolumeID = "" }, ""},
		{"source not NBD", func(r *RegisterRequest) { r.Disks[0].SourceNBDURI = "http://esxi/disk0" }, "disks[0].source_nbd_uri"},
		{"replica not NBD", func(r *RegisterRequest) { r.Disks[0].ReplicaNBDURI = "file:///dev/sdb" }, "disks[0].replica_nbd_uri"},
		{"mapping type", func(r *RegisterRequest) { r.NetworkMappings[0].MappingType = "prod" }, "network_mappings[0].mapping_type"},
		{"mapping without source", func(r *RegisterRequest) { r.NetworkMappings[0].SourceNetworkName = " " }, "network_mappings[0].source_network_name"},
		{"mapping without destination", func(r *RegisterRequest) { r.NetworkMappings[0].DestinationNetworkID = "" }, "network_mappings[0].destination_network_id"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			r := valid()
			c.change(&r)
			err := r.validate()
			if c.wantField == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			var e *errs.Error
			if !errs.Is(err, errs.InvalidArgument) || !errors.As(err, &e) || e.Details["field"] != c.wantField {
				t.Fatalf("got %v, want InvalidArgument on field %s", err, c.wantField)
			}
		})
	}
}
