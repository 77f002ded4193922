package vsphere_test

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vmware/govmomi/find"

	"github.com/ossea/unifiedfailover/errs"
	"github.com/ossea/unifiedfailover/sim/vcenter"
	"github.com/ossea/unifiedfailover/vsphere"
)

const mib = 1 << 20

// memSource is an in-memory ChangeSource: a log of writes, the mark being
// the number of writes so far.
type memSource struct {
	mu     sync.Mutex
	writes []vcenter.Extent
}

func (m *memSource) Write(off, n int64) {
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
	return slices.Clone(m.writes[mark:]), nil
}

type fixture struct {
	ctx    context.Context
	sim    *vcenter.Server
	client *vsphere.Client
}

func setup(t *testing.T) fixture {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	sim, err := vcenter.Start(ctx, vcenter.Config{CBTPageSize: 1 * mib})
	if err != nil {
		t.Fatalf("starting simulator: %v", err)
	}
	t.Cleanup(sim.Close)
	client, err := vsphere.Dial(ctx, vsphere.Config{URL: sim.URL, User: sim.User, Password: sim.Password, Insecure: true})
	if err != nil {
		t.Fatalf("dialing simulator: %v", err)
	}
	t.Cleanup(func() { _ = client.Close(context.Background()) })
	return fixture{ctx: ctx, sim: sim, client: client}
}

func (f fixture) createVM(t *testing.T, def vcenter.VMDef) vcenter.VMInfo {
	t.Helper()
	info, err := f.sim.CreateVM(f.ctx, def)
	if err != nil {
		t.Fatalf("creating VM %s: %v", def.Name, err)
	}
	return info
}

func simpleVM(name string, on bool) vcenter.VMDef {
	return vcenter.VMDef{
		Name:    name,
		Disks:   []vcenter.DiskDef{{SizeBytes: 8 * mib}},
		NICs:    []vcenter.NICDef{{NetworkName: "VM Network"}},
		PowerOn: on,
	}
}

func TestVMSpec(t *testing.T) {
	t.Parallel()
	f := setup(t)
	win := f.createVM(t, vcenter.VMDef{
		Name: "win01", NumCPU: 4, MemoryMB: 8192, GuestID: "windows9Server64Guest", Firmware: "efi",
		Disks: []vcenter.DiskDef{{SizeBytes: 40 * mib}, {SizeBytes: 8 * mib}, {SizeBytes: 16 * mib}},
		NICs: []vcenter.NICDef{
			{NetworkName: "VM Network", MAC: "00:50:56:aa:bb:01", AdapterType: "e1000"},
			{NetworkName: "prod-app", MAC: "00:50:56:aa:bb:02"},
		},
		PowerOn: true,
	})
	lin := f.createVM(t, simpleVM("lin01", false))

	spec, err := f.client.VMSpec(f.ctx, win.UUID)
	if err != nil {
		t.Fatalf("VMSpec: %v", err)
	}
	if spec.UUID != win.UUID || spec.Name != "win01" || spec.NumCPU != 4 || spec.MemoryMB != 8192 ||
		spec.GuestID != "windows9Server64Guest" || spec.OSFamily != "windows" || spec.Firmware != "efi" ||
		spec.PowerState != vsphere.PoweredOn {
		t.Errorf("spec = %+v", spec)
	}
	if len(spec.Disks) != 3 {
		t.Fatalf("disks = %+v, want 3", spec.Disks)
	}
	for i, d := range spec.Disks {
		if d.Order != i || d.Key != win.Disks[i].Key || d.CapacityBytes != win.Disks[i].SizeBytes || d.FileName != win.Disks[i].FileName || d.Label == "" {
			t.Errorf("disk %d = %+v, want key %d size %d file %s", i, d, win.Disks[i].Key, win.Disks[i].SizeBytes, win.Disks[i].FileName)
		}
	}
	want := []vsphere.NIC{
		{Key: win.NICs[0].Key, MAC: "00:50:56:aa:bb:01", AdapterType: "e1000", NetworkName: "VM Network"},
		{Key: win.NICs[1].Key, MAC: "00:50:56:aa:bb:02", AdapterType: "vmxnet3", NetworkName: "prod-app"},
	}
	if len(spec.NICs) != len(want) {
		t.Fatalf("nics = %+v, want %+v", spec.NICs, want)
	}
	for i, n := range spec.NICs {
		n.Label = ""
		if n != want[i] {
			t.Errorf("nic %d = %+v, want %+v", i, n, want[i])
		}
	}

	spec, err = f.client.VMSpec(f.ctx, lin.UUID)
	if err != nil {
		t.Fatalf("VMSpec: %v", err)
	}
	if spec.OSFamily != "linux" || spec.Firmware != "bios" || spec.PowerState != vsphere.PoweredOff || spec.NumCPU != 1 || spec.MemoryMB != 1024 {
		t.Errorf("linux spec = %+v", spec)
	}
}

func TestUnknownUUIDIsNotFound(t *testing.T) {
	t.Parallel()
	f := setup(t)
	const uuid = "50123456-89ab-cdef-0123-456789abcdef"
	if _, err := f.client.VMSpec(f.ctx, uuid); !errs.Is(err, errs.NotFound) {
		t.Errorf("VMSpec error = %v (code %s), want not_found", err, errs.CodeOf(err))
	}
	if _, err := f.client.ShutdownGuest(f.ctx, uuid, time.Second); !errs.Is(err, errs.NotFound) {
		t.Errorf("ShutdownGuest error = %v, want not_found", err)
	}
}

func TestShutdownGuest(t *testing.T) {
	t.Parallel()
	f := setup(t)
	graceful := f.createVM(t, simpleVM("graceful", true))
	stubborn := f.createVM(t, simpleVM("stubborn", true))
	noTools := f.createVM(t, vcenter.VMDef{Name: "notools", Disks: []vcenter.DiskDef{{SizeBytes: mib}}, NoTools: true, PowerOn: true})
	off := f.createVM(t, simpleVM("off", false))
	if err := f.sim.IgnoreGuestShutdown(stubborn.UUID, true); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name          string
		uuid          string
		timeout       time.Duration
		path          vsphere.ShutdownPath
		requested     bool
		minTook       time.Duration
		reasonPresent bool
	}{
		{name: "graceful", uuid: graceful.UUID, timeout: 10 * time.Second, path: vsphere.ShutdownGuestOS, requested: true},
		{name: "guest ignores shutdown", uuid: stubborn.UUID, timeout: 300 * time.Millisecond, path: vsphere.ShutdownHard,
			requested: true, minTook: 300 * time.Millisecond, reasonPresent: true},
		{name: "no tools", uuid: noTools.UUID, timeout: 10 * time.Second, path: vsphere.ShutdownHard, reasonPresent: true},
		{name: "already off", uuid: off.UUID, timeout: 10 * time.Second, path: vsphere.ShutdownAlreadyOff},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			res, err := f.client.ShutdownGuest(f.ctx, tt.uuid, tt.timeout)
			if err != nil {
				t.Fatalf("ShutdownGuest: %v", err)
			}
			if res.Path != tt.path || res.GuestRequested != tt.requested || res.Took < tt.minTook || (res.Reason != "") != tt.reasonPresent {
				t.Errorf("result = %+v, want path %s requested %v", res, tt.path, tt.requested)
			}
			if state, _ := f.sim.PowerState(tt.uuid); state != vsphere.PoweredOff {
				t.Errorf("simulator power state = %s, want poweredOff", state)
			}
			// Idempotent: a second call finds the VM off.
			res, err = f.client.ShutdownGuest(f.ctx, tt.uuid, tt.timeout)
			if err != nil || res.Path != vsphere.ShutdownAlreadyOff {
				t.Errorf("second ShutdownGuest = %+v, %v; want already-off", res, err)
			}
		})
	}
}

func TestPowerOn(t *testing.T) {
	t.Parallel()
	f := setup(t)
	vm := f.createVM(t, simpleVM("starter", false))
	if running, err := f.client.ToolsRunning(f.ctx, vm.UUID); err != nil || running {
		t.Fatalf("ToolsRunning before power-on = %v, %v; want false", running, err)
	}
	if err := f.client.PowerOn(f.ctx, vm.UUID, true); err != nil {
		t.Fatalf("PowerOn: %v", err)
	}
	if state, err := f.client.PowerState(f.ctx, vm.UUID); err != nil || state != vsphere.PoweredOn {
		t.Errorf("PowerState = %s, %v; want poweredOn", state, err)
	}
	if running, err := f.client.ToolsRunning(f.ctx, vm.UUID); err != nil || !running {
		t.Errorf("ToolsRunning = %v, %v; want true", running, err)
	}
	if err := f.client.PowerOn(f.ctx, vm.UUID, true); err != nil {
		t.Errorf("PowerOn of a running VM: %v", err)
	}
}

func TestChangedAreas(t *testing.T) {
	t.Parallel()
	f := setup(t)
	boot, data := &memSource{}, &memSource{}
	vm := f.createVM(t, vcenter.VMDef{
		Name:    "cbt01",
		Disks:   []vcenter.DiskDef{{SizeBytes: 8 * mib, Changes: boot}, {SizeBytes: 4 * mib, Changes: data}},
		PowerOn: true,
	})
	bootKey := vm.Disks[0].Key
	boot.Write(0, 4096) // before the first change id: never reported

	id0, err := f.client.CurrentChangeID(f.ctx, vm.UUID, bootKey)
	if err != nil {
		t.Fatalf("CurrentChangeID: %v", err)
	}
	// Writes: one crossing the 1 MiB page boundary, overlapping ones, and
	// one on the other disk.
	boot.Write(mib-4096, 8192)
	boot.Write(5*mib, 65536)
	boot.Write(5*mib+32768, 65536)
	data.Write(0, 512)

	got, err := f.client.ChangedAreas(f.ctx, vm.UUID, bootKey, id0)
	if err != nil {
		t.Fatalf("ChangedAreas: %v", err)
	}
	want := []vsphere.Extent{{Offset: mib - 4096, Length: 8192}, {Offset: 5 * mib, Length: 98304}}
	if !slices.Equal(got.Extents, want) || got.DiskSize != 8*mib || got.ChangeID == "" || got.ChangeID == id0 {
		t.Fatalf("ChangedAreas = %+v, want extents %v, size %d, a new change id", got, want, 8*mib)
	}
	if got.Bytes() != 8192+98304 {
		t.Errorf("Bytes = %d", got.Bytes())
	}

	boot.Write(7*mib, 4096)
	later, err := f.client.ChangedAreas(f.ctx, vm.UUID, bootKey, got.ChangeID)
	if err != nil {
		t.Fatalf("ChangedAreas from the new id: %v", err)
	}
	if want := []vsphere.Extent{{Offset: 7 * mib, Length: 4096}}; !slices.Equal(later.Extents, want) || later.ChangeID == got.ChangeID {
		t.Errorf("ChangedAreas from new id = %+v, want %v and a newer change id", later, want)
	}

	// Nothing written since: no extents, and the change id is stable.
	none, err := f.client.ChangedAreas(f.ctx, vm.UUID, bootKey, later.ChangeID)
	if err != nil || len(none.Extents) != 0 || none.ChangeID != later.ChangeID {
		t.Errorf("ChangedAreas with no writes = %+v, %v", none, err)
	}

	all, err := f.client.ChangedAreas(f.ctx, vm.UUID, bootKey, vsphere.AllAreas)
	if err != nil || !slices.Equal(all.Extents, []vsphere.Extent{{Offset: 0, Length: 8 * mib}}) {
		t.Errorf("ChangedAreas(*) = %+v, %v; want the whole disk", all, err)
	}

	// A change id of another disk is refused: a full copy is needed.
	if _, err := f.client.ChangedAreas(f.ctx, vm.UUID, vm.Disks[1].Key, id0); !errs.Is(err, errs.FailedPrecondition) {
		t.Errorf("foreign change id error = %v, want failed_precondition", err)
	}
	if _, err := f.client.ChangedAreas(f.ctx, vm.UUID, 4242, id0); !errs.Is(err, errs.NotFound) {
		t.Errorf("unknown disk error = %v, want not_found", err)
	}

	// Temporary snapshots are gone.
	if n, err := f.sim.SnapshotCount(vm.UUID); err != nil || n != 0 {
		t.Errorf("%d snapshots left behind (%v)", n, err)
	}
}

func TestBadCredentials(t *testing.T) {
	t.Parallel()
	f := setup(t)
	_, err := vsphere.Dial(f.ctx, vsphere.Config{URL: f.sim.URL, User: f.sim.User, Password: "wrong-secret", Insecure: true})
	if !errs.Is(err, errs.Unauthenticated) {
		t.Fatalf("Dial error = %v (code %s), want unauthenticated", err, errs.CodeOf(err))
	}
	if got := err.Error(); strings.Contains(got, "wrong-secret") {
		t.Errorf("error leaks the password: %s", got)
	}
}

func TestUnreachableIsTransient(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	_, err := vsphere.Dial(ctx, vsphere.Config{URL: "https://127.0.0.1:1/sdk", User: "u", Password: "p", Insecure: true})
	if !errs.IsTransient(err) {
		t.Fatalf("Dial to a closed port: %v, want transient", err)
	}
}

func TestInjectedFaultsAreTransient(t *testing.T) {
	t.Parallel()
	f := setup(t)
	vm := f.createVM(t, simpleVM("flaky", true))

	f.sim.FailNext("FindByUuid", 1)
	_, err := f.client.PowerState(f.ctx, vm.UUID)
	if !errs.IsTransient(err) || errs.Class(err) != "transient" {
		t.Errorf("SOAP fault: %v, want transient", err)
	}

	f.sim.FailNextStatus("PowerOffVM_Task", 1, 503)
	if err := f.sim.SetToolsRunning(vm.UUID, false); err != nil {
		t.Fatal(err)
	}
	_, err = f.client.ShutdownGuest(f.ctx, vm.UUID, time.Second)
	if !errs.IsTransient(err) {
		t.Errorf("HTTP 503: %v, want transient", err)
	}

	f.sim.FailNext("QueryChangedDiskAreas", 1)
	id, err := f.client.CurrentChangeID(f.ctx, vm.UUID, vm.Disks[0].Key)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.client.ChangedAreas(f.ctx, vm.UUID, vm.Disks[0].Key, id); !errs.IsTransient(err) {
		t.Errorf("QueryChangedDiskAreas fault: %v, want transient", err)
	}

	// The faults were one-shot: the retry works.
	if res, err := f.client.ShutdownGuest(f.ctx, vm.UUID, time.Second); err != nil || res.Path != vsphere.ShutdownHard {
		t.Errorf("retry: %+v, %v", res, err)
	}
}

func TestFinderListsVMs(t *testing.T) {
	t.Parallel()
	f := setup(t)
	f.createVM(t, simpleVM("list-a", false))
	f.createVM(t, simpleVM("list-b", true))

	finder := find.NewFinder(f.client.Vim())
	dc, err := finder.DefaultDatacenter(f.ctx)
	if err != nil {
		t.Fatal(err)
	}
	finder.SetDatacenter(dc)
	vms, err := finder.VirtualMachineList(f.ctx, "*")
	if err != nil {
		t.Fatalf("VirtualMachineList: %v", err)
	}
	var names []string
	for _, vm := range vms {
		names = append(names, vm.Name())
	}
	slices.Sort(names)
	if !slices.Equal(names, []string{"list-a", "list-b"}) {
		t.Errorf("VMs = %v", names)
	}
}

func TestChangedAreasRemovesSnapshotsLeftByACrash(t *testing.T) {
	t.Parallel()
	f := setup(t)
	src := &memSource{}
	vm := f.createVM(t, vcenter.VMDef{Name: "crash01", Disks: []vcenter.DiskDef{{SizeBytes: 4 * mib, Changes: src}}, PowerOn: true})
	id0, err := f.client.CurrentChangeID(f.ctx, vm.UUID, vm.Disks[0].Key)
	if err != nil {
		t.Fatal(err)
	}
	// A process that died mid-call left its temporary snapshot behind.
	obj, err := f.client.FindByUUID(f.ctx, vm.UUID)
	if err != nil {
		t.Fatal(err)
	}
	task, err := obj.CreateSnapshot(f.ctx, "ossea-cbt-1", "left by a crash", false, false)
	if err != nil {
		t.Fatal(err)
	}
	if err := task.Wait(f.ctx); err != nil {
		t.Fatal(err)
	}
	if n, _ := f.sim.SnapshotCount(vm.UUID); n != 1 {
		t.Fatalf("want the leftover snapshot in place, have %d", n)
	}
	if _, err := f.client.ChangedAreas(f.ctx, vm.UUID, vm.Disks[0].Key, id0); err != nil {
		t.Fatal(err)
	}
	if n, err := f.sim.SnapshotCount(vm.UUID); err != nil || n != 0 {
		t.Fatalf("snapshots after ChangedAreas: %d (%v); the leftover must be gone", n, err)
	}
}

// Sessions gives every caller one login; when vCenter ends that session
// the next call fails as transient (so the step is retried) and the next
// Get logs in again.
func TestSessionsShareOneLoginAndReplaceAnExpiredOne(t *testing.T) {
	t.Parallel()
	f := setup(t)
	vm := f.createVM(t, simpleVM("shared", true))
	s := vsphere.NewSessions(vsphere.Config{URL: f.sim.URL, User: f.sim.User, Password: f.sim.Password, Insecure: true})
	t.Cleanup(func() { _ = s.Close(context.Background()) })
	c1, err := s.Get(f.ctx)
	if err != nil {
		t.Fatal(err)
	}
	c2, err := s.Get(f.ctx)
	if err != nil || c2 != c1 {
		t.Fatalf("second Get: %p %v; want the first session %p", c2, err, c1)
	}
	if state, err := c1.PowerState(f.ctx, vm.UUID); err != nil || state != vsphere.PoweredOn {
		t.Fatalf("PowerState: %s %v", state, err)
	}
	// vCenter ends the session (as after its idle timeout).
	if err := c1.Close(f.ctx); err != nil {
		t.Fatal(err)
	}
	_, err = c1.PowerState(f.ctx, vm.UUID)
	if err == nil || !errs.IsTransient(err) {
		t.Fatalf("a call on an ended session: %v; want a transient error", err)
	}
	c3, err := s.Get(f.ctx)
	if err != nil || c3 == c1 {
		t.Fatalf("Get after the session ended: %p %v; want a new session", c3, err)
	}
	if state, err := c3.PowerState(f.ctx, vm.UUID); err != nil || state != vsphere.PoweredOn {
		t.Fatalf("PowerState on the new session: %s %v", state, err)
	}
}

func TestCheckChangeIDs(t *testing.T) {
	t.Parallel()
	f := setup(t)
	boot, data := &memSource{}, &memSource{}
	vm := f.createVM(t, vcenter.VMDef{
		Name:    "check01",
		Disks:   []vcenter.DiskDef{{SizeBytes: 4 * mib, Changes: boot}, {SizeBytes: 2 * mib, Changes: data}},
		PowerOn: true,
	})
	bootKey, dataKey := vm.Disks[0].Key, vm.Disks[1].Key
	stored := map[int32]string{}
	for _, key := range []int32{bootKey, dataKey} {
		id, err := f.client.CurrentChangeID(f.ctx, vm.UUID, key)
		if err != nil {
			t.Fatalf("CurrentChangeID(%d): %v", key, err)
		}
		stored[key] = id
	}
	boot.Write(0, 4096)
	data.Write(mib, 512)
	noSnapshots := func(when string) {
		t.Helper()
		if n, err := f.sim.SnapshotCount(vm.UUID); err != nil || n != 0 {
			t.Errorf("%s: %d snapshots left behind (%v)", when, n, err)
		}
	}

	res, err := f.client.CheckChangeIDs(f.ctx, vm.UUID, stored)
	if err != nil {
		t.Fatalf("CheckChangeIDs: %v", err)
	}
	if len(res) != 2 || res[bootKey] != nil || res[dataKey] != nil {
		t.Errorf("valid change ids: %v, want both nil", res)
	}
	noSnapshots("valid change ids")

	// After a CBT reset of the data disk only its change id is refused.
	if err := f.sim.ResetCBT(vm.UUID, dataKey); err != nil {
		t.Fatal(err)
	}
	res, err = f.client.CheckChangeIDs(f.ctx, vm.UUID, stored)
	if err != nil {
		t.Fatalf("CheckChangeIDs after the reset: %v", err)
	}
	if len(res) != 2 || res[bootKey] != nil {
		t.Errorf("boot disk after resetting the data disk: %v, want valid", res)
	}
	if err := res[dataKey]; !errs.Is(err, errs.FailedPrecondition) ||
		!strings.Contains(err.Error(), "no longer valid") || !strings.Contains(err.Error(), "full sync") {
		t.Errorf("reset disk: %v (code %s), want failed_precondition saying a full sync is needed", err, errs.CodeOf(err))
	}
	noSnapshots("a refused change id")

	// The change id read after the reset is valid.
	fresh, err := f.client.CurrentChangeID(f.ctx, vm.UUID, dataKey)
	if err != nil {
		t.Fatal(err)
	}
	res, err = f.client.CheckChangeIDs(f.ctx, vm.UUID, map[int32]string{bootKey: stored[bootKey], dataKey: fresh})
	if err != nil || len(res) != 2 || res[bootKey] != nil || res[dataKey] != nil {
		t.Errorf("change id read after the reset: %v, %v; want both valid", res, err)
	}

	// No stored change id, and a disk the VM does not have.
	res, err = f.client.CheckChangeIDs(f.ctx, vm.UUID, map[int32]string{bootKey: "", dataKey: vsphere.AllAreas, 4242: stored[bootKey]})
	if err != nil {
		t.Fatalf("CheckChangeIDs: %v", err)
	}
	for _, key := range []int32{bootKey, dataKey} {
		if err := res[key]; !errs.Is(err, errs.FailedPrecondition) || !strings.Contains(err.Error(), "no stored change id") {
			t.Errorf("disk %d without a stored change id: %v, want failed_precondition", key, err)
		}
	}
	if err := res[4242]; !errs.Is(err, errs.NotFound) {
		t.Errorf("unknown disk: %v, want not_found", err)
	}
	noSnapshots("empty change ids")
}

func TestCheckChangeIDsInfrastructureErrors(t *testing.T) {
	t.Parallel()
	f := setup(t)
	vm := f.createVM(t, simpleVM("check02", true))
	key := vm.Disks[0].Key
	id, err := f.client.CurrentChangeID(f.ctx, vm.UUID, key)
	if err != nil {
		t.Fatal(err)
	}

	// A vCenter fault of the query is not a verdict on the change id.
	f.sim.FailNext("QueryChangedDiskAreas", 1)
	res, err := f.client.CheckChangeIDs(f.ctx, vm.UUID, map[int32]string{key: id})
	if !errs.IsTransient(err) || res != nil {
		t.Errorf("QueryChangedDiskAreas fault: %v, %v; want a transient error", res, err)
	}
	if n, err := f.sim.SnapshotCount(vm.UUID); err != nil || n != 0 {
		t.Errorf("%d snapshots left behind after a failed query (%v)", n, err)
	}

	f.sim.FailNext("CreateSnapshot_Task", 1)
	if res, err := f.client.CheckChangeIDs(f.ctx, vm.UUID, map[int32]string{key: id}); !errs.IsTransient(err) || res != nil {
		t.Errorf("snapshot fault: %v, %v; want a transient error", res, err)
	}
	if _, err := f.client.CheckChangeIDs(f.ctx, "50123456-89ab-cdef-0123-456789abcdef", map[int32]string{key: id}); !errs.Is(err, errs.NotFound) {
		t.Errorf("unknown VM: %v, want not_found", err)
	}

	// The faults were one-shot.
	if res, err := f.client.CheckChangeIDs(f.ctx, vm.UUID, map[int32]string{key: id}); err != nil || res[key] != nil {
		t.Errorf("retry: %v, %v", res, err)
	}
}

func TestToolsInstalled(t *testing.T) {
	t.Parallel()
	f := setup(t)
	with := f.createVM(t, simpleVM("with-tools", false))
	without := f.createVM(t, vcenter.VMDef{Name: "no-tools", Disks: []vcenter.DiskDef{{SizeBytes: mib}}, NoTools: true, PowerOn: true})
	// Installed whatever the power state: the VM with tools is off.
	if got, err := f.client.ToolsInstalled(f.ctx, with.UUID); err != nil || !got {
		t.Fatalf("ToolsInstalled(with tools, off) = %v, %v", got, err)
	}
	if got, err := f.client.ToolsInstalled(f.ctx, without.UUID); err != nil || got {
		t.Fatalf("ToolsInstalled(no tools, on) = %v, %v", got, err)
	}
}

// TestInventory: the inventory lists every VM with its path, folder, power
// state, CBT setting, disks and NICs; a path resolves to the VM's UUID.
func TestInventory(t *testing.T) {
	t.Parallel()
	f := setup(t)
	web := f.createVM(t, vcenter.VMDef{Name: "inv-web", Disks: []vcenter.DiskDef{{SizeBytes: 8 * mib}, {SizeBytes: 4 * mib}},
		NICs: []vcenter.NICDef{{NetworkName: "VM Network", MAC: "00:50:56:aa:00:01"}, {NetworkName: "inv-pg"}}, PowerOn: true})
	old := f.createVM(t, vcenter.VMDef{Name: "inv-old", Disks: []vcenter.DiskDef{{SizeBytes: 8 * mib}}, NoCBT: true})

	inv, err := f.client.Inventory(f.ctx)
	if err != nil {
		t.Fatalf("Inventory: %v", err)
	}
	byName := map[string]vsphere.InventoryVM{}
	for _, vm := range inv {
		byName[vm.Name] = vm
	}
	w, o := byName["inv-web"], byName["inv-old"]
	if len(inv) != 2 || w.UUID != web.UUID || o.UUID != old.UUID {
		t.Fatalf("inventory = %+v", inv)
	}
	if w.Path != "/DC0/vm/inv-web" || w.Folder != "/DC0/vm" || w.PowerState != vsphere.PoweredOn || !w.CBTEnabled {
		t.Errorf("inv-web = %+v", w)
	}
	if o.CBTEnabled || o.PowerState != vsphere.PoweredOff {
		t.Errorf("inv-old = %+v, want CBT disabled, powered off", o)
	}
	if len(w.Disks) != 2 || w.Disks[0].Key != web.Disks[0].Key || w.Disks[1].CapacityBytes != 4*mib {
		t.Errorf("inv-web disks = %+v", w.Disks)
	}
	if len(w.NICs) != 2 || w.NICs[0].NetworkName != "VM Network" || w.NICs[0].MAC != "00:50:56:aa:00:01" || w.NICs[1].NetworkName != "inv-pg" {
		t.Errorf("inv-web NICs = %+v", w.NICs)
	}

	if uuid, err := f.client.UUIDByPath(f.ctx, w.Path); err != nil || uuid != web.UUID {
		t.Errorf("UUIDByPath(%s) = %q, %v; want %s", w.Path, uuid, err, web.UUID)
	}
	if _, err := f.client.UUIDByPath(f.ctx, "/DC0/vm/nobody"); !errs.Is(err, errs.NotFound) {
		t.Errorf("UUIDByPath of a missing VM: %v, want NotFound", err)
	}
	if _, err := f.client.UUIDByPath(f.ctx, "DC0/vm/inv-web"); !errs.Is(err, errs.InvalidArgument) {
		t.Errorf("UUIDByPath of a relative path: %v, want InvalidArgument", err)
	}
}

// TestCurrentChangeIDs: one snapshot gives every disk's change id; a VM
// with CBT disabled has none, and says so.
func TestCurrentChangeIDs(t *testing.T) {
	t.Parallel()
	f := setup(t)
	src := &memSource{}
	vm := f.createVM(t, vcenter.VMDef{Name: "ids", Disks: []vcenter.DiskDef{{SizeBytes: 8 * mib, Changes: src}, {SizeBytes: 8 * mib, Changes: &memSource{}}}})
	ids, err := f.client.CurrentChangeIDs(f.ctx, vm.UUID)
	if err != nil || len(ids) != 2 || ids[vm.Disks[0].Key] == "" || ids[vm.Disks[1].Key] == "" {
		t.Fatalf("CurrentChangeIDs = %v, %v", ids, err)
	}
	one, err := f.client.CurrentChangeID(f.ctx, vm.UUID, vm.Disks[0].Key)
	if err != nil || one != ids[vm.Disks[0].Key] {
		t.Errorf("CurrentChangeID = %q, %v; CurrentChangeIDs said %q", one, err, ids[vm.Disks[0].Key])
	}
	if n, err := f.sim.SnapshotCount(vm.UUID); err != nil || n != 0 {
		t.Errorf("snapshots left: %d, %v", n, err)
	}

	off := f.createVM(t, vcenter.VMDef{Name: "no-cbt", Disks: []vcenter.DiskDef{{SizeBytes: 8 * mib, Changes: &memSource{}}}, NoCBT: true})
	if _, err := f.client.CurrentChangeIDs(f.ctx, off.UUID); !errs.Is(err, errs.FailedPrecondition) || !strings.Contains(err.Error(), "changed block tracking") {
		t.Errorf("CurrentChangeIDs with CBT disabled: %v, want FailedPrecondition naming changed block tracking", err)
	}
}
