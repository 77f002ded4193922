package vcenter_test

import (
	"context"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vmware/govmomi"
	"github.com/vmware/govmomi/fault"
	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/property"
	"github.com/vmware/govmomi/vim25/methods"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/types"

	"github.com/ossea/unifiedfailover/sim/vcenter"
)

// memSource is an in-memory ChangeSource; the mark is the number of writes.
type memSource struct {
	mu     sync.Mutex
	writes []vcenter.Extent
}

func (m *memSource) write(off, n int64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.writes = append(m.writes, vcenter.Extent{Offset: off, Length: n})
}

func (m *memSource) Mark() (int64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return int64(len(m.writes)), nil
}

func (m *memSource) ChangedSince(mark int64) ([]vcenter.Extent, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]vcenter.Extent(nil), m.writes[mark:]...), nil
}

type fixture struct {
	ctx    context.Context
	sim    *vcenter.Server
	client *govmomi.Client
}

func setup(t *testing.T) fixture {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	sim, err := vcenter.Start(ctx, vcenter.Config{CBTPageSize: 1 << 20})
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(sim.Close)
	u, err := url.Parse(sim.URL)
	if err != nil {
		t.Fatal(err)
	}
	u.User = url.UserPassword(sim.User, sim.Password)
	client, err := govmomi.NewClient(ctx, u, true)
	if err != nil {
		t.Fatalf("logging in: %v", err)
	}
	return fixture{ctx: ctx, sim: sim, client: client}
}

func TestStartServesHTTPSWithConfiguredLogin(t *testing.T) {
	t.Parallel()
	f := setup(t)
	if !strings.HasPrefix(f.sim.URL, "https://127.0.0.1:") || strings.Contains(f.sim.URL, "@") {
		t.Errorf("URL = %s, want https on loopback without credentials", f.sim.URL)
	}
	u, _ := url.Parse(f.sim.URL)
	u.User = url.UserPassword(f.sim.User, "wrong")
	if _, err := govmomi.NewClient(f.ctx, u, true); !fault.Is(err, &types.InvalidLogin{}) {
		t.Errorf("login with a wrong password: %v, want InvalidLogin", err)
	}
}

func TestQueryChangedDiskAreas(t *testing.T) {
	t.Parallel()
	f := setup(t)
	src := &memSource{}
	info, err := f.sim.CreateVM(f.ctx, vcenter.VMDef{
		Name: "cbt", Disks: []vcenter.DiskDef{{SizeBytes: 3 << 20, Changes: src}}, PowerOn: true,
	})
	if err != nil {
		t.Fatalf("CreateVM: %v", err)
	}
	vm := object.NewVirtualMachine(f.client.Client, types.ManagedObjectReference{Type: "VirtualMachine", Value: info.Ref})
	key := info.Disks[0].Key

	// Without a snapshot, a powered-on VM cannot be queried.
	_, err = methods.QueryChangedDiskAreas(f.ctx, f.client.Client, &types.QueryChangedDiskAreas{This: vm.Reference(), DeviceKey: key, ChangeId: "*"})
	if !fault.Is(err, &types.InvalidPowerState{}) {
		t.Errorf("query without snapshot: %v, want InvalidPowerState", err)
	}

	task, err := vm.CreateSnapshot(f.ctx, "s1", "", false, false)
	if err != nil {
		t.Fatal(err)
	}
	res, err := task.WaitForResult(f.ctx)
	if err != nil {
		t.Fatal(err)
	}
	snap := res.Result.(types.ManagedObjectReference)

	// "*" answers the whole disk, one page (1 MiB) at a time.
	r, err := methods.QueryChangedDiskAreas(f.ctx, f.client.Client, &types.QueryChangedDiskAreas{
		This: vm.Reference(), Snapshot: &snap, DeviceKey: key, StartOffset: 1 << 20, ChangeId: "*"})
	if err != nil {
		t.Fatalf("query: %v", err)
	}
	got := r.Returnval
	if got.StartOffset != 1<<20 || got.Length != 1<<20 || len(got.ChangedArea) != 1 ||
		got.ChangedArea[0] != (types.DiskChangeExtent{Start: 1 << 20, Length: 1 << 20}) {
		t.Errorf("page = %+v", got)
	}

	// A change id the disk never issued is refused.
	_, err = methods.QueryChangedDiskAreas(f.ctx, f.client.Client, &types.QueryChangedDiskAreas{
		This: vm.Reference(), Snapshot: &snap, DeviceKey: key, ChangeId: "52 00/1"})
	if !fault.Is(err, &types.InvalidArgument{}) {
		t.Errorf("foreign change id: %v, want InvalidArgument", err)
	}
}

func TestFailNext(t *testing.T) {
	t.Parallel()
	f := setup(t)
	info, err := f.sim.CreateVM(f.ctx, vcenter.VMDef{Name: "flaky", Disks: []vcenter.DiskDef{{SizeBytes: 1 << 20}}})
	if err != nil {
		t.Fatal(err)
	}
	vm := object.NewVirtualMachine(f.client.Client, types.ManagedObjectReference{Type: "VirtualMachine", Value: info.Ref})

	f.sim.FailNext("PowerOnVM_Task", 1)
	if _, err := vm.PowerOn(f.ctx); !fault.Is(err, &types.SystemError{}) {
		t.Errorf("injected fault: %v, want SystemError", err)
	}
	f.sim.FailNextStatus("PowerOnVM_Task", 1, 503)
	if _, err := vm.PowerOn(f.ctx); err == nil || !strings.Contains(err.Error(), "503") {
		t.Errorf("injected status: %v, want 503", err)
	}
	task, err := vm.PowerOn(f.ctx)
	if err == nil {
		err = task.Wait(f.ctx)
	}
	if err != nil {
		t.Fatalf("power on after the injected failures: %v", err)
	}
	if state, err := f.sim.PowerState(info.UUID); err != nil || state != "poweredOn" {
		t.Errorf("PowerState = %s, %v", state, err)
	}
}

func TestResetCBT(t *testing.T) {
	t.Parallel()
	f := setup(t)
	src := &memSource{}
	info, err := f.sim.CreateVM(f.ctx, vcenter.VMDef{
		Name:    "reset",
		Disks:   []vcenter.DiskDef{{SizeBytes: 1 << 20, Changes: src}, {SizeBytes: 1 << 20}},
		PowerOn: true,
	})
	if err != nil {
		t.Fatalf("CreateVM: %v", err)
	}
	vm := object.NewVirtualMachine(f.client.Client, types.ManagedObjectReference{Type: "VirtualMachine", Value: info.Ref})
	reset, other := info.Disks[0].Key, info.Disks[1].Key

	// snapshot takes a snapshot and returns it with the change ids its disk
	// backings carry.
	snapshot := func(name string) (types.ManagedObjectReference, map[int32]string) {
		t.Helper()
		task, err := vm.CreateSnapshot(f.ctx, name, "", false, false)
		if err != nil {
			t.Fatal(err)
		}
		res, err := task.WaitForResult(f.ctx)
		if err != nil {
			t.Fatal(err)
		}
		snap := res.Result.(types.ManagedObjectReference)
		var props mo.VirtualMachineSnapshot
		if err := property.DefaultCollector(f.client.Client).RetrieveOne(f.ctx, snap, []string{"config.hardware.device"}, &props); err != nil {
			t.Fatal(err)
		}
		ids := map[int32]string{}
		for _, d := range props.Config.Hardware.Device {
			if disk, ok := d.(*types.VirtualDisk); ok {
				ids[disk.Key] = disk.Backing.(*types.VirtualDiskFlatVer2BackingInfo).ChangeId
			}
		}
		return snap, ids
	}
	query := func(snap types.ManagedObjectReference, key int32, id string) error {
		_, err := methods.QueryChangedDiskAreas(f.ctx, f.client.Client, &types.QueryChangedDiskAreas{
			This: vm.Reference(), Snapshot: &snap, DeviceKey: key, ChangeId: id})
		return err
	}

	snap1, before := snapshot("before")
	if before[reset] == "" || before[other] == "" {
		t.Fatalf("change ids before the reset = %v", before)
	}
	if err := f.sim.ResetCBT(info.UUID, reset); err != nil {
		t.Fatalf("ResetCBT: %v", err)
	}
	src.write(0, 512)

	if err := query(snap1, reset, before[reset]); !fault.Is(err, &types.InvalidArgument{}) {
		t.Errorf("change id from before the reset: %v, want InvalidArgument", err)
	}
	if err := query(snap1, other, before[other]); err != nil {
		t.Errorf("the other disk's change id: %v, want it still valid", err)
	}
	if err := query(snap1, reset, "*"); err != nil {
		t.Errorf("query with *: %v", err)
	}

	// A change id issued after the reset is valid and sees later writes.
	snap2, after := snapshot("after")
	if after[reset] == "" || after[reset] == before[reset] || after[other] != before[other] {
		t.Errorf("change ids after the reset = %v, before = %v; want only disk %d's changed", after, before, reset)
	}
	src.write(4096, 512)
	r, err := methods.QueryChangedDiskAreas(f.ctx, f.client.Client, &types.QueryChangedDiskAreas{
		This: vm.Reference(), Snapshot: &snap2, DeviceKey: reset, ChangeId: after[reset]})
	if err != nil {
		t.Fatalf("change id from after the reset: %v", err)
	}
	if got := r.Returnval.ChangedArea; len(got) != 1 || got[0] != (types.DiskChangeExtent{Start: 4096, Length: 512}) {
		t.Errorf("changed areas since the new change id = %+v, want the one later write", got)
	}

	if err := f.sim.ResetCBT(info.UUID, 4242); err == nil {
		t.Error("ResetCBT of an unknown disk: no error")
	}
	if err := f.sim.ResetCBT("50123456-89ab-cdef-0123-456789abcdef", reset); err == nil {
		t.Error("ResetCBT of an unknown VM: no error")
	}
}
