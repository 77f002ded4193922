package cloudstack

import (
	"bytes"
	"context"
	"errors"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ossea/unifiedfailover/errs"
	cssim "github.com/ossea/unifiedfailover/sim/cloudstack"
)

type fixture struct {
	sim       *cssim.Sim
	client    *Client
	cfg       Config
	zone      cssim.Zone
	net1      cssim.Network
	net2      cssim.Network
	offering  cssim.ServiceOffering
	tmpl      cssim.Template
	appliance cssim.VM
	dir       string
}

func setup(t *testing.T) *fixture {
	t.Helper()
	dir := t.TempDir()
	s := cssim.New(cssim.Config{APIKey: "key", SecretKey: "secret", DataDir: filepath.Join(dir, "sim"), JobDuration: 5 * time.Millisecond})
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(srv.Close)
	t.Cleanup(s.Close)
	f := &fixture{sim: s, dir: dir}
	f.zone = s.AddZone(cssim.Zone{Name: "zone1"})
	f.net1 = s.AddNetwork(cssim.Network{Name: "prod", Type: "Isolated", ZoneID: f.zone.ID, CIDR: "10.0.0.0/24"})
	f.net2 = s.AddNetwork(cssim.Network{Name: "lab", Type: "L2", ZoneID: f.zone.ID})
	f.offering = s.AddServiceOffering(cssim.ServiceOffering{Name: "2c4g", CPUs: 2, MemoryMB: 4096})
	f.tmpl = s.AddTemplate(cssim.Template{Name: "debian-12", ZoneID: f.zone.ID, SizeBytes: 2 << 30})
	f.appliance = s.AddVM(cssim.VM{Name: "appliance", ZoneID: f.zone.ID, ServiceOfferingID: f.offering.ID,
		NICs: []cssim.NIC{{NetworkID: f.net1.ID}}})
	f.cfg = Config{URL: srv.URL + "/client/api", APIKey: "key", SecretKey: "secret", ZoneID: f.zone.ID,
		PollInterval: 2 * time.Millisecond, MaxPollInterval: 20 * time.Millisecond}
	c, err := New(f.cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	f.client = c
	return f
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// replica adds a file-backed volume attached to the appliance at dev.
func (f *fixture) replica(t *testing.T, name string, dev int, content []byte) cssim.Volume {
	t.Helper()
	path := filepath.Join(f.dir, name+".img")
	if err := os.WriteFile(path, content, 0o644); err != nil {
		t.Fatal(err)
	}
	v := f.sim.AddVolume(cssim.VolumeSpec{Name: name, SizeBytes: int64(len(content)), Path: path, ZoneID: f.zone.ID})
	if err := f.sim.AttachVolumeDirect(v.ID, f.appliance.ID, dev); err != nil {
		t.Fatal(err)
	}
	return v
}

func (f *fixture) deploy(t *testing.T, name string) *VM {
	t.Helper()
	vm, err := f.client.DeployVM(ctxT(t), DeploySpec{Name: name, ServiceOfferingID: f.offering.ID, TemplateID: f.tmpl.ID,
		NICs: []NICSpec{{NetworkID: f.net1.ID}}})
	if err != nil {
		t.Fatal(err)
	}
	return vm
}

func wantCode(t *testing.T, err error, code errs.Code, transient bool) {
	t.Helper()
	if err == nil {
		t.Fatalf("want %s error, got nil", code)
	}
	if got := errs.CodeOf(err); got != code {
		t.Fatalf("code = %s, want %s (%v)", got, code, err)
	}
	if got := errs.IsTransient(err); got != transient {
		t.Fatalf("transient = %v, want %v (%v)", got, transient, err)
	}
}

func TestConfigValidate(t *testing.T) {
	t.Parallel()
	_, err := New(Config{URL: "not a url"})
	wantCode(t, err, errs.InvalidArgument, false)
	c := Config{}.WithDefaults()
	if c.PollInterval != 2*time.Millisecond || c.MaxPollInterval != time.Second || c.HTTPTimeout != 30*time.Second {
		t.Fatalf("defaults = %+v", c)
	}
}

func TestCatalog(t *testing.T) {
	t.Parallel()
	f := setup(t)
	ctx := ctxT(t)
	nets, err := f.client.ListNetworks(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(nets) != 2 || nets[0] != (Network{ID: f.net1.ID, Name: "prod", Type: "Isolated", ZoneID: f.zone.ID, CIDR: "10.0.0.0/24", State: "Implemented"}) || nets[1].Type != "L2" {
		t.Fatalf("networks = %+v", nets)
	}
	offs, err := f.client.ListServiceOfferings(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(offs) != 1 || offs[0] != (ServiceOffering{ID: f.offering.ID, Name: "2c4g", CPUs: 2, MemoryMB: 4096, CPUSpeedMHz: 1000}) {
		t.Fatalf("offerings = %+v", offs)
	}
	zones, err := f.client.ListZones(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(zones) != 1 || zones[0].ID != f.zone.ID || zones[0].Name != "zone1" {
		t.Fatalf("zones = %+v", zones)
	}
	tmpls, err := f.client.ListTemplates(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(tmpls) != 1 || tmpls[0].ID != f.tmpl.ID || tmpls[0].SizeBytes != 2<<30 || !tmpls[0].Ready {
		t.Fatalf("templates = %+v", tmpls)
	}
}

func TestVMLifecycleKeepsMACsAndAttachOrder(t *testing.T) {
	t.Parallel()
	f := setup(t)
	ctx := ctxT(t)
	boot := f.replica(t, "disk0", 1, []byte("boot"))
	data := f.replica(t, "disk1", 2, []byte("data"))

	vm, err := f.client.DeployVM(ctx, DeploySpec{
		Name: "web1", DisplayName: "web 1", ServiceOfferingID: f.offering.ID, TemplateID: f.tmpl.ID, BootMode: BootUEFI,
		NICs: []NICSpec{{NetworkID: f.net1.ID, MAC: "00:50:56:AA:BB:01"}, {NetworkID: f.net2.ID}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if vm.State != StateStopped || vm.Name != "web1" || vm.DisplayName != "web 1" || vm.ServiceOfferingID != f.offering.ID {
		t.Fatalf("deployed = %+v", vm)
	}
	if len(vm.NICs) != 2 || vm.NICs[0].MAC != "00:50:56:aa:bb:01" || vm.NICs[0].NetworkID != f.net1.ID ||
		vm.NICs[1].NetworkID != f.net2.ID || vm.NICs[1].MAC == "" || vm.NICs[1].DeviceID != 1 {
		t.Fatalf("NICs = %+v", vm.NICs)
	}
	if sv, _ := f.sim.VM(vm.ID); sv.BootType != "UEFI" {
		t.Fatalf("boot type = %q", sv.BootType)
	}
	// CloudStack gave the VM a ROOT volume from the template; it goes, so
	// the boot replica can take device 0.
	vols, err := f.client.ListVolumes(ctx, VolumeFilter{VMID: vm.ID})
	if err != nil || len(vols) != 1 || vols[0].Type != VolumeRoot || vols[0].DeviceID != 0 || vols[0].Account == "" || vols[0].StorageID == "" {
		t.Fatalf("template volumes = %+v, %v", vols, err)
	}
	root := vols[0]
	_, err = f.client.AttachVolume(ctx, boot.ID, vm.ID, 0)
	wantCode(t, err, errs.FailedPrecondition, false) // the appliance holds it
	if _, err := f.client.DetachVolume(ctx, root.ID); err != nil {
		t.Fatal(err)
	}
	if err := f.client.DeleteVolume(ctx, root.ID); err != nil {
		t.Fatal(err)
	}
	_, err = f.client.GetVolume(ctx, root.ID)
	wantCode(t, err, errs.NotFound, false)

	got, err := f.client.FindVMByName(ctx, "web1")
	if err != nil || got.ID != vm.ID {
		t.Fatalf("find = %+v, %v", got, err)
	}
	if got, err = f.client.GetVM(ctx, vm.ID); err != nil || got.Name != "web1" {
		t.Fatalf("get = %+v, %v", got, err)
	}

	// Move the replicas from the appliance to the VM, boot disk first.
	for i, id := range []string{boot.ID, data.ID} {
		v, err := f.client.DetachVolume(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if v.VMID != "" {
			t.Fatalf("detached volume still on %s", v.VMID)
		}
		v, err = f.client.AttachVolume(ctx, id, vm.ID, i)
		if err != nil {
			t.Fatal(err)
		}
		if v.VMID != vm.ID || v.DeviceID != i || v.VMName != "web1" {
			t.Fatalf("attached = %+v", v)
		}
	}
	vols, err = f.client.ListVolumes(ctx, VolumeFilter{VMID: vm.ID})
	if err != nil || len(vols) != 2 || vols[0].ID != boot.ID || vols[0].DeviceID != 0 || vols[1].DeviceID != 1 ||
		vols[0].Type != VolumeRoot || vols[1].Type != VolumeDataDisk {
		t.Fatalf("volumes = %+v, %v", vols, err)
	}
	if v, err := f.client.GetVolume(ctx, data.ID); err != nil || v.SizeBytes != 4 || v.State != "Ready" {
		t.Fatalf("get volume = %+v, %v", v, err)
	}

	if vm, err = f.client.StartVM(ctx, vm.ID); err != nil || vm.State != StateRunning {
		t.Fatalf("start = %+v, %v", vm, err)
	}
	if vm, err = f.client.StopVM(ctx, vm.ID, false); err != nil || vm.State != StateStopped {
		t.Fatalf("stop = %+v, %v", vm, err)
	}
	for _, id := range []string{boot.ID, data.ID} {
		if _, err := f.client.DetachVolume(ctx, id); err != nil {
			t.Fatal(err)
		}
	}
	if v, err := f.client.GetVolume(ctx, boot.ID); err != nil || v.Type != VolumeDataDisk {
		t.Fatalf("boot replica detached from device 0 = %+v, %v; want a DATADISK again", v, err)
	}
	if err := f.client.DestroyVM(ctx, vm.ID, true); err != nil {
		t.Fatal(err)
	}
	_, err = f.client.FindVMByName(ctx, "web1")
	wantCode(t, err, errs.NotFound, false)
	_, err = f.client.GetVM(ctx, vm.ID)
	wantCode(t, err, errs.NotFound, false)
}

func TestErrorClasses(t *testing.T) {
	t.Parallel()
	f := setup(t)
	ctx := ctxT(t)
	vol := f.replica(t, "disk0", 1, []byte("x"))
	vm := f.deploy(t, "db1")

	// Attached elsewhere: invalid state, with the typed error in the chain.
	_, err := f.client.AttachVolume(ctx, vol.ID, vm.ID, 0)
	wantCode(t, err, errs.FailedPrecondition, false)
	var ae *APIError
	if !errors.As(err, &ae) || ae.ErrorCode != 431 || ae.JobID == "" || ae.Command != "attachVolume" || ae.ErrorText == "" || ae.CSErrorCode != 0 {
		t.Fatalf("APIError = %+v", ae)
	}
	// Device id in use on the same VM.
	other := f.sim.AddVolume(cssim.VolumeSpec{Name: "x", SizeBytes: 1})
	_, err = f.client.AttachVolume(ctx, other.ID, f.appliance.ID, 1)
	wantCode(t, err, errs.FailedPrecondition, false)

	// Unknown ids: not found (431 from CloudStack).
	_, err = f.client.AttachVolume(ctx, "00000000-0000-0000-0000-000000000000", vm.ID, 1)
	wantCode(t, err, errs.NotFound, false)
	if !errors.As(err, &ae) || ae.HTTPStatus != 431 || ae.CSErrorCode != 4350 {
		t.Fatalf("APIError = %+v", ae)
	}
	_, err = f.client.GetVolume(ctx, "00000000-0000-0000-0000-000000000000")
	wantCode(t, err, errs.NotFound, false)
	_, err = f.client.GetVolumeSnapshot(ctx, "00000000-0000-0000-0000-000000000000")
	wantCode(t, err, errs.NotFound, false)

	// Duplicate name.
	_, err = f.client.DeployVM(ctx, DeploySpec{Name: "db1", ServiceOfferingID: f.offering.ID, TemplateID: f.tmpl.ID, NICs: []NICSpec{{NetworkID: f.net1.ID}}})
	wantCode(t, err, errs.AlreadyExists, false)
	// Bad spec never reaches CloudStack.
	_, err = f.client.DeployVM(ctx, DeploySpec{Name: "x", ServiceOfferingID: "o", TemplateID: "t", NICs: []NICSpec{{NetworkID: "n", MAC: "zz"}}})
	wantCode(t, err, errs.InvalidArgument, false)

	// Start with no boot disk.
	vols, err := f.client.ListVolumes(ctx, VolumeFilter{VMID: vm.ID})
	if err != nil || len(vols) != 1 {
		t.Fatalf("volumes of %s = %+v, %v", vm.ID, vols, err)
	}
	if _, err := f.client.DetachVolume(ctx, vols[0].ID); err != nil {
		t.Fatal(err)
	}
	_, err = f.client.StartVM(ctx, vm.ID)
	wantCode(t, err, errs.FailedPrecondition, false)
	// A deleteVolume of an attached volume is refused at once.
	wantCode(t, f.client.DeleteVolume(ctx, vol.ID), errs.FailedPrecondition, false)

	// "Please try again later": a second snapshot on one instance is
	// transient (kvm.snapshot.enabled lets the first one start).
	f.sim.SetKVMSnapshotEnabled(true)
	f.sim.SetSnapshotBackupRate(1 << 10) // 1 KiB/s: the first snapshot's backup takes 3 s
	long := f.replica(t, "disk8", 5, bytes.Repeat([]byte("l"), 3<<10))
	busy := f.replica(t, "disk9", 4, bytes.Repeat([]byte("b"), 4096))
	first := make(chan error, 1)
	go func() { _, err := f.client.CreateVolumeSnapshot(ctx, long.ID, "first"); first <- err }()
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		if slices.ContainsFunc(f.sim.Snapshots(), func(s cssim.Snapshot) bool { return s.VolumeID == long.ID }) || time.Now().After(deadline) {
			break
		}
	}
	_, err = f.client.CreateVolumeSnapshot(ctx, busy.ID, "second")
	wantCode(t, err, errs.Unavailable, true)
	f.sim.SetSnapshotBackupRate(1 << 30)
	if err := <-first; err != nil {
		t.Fatalf("the first snapshot: %v", err)
	}

	// Wrong secret: 401.
	bad := f.cfg
	bad.SecretKey = "wrong"
	bc, err := New(bad)
	if err != nil {
		t.Fatal(err)
	}
	_, err = bc.ListZones(ctx)
	wantCode(t, err, errs.Unauthenticated, false)
	if !errors.As(err, &ae) || ae.HTTPStatus != 401 {
		t.Fatalf("APIError = %+v", ae)
	}

	// Injected 503: a read is sent again (getAttempts in all); when every
	// try fails, transient. Injected 530: permanent internal.
	f.sim.FailNext("listNetworks", getAttempts-1, 503, "Service Unavailable")
	if _, err := f.client.ListNetworks(ctx); err != nil {
		t.Fatalf("a read failing %d times with 503 is retried: %v", getAttempts-1, err)
	}
	f.sim.FailNext("listNetworks", getAttempts, 503, "Service Unavailable")
	_, err = f.client.ListNetworks(ctx)
	wantCode(t, err, errs.Unavailable, true)
	f.sim.FailNext("listNetworks", 1, 530, "Internal error executing command")
	_, err = f.client.ListNetworks(ctx)
	wantCode(t, err, errs.Internal, false)
	// A 503 on the start request of a job is transient too.
	f.sim.FailNext("stopVirtualMachine", 1, 503, "")
	_, err = f.client.StopVM(ctx, vm.ID, false)
	wantCode(t, err, errs.Unavailable, true)
	// A transient failure while polling is retried.
	f.sim.FailNext("queryAsyncJobResult", 2, 503, "")
	if _, err := f.client.StopVM(ctx, vm.ID, false); err != nil {
		t.Fatalf("stop with flaky polls: %v", err)
	}

	// Hang: the caller's deadline ends the request, transient.
	f.sim.SetHang("listZones", true)
	short, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err = f.client.ListZones(short)
	wantCode(t, err, errs.Unavailable, true)
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("hang took %v, want about the deadline", d)
	}
	// Connection refused: transient.
	dead := f.cfg
	dead.URL = "http://127.0.0.1:1/client/api"
	dc, _ := New(dead)
	_, err = dc.ListZones(ctx)
	wantCode(t, err, errs.Unavailable, true)
	// The error names the call, never the signed URL's query (apiKey and
	// signature are valid for minutes).
	assertRedacted(t, err, "listZones")
	// Nor does a timeout's.
	_, err = f.client.ListZones(short)
	assertRedacted(t, err, "listZones")
	// Nor does an async job's poll.
	_, err = dc.DeployVM(ctx, DeploySpec{Name: "x", ServiceOfferingID: f.offering.ID, TemplateID: f.tmpl.ID,
		NICs: []NICSpec{{NetworkID: f.net1.ID}}})
	assertRedacted(t, err, "deployVirtualMachine")
}

func assertRedacted(t *testing.T, err error, command string) {
	t.Helper()
	if err == nil {
		t.Fatal("want an error")
	}
	msg := err.Error()
	for _, leak := range []string{"apiKey", "apikey", "signature", "=key", "secret"} {
		if strings.Contains(msg, leak) {
			t.Fatalf("error leaks %q: %s", leak, msg)
		}
	}
	if !strings.Contains(msg, command) {
		t.Fatalf("error does not name the call %s: %s", command, msg)
	}
}

func TestAsyncJobPollingIsFastAndHonoursDeadline(t *testing.T) {
	t.Parallel()
	f := setup(t)
	vm := f.deploy(t, "app1")
	f.sim.SetJobDuration(150 * time.Millisecond)
	start := time.Now()
	if _, err := f.client.StopVM(ctxT(t), vm.ID, false); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 700*time.Millisecond {
		t.Fatalf("a 150 ms job took %v; polling should follow it closely", d)
	}
	f.sim.SetJobDuration(5 * time.Second)
	short, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	_, err := f.client.StopVM(short, vm.ID, false)
	wantCode(t, err, errs.Unavailable, true)
}

func TestSnapshotRevertRestoresBytes(t *testing.T) {
	t.Parallel()
	f := setup(t)
	ctx := ctxT(t)
	orig := bytes.Repeat([]byte("original"), 4096)
	vol := f.replica(t, "disk0", 1, orig)
	path := filepath.Join(f.dir, "disk0.img")
	// Keep the file open like nbdkit does: the revert must write in place.
	held, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()

	// Attached to the running appliance: KVM refuses the snapshot unless
	// kvm.snapshot.enabled; detached, it is taken.
	_, err = f.client.CreateVolumeSnapshot(ctx, vol.ID, "rollback-1")
	wantCode(t, err, errs.Internal, false)
	if _, err := f.client.DetachVolume(ctx, vol.ID); err != nil {
		t.Fatal(err)
	}
	snap, err := f.client.CreateVolumeSnapshot(ctx, vol.ID, "rollback-1")
	if err != nil {
		t.Fatal(err)
	}
	if snap.Name != "rollback-1" || snap.VolumeID != vol.ID || snap.State != "BackedUp" || snap.Created.IsZero() {
		t.Fatalf("snapshot = %+v", snap)
	}
	if err := os.WriteFile(path, []byte("overwritten by failover"), 0o644); err != nil {
		t.Fatal(err)
	}
	if w, err := f.client.WaitSnapshot(ctx, snap.ID); err != nil || !w.Ready() {
		t.Fatalf("wait = %+v, %v", w, err)
	}
	// Attached to the running appliance: revert refused.
	if _, err := f.client.AttachVolume(ctx, vol.ID, f.appliance.ID, 1); err != nil {
		t.Fatal(err)
	}
	wantCode(t, f.client.RevertVolumeSnapshot(ctx, snap.ID), errs.FailedPrecondition, false)
	if _, err := f.client.DetachVolume(ctx, vol.ID); err != nil {
		t.Fatal(err)
	}
	if err := f.client.RevertVolumeSnapshot(ctx, snap.ID); err != nil {
		t.Fatal(err)
	}
	got := make([]byte, len(orig)+10)
	n, _ := held.ReadAt(got, 0)
	if !bytes.Equal(got[:n], orig) {
		t.Fatalf("reverted content differs (%d bytes) as seen through the open handle", n)
	}
	list, err := f.client.ListVolumeSnapshots(ctx, vol.ID)
	if err != nil || len(list) != 1 || list[0].ID != snap.ID {
		t.Fatalf("list = %+v, %v", list, err)
	}
	if g, err := f.client.GetVolumeSnapshot(ctx, snap.ID); err != nil || g.Name != "rollback-1" {
		t.Fatalf("get = %+v, %v", g, err)
	}
	copyPath := f.sim.Snapshots()[0].Path
	if err := f.client.DeleteVolumeSnapshot(ctx, snap.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(copyPath); !os.IsNotExist(err) {
		t.Fatalf("snapshot copy still present: %v", err)
	}
	if list, err := f.client.ListVolumeSnapshots(ctx, vol.ID); err != nil || len(list) != 0 {
		t.Fatalf("after delete = %+v, %v", list, err)
	}
	wantCode(t, f.client.DeleteVolumeSnapshot(ctx, snap.ID), errs.NotFound, false)
}
