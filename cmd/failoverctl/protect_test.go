package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/ossea/unifiedfailover/api/apiv1"
)

// labInventory is an inventory of three VMs: web-1 with a replica found
// for its first disk only, old-1 without CBT, db-1 protected.
func labInventory() apiv1.InventoryList {
	return apiv1.InventoryList{VMs: []apiv1.InventoryVM{
		{VMwareVMID: "4201", Name: "web-1", InventoryPath: "/DC0/vm/web-1", PowerState: "poweredOn", OSType: "linux",
			CBT: apiv1.CBTState{Enabled: true},
			Disks: []apiv1.InventoryDisk{
				{DiskKey: 2000, DiskNumber: 1, Label: "Hard disk 1", SizeBytes: 16 << 20,
					Replica: apiv1.InventoryReplica{VolumeID: "vol-1", VolumeName: "web-1-disk1", FoundBy: "naming_rule"}},
				{DiskKey: 2001, DiskNumber: 2, Label: "Hard disk 2", SizeBytes: 8 << 20,
					Replica: apiv1.InventoryReplica{Problem: `no volume named "web-1-disk2" is attached to the appliance VM`}},
			},
			NICs: []apiv1.InventoryNIC{{NICKey: 4000, NetworkName: "VM Network", MAC: "00:50:56:00:00:01", AdapterType: "vmxnet3"}}},
		{VMwareVMID: "4202", Name: "old-1", InventoryPath: "/DC0/vm/old-1", PowerState: "poweredOff", OSType: "windows",
			CBT: apiv1.CBTState{Enabled: false, Hint: "enable it: ctkEnabled=TRUE"}, Disks: []apiv1.InventoryDisk{}, NICs: []apiv1.InventoryNIC{}},
		{VMwareVMID: "4203", Name: "db-1", InventoryPath: "/DC0/vm/db-1", PowerState: "poweredOn", OSType: "linux",
			CBT: apiv1.CBTState{Enabled: true}, Protected: true, ContextID: "ctx-db-1", ContextStatus: "ready_for_failover",
			Disks: []apiv1.InventoryDisk{}, NICs: []apiv1.InventoryNIC{}},
	}}
}

// run runs failoverctl's command line against base and returns what it
// printed and its exit code.
func run(t *testing.T, base string, args ...string) (string, int) {
	t.Helper()
	var out bytes.Buffer
	a := &app{apiURL: base, token: "t", out: &out}
	root := newRoot()
	// newRoot's app prints to stdout: rebuild the commands on ours.
	root.ResetCommands()
	root.AddCommand(a.inventoryCmd(), a.protectCmd())
	root.SetArgs(args)
	err := root.ExecuteContext(context.Background())
	if err != nil {
		out.WriteString(err.Error())
	}
	return out.String(), exitCode(err)
}

// inventory lists each candidate with its replicas found, says which are
// protected, and tells how to enable CBT where it is off.
func TestInventoryListsCandidates(t *testing.T) {
	t.Parallel()
	base := stubAPI(t, map[string]any{"/api/v1/inventory/vms": labInventory()})
	out, code := run(t, base, "inventory")
	if code != 0 {
		t.Fatalf("exit %d:\n%s", code, out)
	}
	for _, want := range []string{"/DC0/vm/web-1", "1/2", "OFF", "ctx-db-1 (ready_for_failover)", "! old-1: enable it: ctkEnabled=TRUE"} {
		if !strings.Contains(out, want) {
			t.Errorf("inventory output lacks %q:\n%s", want, out)
		}
	}
}

// protect shows what it found and what is missing, and refuses (before
// any registration) a VM with a disk without a replica, without CBT, or
// already protected, each with its exit code; --replica fills the gap.
func TestProtectShowsFoundAndMissing(t *testing.T) {
	t.Parallel()
	base := stubAPI(t, map[string]any{"/api/v1/inventory/vms": labInventory()})

	out, code := run(t, base, "protect", "web-1")
	if code != exitUsage {
		t.Fatalf("protect with a missing replica: exit %d, want %d:\n%s", code, exitUsage, out)
	}
	for _, want := range []string{"disk 1 (Hard disk 1, key 2000, 16 MiB): replica web-1-disk1 (vol-1, naming rule)",
		`disk 2 (Hard disk 2, key 2001, 8 MiB): MISSING: no volume named "web-1-disk2"`, "nic VM Network 00:50:56:00:00:01",
		"give --replica DISK=VOLUME_ID"} {
		if !strings.Contains(out, want) {
			t.Errorf("protect output lacks %q:\n%s", want, out)
		}
	}
	for _, sel := range []string{"2", "disk2", "2001", "hard disk 2", "/DC0/vm/web-1"} {
		args := []string{"protect", "web-1", "--replica", sel + "=vol-2", "--dry-run"}
		if sel == "/DC0/vm/web-1" {
			args = []string{"protect", sel, "--replica", "2=vol-2", "--dry-run"}
		}
		out, code = run(t, base, args...)
		if code != 0 || !strings.Contains(out, "replica vol-2 (--replica)") || !strings.Contains(out, "dry run: web-1 would be protected") {
			t.Errorf("%v: exit %d:\n%s", args, code, out)
		}
	}
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"protect", "old-1"}, exitConflict, "ctkEnabled=TRUE"},
		{[]string{"protect", "4203"}, exitConflict, "already protected as context ctx-db-1"},
		{[]string{"protect", "nobody"}, exitNotFound, "failoverctl inventory"},
		{[]string{"protect", "web-1", "--replica", "9=vol-9"}, exitUsage, "numbered 1 to 2"},
		{[]string{"protect", "web-1", "--replica", "vol-9"}, exitUsage, "DISK=VOLUME_ID"},
		{[]string{"protect", "web-1", "--replica", "2=a", "--replica", "disk2=b"}, exitUsage, "given twice"},
	} {
		out, code := run(t, base, c.args...)
		if code != c.code || !strings.Contains(out, c.want) {
			t.Errorf("%v: exit %d, want %d with %q:\n%s", c.args, code, c.code, c.want, out)
		}
	}
}
