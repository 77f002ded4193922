package e2e

import (
	"os"
	"strings"
	"testing"

	cssim "github.com/ossea/unifiedfailover/sim/cloudstack"

	"github.com/ossea/unifiedfailover/failover"
	"github.com/ossea/unifiedfailover/lab"
)

// destinationVMs returns the CloudStack VMs (not the appliance) whose
// display name, which carries the real name, starts with prefix.
func (b *bundle) destinationVMs(prefix string) []cssim.VM {
	var out []cssim.VM
	for _, vm := range b.lab.CloudStack.VMs() {
		if vm.ID == b.lab.ApplianceVMID || vm.State == "Destroyed" || vm.State == "Expunging" {
			continue
		}
		if strings.HasPrefix(vm.DisplayName, prefix) {
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
	prefix := name + " (failover "
	if !exact {
		prefix = vm.Name + "-test-"
	}
	dests := b.destinationVMs(prefix)
	if len(dests) != 1 {
		t.Fatalf("%s: want one destination VM with display name %s…, found %d: %+v", vm.Name, prefix, len(dests), dests)
	}
	d := dests[0]
	realName, _, _ := strings.Cut(d.DisplayName, " (failover ")
	if d.Name != failover.HostName(realName) {
		t.Fatalf("%s: destination VM is named %s, want %s, the host name of %q", vm.Name, d.Name, failover.HostName(realName), realName)
	}
	if exact && realName != vm.Name {
		t.Fatalf("%s: destination VM's display name is %q, want the exact source name", vm.Name, d.DisplayName)
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
		if wantType := map[bool]string{true: "ROOT", false: "DATADISK"}[i == 0]; v.Type != wantType {
			t.Fatalf("%s: replica %d (%s) is a %s volume on the destination, want %s", vm.Name, i, disk.VolumeID, v.Type, wantType)
		}
	}
	attached := 0
	for _, v := range b.lab.CloudStack.Volumes() {
		if v.VMID == d.ID {
			attached++
		}
	}
	if attached != len(vm.Disks) {
		t.Fatalf("%s: the destination VM has %d volumes, want only its %d replicas (the template's ROOT volume must be gone)", vm.Name, attached, len(vm.Disks))
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
		if v.DeviceID != d.DeviceID || v.Type != "DATADISK" {
			t.Fatalf("%s: replica %s is back on the appliance as %s device %d, want DATADISK device %d, where it was", vm.Name, d.VolumeID, v.Type, v.DeviceID, d.DeviceID)
		}
	}
	b.assertNoStrayVolumes(t)
	for _, s := range b.lab.CloudStack.Snapshots() {
		if vols[s.VolumeID] {
			t.Fatalf("%s: snapshot %s of replica %s left after rollback", vm.Name, s.ID, s.VolumeID)
		}
	}
}

// assertNoStrayVolumes checks that CloudStack holds no volume but the
// replicas and the appliance's own: no template ROOT volume a failover
// made and left behind.
func (b *bundle) assertNoStrayVolumes(t *testing.T) {
	t.Helper()
	replicas := map[string]bool{}
	for _, vm := range b.lab.VMs {
		for _, d := range vm.Disks {
			replicas[d.VolumeID] = true
		}
	}
	live := map[string]bool{}
	for _, vm := range b.lab.CloudStack.VMs() {
		live[vm.ID] = true
	}
	for _, v := range b.lab.CloudStack.Volumes() {
		if replicas[v.ID] || v.VMID == b.lab.ApplianceVMID {
			continue
		}
		if v.VMID == "" || !live[v.VMID] {
			t.Fatalf("stray volume %s (%s, %s) left detached", v.ID, v.Name, v.Type)
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
