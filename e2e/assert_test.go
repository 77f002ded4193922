package e2e

import (
	"os"
	"strings"
	"testing"

	cssim "github.com/ossea/unifiedfailover/sim/cloudstack"

	"github.com/ossea/unifiedfailover/lab"
)

// destinationVMs returns the CloudStack VMs (not the appliance) whose name
// starts with prefix.
func (b *bundle) destinationVMs(prefix string) []cssim.VM {
	var out []cssim.VM
	for _, vm := range b.lab.CloudStack.VMs() {
		if vm.ID == b.lab.ApplianceVMID || vm.State == "Destroyed" || vm.State == "Expunging" {
			continue
		}
		if strings.HasPrefix(vm.Name, prefix) {
			out = append(out, vm)
		}
	}
	return out
}

// assertFailedOver checks the destination VM of a lab VM: running, its
// name, one NIC per source NIC on the expected networks with the source
// MACs, the replicas attached in disk order with the boot disk first.
func (b *bundle) assertFailedOver(t *testing.T, vm *lab.VM, name string, exact bool, mappings []lab.Mapping) cssim.VM {
	t.Helper()
	prefix := name
	if !exact {
		prefix = vm.Name + "-test-"
	}
	dests := b.destinationVMs(prefix)
	if len(dests) != 1 {
		t.Fatalf("%s: want one destination VM named %s…, found %d: %+v", vm.Name, prefix, len(dests), dests)
	}
	d := dests[0]
	if exact && d.Name != vm.Name {
		t.Fatalf("%s: destination VM is named %s, want the exact source name", vm.Name, d.Name)
	}
	if d.State != "Running" {
		t.Fatalf("%s: destination VM is %s, not Running", vm.Name, d.State)
	}
	if len(d.NICs) != len(vm.NICs) {
		t.Fatalf("%s: destination has %d NICs, source %d", vm.Name, len(d.NICs), len(vm.NICs))
	}
	for i, n := range d.NICs {
		if n.NetworkID != mappings[i].DestinationNetworkID {
			t.Fatalf("%s: NIC %d on network %s, want %s (%s)", vm.Name, i, n.NetworkID, mappings[i].DestinationNetworkID, mappings[i].DestinationNetworkName)
		}
		if !strings.EqualFold(n.MAC, vm.NICs[i].MAC) {
			t.Fatalf("%s: NIC %d has MAC %s, want the source's %s", vm.Name, i, n.MAC, vm.NICs[i].MAC)
		}
	}
	for i, disk := range vm.Disks {
		v, ok := b.lab.CloudStack.Volume(disk.VolumeID)
		want := i
		if i >= 3 {
			want = i + 1
		}
		if !ok || v.VMID != d.ID || v.DeviceID != want {
			t.Fatalf("%s: replica %d (%s) is on VM %q device %d, want %s device %d", vm.Name, i, disk.VolumeID, v.VMID, v.DeviceID, d.ID, want)
		}
	}
	return d
}

// assertRolledBack checks nothing of a failover is left in CloudStack:
// no destination VM, no snapshot of its replicas, every replica attached
// to the appliance.
func (b *bundle) assertRolledBack(t *testing.T, vm *lab.VM) {
	t.Helper()
	if left := b.destinationVMs(vm.Name); len(left) > 0 {
		t.Fatalf("%s: destination VMs left after rollback: %+v", vm.Name, left)
	}
	vols := map[string]bool{}
	for _, d := range vm.Disks {
		vols[d.VolumeID] = true
		v, _ := b.lab.CloudStack.Volume(d.VolumeID)
		if v.VMID != b.lab.ApplianceVMID {
			t.Fatalf("%s: replica %s is attached to %q, not the appliance", vm.Name, d.VolumeID, v.VMID)
		}
	}
	for _, s := range b.lab.CloudStack.Snapshots() {
		if vols[s.VolumeID] {
			t.Fatalf("%s: snapshot %s of replica %s left after rollback", vm.Name, s.ID, s.VolumeID)
		}
	}
}

func (b *bundle) virtioCalls(t *testing.T) string {
	t.Helper()
	raw, err := os.ReadFile(b.virtio)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	return string(raw)
}

func (b *bundle) powerState(t *testing.T, vm *lab.VM) string {
	t.Helper()
	s, err := b.lab.VCenter.PowerState(vm.UUID)
	if err != nil {
		t.Fatal(err)
	}
	return s
}
