package cloudstack_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	cs "github.com/apache/cloudstack-go/v2/cloudstack"

	sim "github.com/ossea/unifiedfailover/sim/cloudstack"
)

// Conformance tests: one TestRule… per rule of RULES.md. Each asserts the
// error code and the real server's text.

// deploy deploys a VM from tmpl on net1 and returns its id.
func (f *fixture) deploy(t *testing.T, name, tmpl string, start bool) string {
	t.Helper()
	p := map[string]string{
		"serviceofferingid": f.offering.ID, "templateid": tmpl, "zoneid": f.zone.ID, "name": name,
		"startvm": "false", "iptonetworklist[0].networkid": f.net1.ID,
	}
	if start {
		p["startvm"] = "true"
	}
	return resultObject(t, f.job(t, "deployVirtualMachine", p), "virtualmachine")["id"].(string)
}

// rootOf returns the volume at device 0 of vmID.
func (f *fixture) rootOf(t *testing.T, vmID string) sim.Volume {
	t.Helper()
	for _, v := range f.sim.Volumes() {
		if v.VMID == vmID && v.DeviceID == 0 {
			return v
		}
	}
	t.Fatalf("no volume at device 0 of %s", vmID)
	return sim.Volume{}
}

// wantJobError runs an async command and checks its failure.
func (f *fixture) wantJobError(t *testing.T, code int, text, command string, params map[string]string) {
	t.Helper()
	q := f.job(t, command, params)
	got, gotText := jobErrorCode(t, q)
	if got != code || !strings.Contains(gotText, text) {
		t.Fatalf("%s: got %d %q, want %d %q", command, got, gotText, code, text)
	}
	if int(q["jobresultcode"].(float64)) != code {
		t.Fatalf("%s: jobresultcode %v, want %d", command, q["jobresultcode"], code)
	}
	if _, ok := q["jobresult"].(map[string]any)["cserrorcode"]; ok {
		t.Fatalf("%s: a failed job's jobresult carries no cserrorcode: %v", command, q["jobresult"])
	}
}

// wantError sends a command that must be refused at once.
func (f *fixture) wantError(t *testing.T, code int, text, command string, params map[string]string) {
	t.Helper()
	status, r := f.call(t, "secret", command, params)
	if status != code || int(r["errorcode"].(float64)) != code || !strings.Contains(r["errortext"].(string), text) {
		t.Fatalf("%s: got HTTP %d %v, want %d %q", command, status, r, code, text)
	}
}

func (f *fixture) volume(t *testing.T, id string) sim.Volume {
	t.Helper()
	v, ok := f.sim.Volume(id)
	if !ok {
		t.Fatalf("volume %s gone", id)
	}
	return v
}

func TestRuleDeployAllocatesRootVolume(t *testing.T) {
	t.Parallel()
	f := setup(t)
	stopped := f.deploy(t, "stopped1", f.blank.ID, false)
	root := f.rootOf(t, stopped)
	if root.Type != sim.VolumeRoot || root.SizeBytes != sim.DefaultRootSize || root.State != sim.VolumeAllocated {
		t.Fatalf("root of a blank-template VM = %+v, want ROOT 8 GiB Allocated", root)
	}
	running := f.deploy(t, "running1", f.rooted.ID, true)
	if r := f.rootOf(t, running); r.SizeBytes != 1<<30 || r.State != sim.VolumeReady {
		t.Fatalf("root of a started VM = %+v, want 1 GiB Ready", r)
	}
	resultObject(t, f.job(t, "startVirtualMachine", map[string]string{"id": stopped}), "virtualmachine")
	if r := f.volume(t, root.ID); r.State != sim.VolumeReady {
		t.Fatalf("root after first start = %s, want Ready", r.State)
	}
}

func TestRuleAllocatedRootDetachThenDelete(t *testing.T) {
	t.Parallel()
	f := setup(t)
	vm := f.deploy(t, "target1", f.rooted.ID, false)
	root := f.rootOf(t, vm)
	det := resultObject(t, f.job(t, "detachVolume", map[string]string{"id": root.ID}), "volume")
	if det["type"] != "DATADISK" || det["state"] != "Allocated" {
		t.Fatalf("detached template root = %v, want DATADISK Allocated", det)
	}
	// deleteVolume is synchronous, answered with a string success.
	c := cs.NewClient(f.url, "key", "secret", false)
	resp, err := c.Volume.DeleteVolume(c.Volume.NewDeleteVolumeParams(root.ID))
	if err != nil || !resp.Success {
		t.Fatalf("deleteVolume: %+v %v", resp, err)
	}
	if _, ok := f.sim.Volume(root.ID); ok {
		t.Fatal("Allocated volume still present after deleteVolume")
	}
	replica := f.sim.AddVolume(sim.VolumeSpec{Name: "replica-boot", SizeBytes: 1 << 20, ZoneID: f.zone.ID})
	att := resultObject(t, f.job(t, "attachVolume", map[string]string{"id": replica.ID, "virtualmachineid": vm, "deviceid": "0"}), "volume")
	if att["type"] != "ROOT" || att["deviceid"].(float64) != 0 {
		t.Fatalf("replica at device 0 = %v, want ROOT", att)
	}
}

func TestRuleDeleteVolumeRefusals(t *testing.T) {
	t.Parallel()
	f := setupWith(t, func(c *sim.Config) { c.SnapshotBackupRate = 10 << 20 })
	vm := f.deploy(t, "del1", f.rooted.ID, false)
	root := f.rootOf(t, vm)
	f.wantError(t, 431, "Please specify a volume that is not attached to any VM.", "deleteVolume", map[string]string{"id": root.ID})
	status, r := f.call(t, "secret", "deleteVolume", map[string]string{"id": f.sim.AddVolume(sim.VolumeSpec{Name: "x"}).ID})
	if status != 200 || r["success"] != "true" || len(r) != 1 {
		t.Fatalf("deleteVolume answer = %d %v, want {\"success\":\"true\"}", status, r)
	}
	// A snapshot backing up blocks the delete.
	busy := f.sim.AddVolume(sim.VolumeSpec{Name: "busy", SizeBytes: 3 << 20})
	_, sr := f.call(t, "secret", "createSnapshot", map[string]string{"volumeid": busy.ID})
	waitSnapshotState(t, f, busy.ID, sim.SnapshotBackingUp)
	f.wantError(t, 431, "There are snapshot operations in progress on the volume, unable to delete it", "deleteVolume", map[string]string{"id": busy.ID})
	waitJob(t, f, sr["jobid"].(string))
}

func TestRuleAttachDeviceZero(t *testing.T) {
	t.Parallel()
	f := setup(t)
	vm := f.deploy(t, "dev0", f.rooted.ID, false)
	v := f.sim.AddVolume(sim.VolumeSpec{Name: "d0", SizeBytes: 1 << 20, ZoneID: f.zone.ID})
	f.wantJobError(t, 431, "Vm already has root volume attached to it", "attachVolume", map[string]string{"id": v.ID, "virtualmachineid": vm, "deviceid": "0"})
	// Device 0 needs the VM Stopped.
	f.wantJobError(t, 431, "Root volume detach can happen only when vm is in states: Stopped or Destroyed", "attachVolume",
		map[string]string{"id": v.ID, "virtualmachineid": f.appliance.ID, "deviceid": "0"})
}

func TestRuleAttachDeviceIDs(t *testing.T) {
	t.Parallel()
	f := setupWith(t, func(c *sim.Config) { c.MaxDataVolumes = 3 })
	vm := f.deploy(t, "ids", f.rooted.ID, false)
	add := func(name string) string { return f.sim.AddVolume(sim.VolumeSpec{Name: name, ZoneID: f.zone.ID}).ID }
	f.wantJobError(t, 530, "deviceId should be 0,1,2,4-4", "attachVolume", map[string]string{"id": add("a"), "virtualmachineid": vm, "deviceid": "3"})
	f.wantJobError(t, 530, "deviceId should be 0,1,2,4-4", "attachVolume", map[string]string{"id": add("b"), "virtualmachineid": vm, "deviceid": "5"})
	var got []float64
	for _, n := range []string{"c", "d", "e"} {
		got = append(got, resultObject(t, f.job(t, "attachVolume", map[string]string{"id": add(n), "virtualmachineid": vm}), "volume")["deviceid"].(float64))
	}
	if got[0] != 1 || got[1] != 2 || got[2] != 4 {
		t.Fatalf("allocated device ids = %v, want 1 2 4", got)
	}
	f.wantJobError(t, 431, "The specified VM already has the maximum number of data disks (3) attached. Please specify another VM.", "attachVolume",
		map[string]string{"id": add("f"), "virtualmachineid": vm})
	other := f.deploy(t, "ids2", f.rooted.ID, false)
	resultObject(t, f.job(t, "attachVolume", map[string]string{"id": add("g"), "virtualmachineid": other, "deviceid": "1"}), "volume")
	f.wantJobError(t, 530, "deviceId 1 is used by vm", "attachVolume", map[string]string{"id": add("h"), "virtualmachineid": other, "deviceid": "1"})
}

func TestRuleAttachAlreadyAttached(t *testing.T) {
	t.Parallel()
	f := setup(t)
	vm := f.deploy(t, "att", f.rooted.ID, false)
	v := f.sim.AddVolume(sim.VolumeSpec{Name: "r", ZoneID: f.zone.ID})
	if err := f.sim.AttachVolumeDirect(v.ID, f.appliance.ID, 1); err != nil {
		t.Fatal(err)
	}
	f.wantJobError(t, 431, "Please specify a volume that is not attached to any VM.", "attachVolume", map[string]string{"id": v.ID, "virtualmachineid": vm})
	busy := f.sim.AddVolume(sim.VolumeSpec{Name: "busy", ZoneID: f.zone.ID, State: sim.VolumeSnapshotting})
	f.wantJobError(t, 431, "Volume state must be in Allocated, Ready or in Uploaded state", "attachVolume", map[string]string{"id": busy.ID, "virtualmachineid": vm})
}

func TestRuleAttachSameAccount(t *testing.T) {
	t.Parallel()
	f := setup(t)
	v := f.sim.AddVolume(sim.VolumeSpec{Name: "foreign", ZoneID: f.zone.ID, Account: "tenant2"})
	f.wantJobError(t, 531, "belong to different accounts", "attachVolume", map[string]string{"id": v.ID, "virtualmachineid": f.appliance.ID})
	_, r := f.call(t, "secret", "listVolumes", map[string]string{"id": v.ID, "listall": "true"})
	if r["volume"].([]any)[0].(map[string]any)["account"] != "tenant2" {
		t.Fatalf("listVolumes account = %v", r)
	}
	_, r = f.call(t, "secret", "listVirtualMachines", map[string]string{"id": f.appliance.ID})
	if r["virtualmachine"].([]any)[0].(map[string]any)["account"] != "admin" {
		t.Fatalf("listVirtualMachines account = %v", r)
	}
}

func TestRuleAttachDetachRootType(t *testing.T) {
	t.Parallel()
	f := setup(t)
	vm := f.deploy(t, "rt", f.rooted.ID, false)
	root := f.rootOf(t, vm)
	resultObject(t, f.job(t, "detachVolume", map[string]string{"id": root.ID}), "volume")
	if v := f.volume(t, root.ID); v.Type != sim.VolumeDataDisk {
		t.Fatalf("detached ROOT type = %s, want DATADISK", v.Type)
	}
	resultObject(t, f.job(t, "attachVolume", map[string]string{"id": root.ID, "virtualmachineid": vm, "deviceid": "0"}), "volume")
	if v := f.volume(t, root.ID); v.Type != sim.VolumeRoot {
		t.Fatalf("type at device 0 = %s, want ROOT", v.Type)
	}
	d := f.sim.AddVolume(sim.VolumeSpec{Name: "direct"})
	other := f.deploy(t, "rt2", f.rooted.ID, false)
	resultObject(t, f.job(t, "detachVolume", map[string]string{"id": f.rootOf(t, other).ID}), "volume")
	if err := f.sim.AttachVolumeDirect(d.ID, other, 0); err != nil {
		t.Fatal(err)
	}
	if v := f.volume(t, d.ID); v.Type != sim.VolumeRoot {
		t.Fatalf("AttachVolumeDirect at 0 type = %s, want ROOT", v.Type)
	}
}

func TestRuleDetachVMState(t *testing.T) {
	t.Parallel()
	f := setup(t)
	running := f.deploy(t, "det-run", f.rooted.ID, true)
	f.wantJobError(t, 431, "Root volume detach can happen only when vm is in states: Stopped or Destroyed", "detachVolume", map[string]string{"id": f.rootOf(t, running).ID})
	data := f.sim.AddVolume(sim.VolumeSpec{Name: "data", ZoneID: f.zone.ID})
	if err := f.sim.AttachVolumeDirect(data.ID, running, 1); err != nil {
		t.Fatal(err)
	}
	if err := f.sim.SetVMState(running, sim.StateStarting); err != nil {
		t.Fatal(err)
	}
	f.wantJobError(t, 431, "Please specify a VM that is either running or stopped.", "detachVolume", map[string]string{"id": data.ID})
	if err := f.sim.SetVMState(running, sim.StateRunning); err != nil {
		t.Fatal(err)
	}
	if err := f.sim.SetVMSnapshotCount(running, 1); err != nil {
		t.Fatal(err)
	}
	f.wantJobError(t, 431, "Unable to detach volume, please specify a VM that does not have VM snapshots", "detachVolume", map[string]string{"id": data.ID})
	if err := f.sim.SetVMSnapshotCount(running, 0); err != nil {
		t.Fatal(err)
	}
	resultObject(t, f.job(t, "detachVolume", map[string]string{"id": data.ID}), "volume")
	f.wantJobError(t, 431, "The specified volume is not attached to a VM.", "detachVolume", map[string]string{"id": data.ID})
}

func waitSnapshotState(t *testing.T, f *fixture, volumeID, state string) map[string]any {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(2 * time.Millisecond) {
		_, r := f.call(t, "secret", "listSnapshots", map[string]string{"volumeid": volumeID})
		if l, ok := r["snapshot"].([]any); ok {
			if sn := l[len(l)-1].(map[string]any); sn["state"] == state {
				return sn
			}
		}
	}
	t.Fatalf("snapshot of %s never reached %s", volumeID, state)
	return nil
}

func waitJob(t *testing.T, f *fixture, jobID string) map[string]any {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(2 * time.Millisecond) {
		_, q := f.call(t, "secret", "queryAsyncJobResult", map[string]string{"jobid": jobID})
		if q["jobstatus"].(float64) != 0 {
			return q
		}
	}
	t.Fatalf("job %s did not finish", jobID)
	return nil
}

func TestRuleKVMSnapshotRunningVM(t *testing.T) {
	t.Parallel()
	for _, enabled := range []bool{false, true} {
		f := setupWith(t, func(c *sim.Config) { c.KVMSnapshotEnabled = enabled })
		v := f.sim.AddVolume(sim.VolumeSpec{Name: "live", SizeBytes: 1 << 20, ZoneID: f.zone.ID})
		if err := f.sim.AttachVolumeDirect(v.ID, f.appliance.ID, 1); err != nil {
			t.Fatal(err)
		}
		if !enabled {
			f.wantError(t, 530, "KVM Snapshot is not supported for Running VMs. It is disabled by default due to a possible volume corruption in certain cases. To enable it set global settings kvm.snapshot.enabled to True.",
				"createSnapshot", map[string]string{"volumeid": v.ID})
			f.sim.SetKVMSnapshotEnabled(true)
		}
		if sn := resultObject(t, f.job(t, "createSnapshot", map[string]string{"volumeid": v.ID}), "snapshot"); sn["state"] != "BackedUp" {
			t.Fatalf("snapshot = %v", sn)
		}
	}
}

func TestRuleOneActiveSnapshotPerInstance(t *testing.T) {
	t.Parallel()
	f := setupWith(t, func(c *sim.Config) { c.KVMSnapshotEnabled = true; c.SnapshotBackupRate = 10 << 20 })
	a := f.sim.AddVolume(sim.VolumeSpec{Name: "a", SizeBytes: 3 << 20})
	b := f.sim.AddVolume(sim.VolumeSpec{Name: "b", SizeBytes: 1 << 20})
	for i, v := range []sim.Volume{a, b} {
		if err := f.sim.AttachVolumeDirect(v.ID, f.appliance.ID, i+1); err != nil {
			t.Fatal(err)
		}
	}
	_, r := f.call(t, "secret", "createSnapshot", map[string]string{"volumeid": a.ID})
	waitSnapshotState(t, f, a.ID, sim.SnapshotBackingUp)
	f.wantError(t, 431, "There is other active snapshot tasks on the instance to which the volume is attached, please try again later",
		"createSnapshot", map[string]string{"volumeid": b.ID})
	if rs := f.sim.Refusals("createSnapshot"); len(rs) != 1 || rs[0].Code != 431 || !strings.Contains(rs[0].Text, "other active snapshot") {
		t.Fatalf("Refusals(createSnapshot) = %+v, want the one contention refusal", rs)
	}
	// A detached volume has no instance.
	d := f.sim.AddVolume(sim.VolumeSpec{Name: "detached", SizeBytes: 1 << 20})
	resultObject(t, f.job(t, "createSnapshot", map[string]string{"volumeid": d.ID}), "snapshot")
	waitJob(t, f, r["jobid"].(string))
	resultObject(t, f.job(t, "createSnapshot", map[string]string{"volumeid": b.ID}), "snapshot")
}

func TestRuleSnapshotStatesAndBackupTime(t *testing.T) {
	t.Parallel()
	f := setupWith(t, func(c *sim.Config) { c.SnapshotBackupRate = 20 << 20 })
	v := f.sim.AddVolume(sim.VolumeSpec{Name: "big", SizeBytes: 4 << 20}) // 200 ms of backup
	start := time.Now()
	_, r := f.call(t, "secret", "createSnapshot", map[string]string{"volumeid": v.ID})
	if st := r["id"]; st == nil {
		t.Fatalf("createSnapshot answer = %v", r)
	}
	waitSnapshotState(t, f, v.ID, sim.SnapshotBackingUp)
	q := waitJob(t, f, r["jobid"].(string))
	if time.Since(start) < 200*time.Millisecond {
		t.Fatalf("backup of 4 MiB at 20 MiB/s took %v, want ≥ 200 ms", time.Since(start))
	}
	if sn := resultObject(t, q, "snapshot"); sn["state"] != "BackedUp" {
		t.Fatalf("final snapshot = %v", sn)
	}
}

func TestRuleSnapshotBackupFailureLeavesError(t *testing.T) {
	t.Parallel()
	f := setup(t)
	v := f.sim.AddVolume(sim.VolumeSpec{Name: "flaky", SizeBytes: 1 << 20})
	f.sim.FailSnapshotBackup(1)
	f.wantJobError(t, 530, "Failed to create snapshot due to an internal error creating snapshot for volume "+v.ID, "createSnapshot", map[string]string{"volumeid": v.ID})
	if sn := waitSnapshotState(t, f, v.ID, sim.SnapshotError); sn["volumeid"] != v.ID {
		t.Fatalf("error snapshot = %v", sn)
	}
	// The next backup succeeds.
	resultObject(t, f.job(t, "createSnapshot", map[string]string{"volumeid": v.ID}), "snapshot")
}

func TestRuleRevertSnapshot(t *testing.T) {
	t.Parallel()
	f := setupWith(t, func(c *sim.Config) { c.KVMSnapshotEnabled = true })
	v := f.sim.AddVolume(sim.VolumeSpec{Name: "nfs", SizeBytes: 1 << 20})
	if err := f.sim.AttachVolumeDirect(v.ID, f.appliance.ID, 1); err != nil {
		t.Fatal(err)
	}
	sn := resultObject(t, f.job(t, "createSnapshot", map[string]string{"volumeid": v.ID}), "snapshot")["id"].(string)
	f.wantJobError(t, 431, "The VM the specified disk is attached to is not in the shutdown state.", "revertSnapshot", map[string]string{"id": sn})
	resultObject(t, f.job(t, "detachVolume", map[string]string{"id": v.ID}), "volume")
	resultObject(t, f.job(t, "revertSnapshot", map[string]string{"id": sn}), "snapshot")

	clvm := f.sim.AddStoragePool(sim.StoragePool{Name: "clvm1", Type: sim.PoolCLVM})
	raw := f.sim.AddVolume(sim.VolumeSpec{Name: "raw", SizeBytes: 1 << 20, StorageID: clvm.ID})
	if raw.Format != sim.FormatRAW {
		t.Fatalf("format on CLVM = %s", raw.Format)
	}
	rsn := resultObject(t, f.job(t, "createSnapshot", map[string]string{"volumeid": raw.ID}), "snapshot")["id"].(string)
	f.wantJobError(t, 530, "because this command is supported only for KVM hypervisor", "revertSnapshot", map[string]string{"id": rsn})
	// listStoragePools tells the caller the pool type of a volume.
	_, lv := f.call(t, "secret", "listVolumes", map[string]string{"id": raw.ID})
	vol := lv["volume"].([]any)[0].(map[string]any)
	c := cs.NewClient(f.url, "key", "secret", false)
	p := c.Pool.NewListStoragePoolsParams()
	p.SetId(vol["storageid"].(string))
	pools, err := c.Pool.ListStoragePools(p)
	if err != nil || pools.Count != 1 || pools.StoragePools[0].Type != "CLVM" || vol["storage"] != "clvm1" {
		t.Fatalf("listStoragePools = %+v %v (volume %v)", pools, err, vol)
	}
	// A snapshot that never backed up is not in a data store.
	f.sim.FailSnapshotBackup(1)
	q := f.job(t, "createSnapshot", map[string]string{"volumeid": v.ID})
	jobErrorCode(t, q)
	bad := waitSnapshotState(t, f, v.ID, sim.SnapshotError)["id"].(string)
	f.wantJobError(t, 530, "does not exists in data store", "revertSnapshot", map[string]string{"id": bad})
}

func TestRuleDeployNICsMapByNetwork(t *testing.T) {
	t.Parallel()
	f := setup(t)
	q := f.job(t, "deployVirtualMachine", map[string]string{
		"serviceofferingid": f.offering.ID, "templateid": f.rooted.ID, "zoneid": f.zone.ID, "name": "nics", "startvm": "false",
		"iptonetworklist[0].networkid": f.net1.ID, "iptonetworklist[0].mac": "02:00:00:00:00:01",
		"iptonetworklist[1].networkid": f.net2.ID, "iptonetworklist[1].mac": "02:00:00:00:00:02",
		"iptonetworklist[2].networkid": f.net1.ID, "iptonetworklist[2].mac": "02-00-00-00-00-AB",
	})
	nics := resultObject(t, q, "virtualmachine")["nic"].([]any)
	if len(nics) != 2 {
		t.Fatalf("nics = %v, want 2 (one per network)", nics)
	}
	first := nics[0].(map[string]any)
	if first["networkid"] != f.net1.ID || first["macaddress"] != "02:00:00:00:00:ab" {
		t.Fatalf("first nic = %v, want net1 at the first position with the last (standardised) MAC", first)
	}
	base := map[string]string{"serviceofferingid": f.offering.ID, "templateid": f.rooted.ID, "zoneid": f.zone.ID, "iptonetworklist[0].networkid": f.net1.ID}
	with := func(k, v string) map[string]string {
		m := map[string]string{k: v}
		for a, b := range base {
			m[a] = b
		}
		return m
	}
	f.wantError(t, 431, "Mac address is not valid: zz:00:00:00:00:01", "deployVirtualMachine", with("iptonetworklist[0].mac", "zz:00:00:00:00:01"))
	f.wantError(t, 431, "Mac address is not unicast: 01:00:5e:00:00:01", "deployVirtualMachine", with("iptonetworklist[0].mac", "01:00:5e:00:00:01"))
}

func TestRuleDeployNameRFCCompliant(t *testing.T) {
	t.Parallel()
	f := setup(t)
	for _, bad := range []string{"1web", "web_1", "-web", "web-", strings.Repeat("a", 64), "web.example"} {
		f.wantError(t, 431, "Invalid name. Vm name can contain ASCII letters 'a' through 'z', the digits '0' through '9', and the hyphen ('-'), must be between 1 and 63 characters long, and can't start or end with \"-\" and can't start with digit",
			"deployVirtualMachine", map[string]string{"serviceofferingid": f.offering.ID, "templateid": f.rooted.ID, "zoneid": f.zone.ID,
				"iptonetworklist[0].networkid": f.net1.ID, "name": bad})
	}
	q := f.job(t, "deployVirtualMachine", map[string]string{"serviceofferingid": f.offering.ID, "templateid": f.rooted.ID, "zoneid": f.zone.ID,
		"iptonetworklist[0].networkid": f.net1.ID, "name": "Web-01", "displayname": "Web 01 (prod) é_x", "startvm": "false"})
	if vm := resultObject(t, q, "virtualmachine"); vm["displayname"] != "Web 01 (prod) é_x" {
		t.Fatalf("vm = %v", vm)
	}
}

func TestRuleAddNicToVirtualMachine(t *testing.T) {
	t.Parallel()
	f := setup(t)
	net3 := f.sim.AddNetwork(sim.Network{Name: "third", ZoneID: f.zone.ID})
	c := cs.NewAsyncClient(f.url, "key", "secret", false)
	stopped := f.deploy(t, "nic-stopped", f.rooted.ID, false)
	for _, vm := range []string{stopped, f.appliance.ID} {
		p := c.VirtualMachine.NewAddNicToVirtualMachineParams(f.net2.ID, vm)
		if vm == stopped {
			p.SetMacaddress("02:AA:00:00:00:09")
		}
		r, err := c.VirtualMachine.AddNicToVirtualMachine(p)
		if err != nil {
			t.Fatal(err)
		}
		if len(r.Nic) != 2 || r.Nic[1].Networkid != f.net2.ID || r.Nic[1].Deviceid != "1" {
			t.Fatalf("nics after add = %+v", r.Nic)
		}
		if vm == stopped && r.Nic[1].Macaddress != "02:aa:00:00:00:09" {
			t.Fatalf("mac = %s", r.Nic[1].Macaddress)
		}
	}
	vmObj, _ := f.sim.VM(stopped)
	f.wantJobError(t, 530, "A NIC already exists for VM:"+vmObj.InstanceName+" in network: "+f.net2.ID, "addNicToVirtualMachine",
		map[string]string{"virtualmachineid": stopped, "networkid": f.net2.ID})
	f.wantJobError(t, 431, "Mac address is not unicast: 03:00:00:00:00:01", "addNicToVirtualMachine",
		map[string]string{"virtualmachineid": stopped, "networkid": net3.ID, "macaddress": "03:00:00:00:00:01"})
	f.wantJobError(t, 530, "A NIC with this MAC address exists for network: "+f.net2.ID, "addNicToVirtualMachine",
		map[string]string{"virtualmachineid": f.deploy(t, "nic3", f.rooted.ID, false), "networkid": f.net2.ID, "macaddress": "02:aa:00:00:00:09"})
}

func TestRuleCustomizedOffering(t *testing.T) {
	t.Parallel()
	f := setup(t)
	custom := f.sim.AddServiceOffering(sim.ServiceOffering{Name: "custom", Customized: true})
	c := cs.NewAsyncClient(f.url, "key", "secret", false)
	p := c.ServiceOffering.NewListServiceOfferingsParams()
	p.SetId(custom.ID)
	offs, err := c.ServiceOffering.ListServiceOfferings(p)
	if err != nil || offs.Count != 1 || !offs.ServiceOfferings[0].Iscustomized {
		t.Fatalf("listServiceOfferings = %+v %v", offs, err)
	}
	base := map[string]string{"serviceofferingid": custom.ID, "templateid": f.rooted.ID, "zoneid": f.zone.ID, "iptonetworklist[0].networkid": f.net1.ID}
	f.wantError(t, 431, "Need to specify custom parameter values cpu, cpu speed and memory when using custom offering", "deployVirtualMachine", base)
	noMem := map[string]string{"details[0].cpuNumber": "2", "details[1].cpuSpeed": "1000"}
	for k, v := range base {
		noMem[k] = v
	}
	f.wantError(t, 431, "Invalid memory value, specify a value between 32 and 2147483647", "deployVirtualMachine", noMem)
	dp := c.VirtualMachine.NewDeployVirtualMachineParams(custom.ID, f.rooted.ID, f.zone.ID)
	dp.SetName("sized")
	dp.SetStartvm(false)
	dp.SetIptonetworklist([]map[string]string{{"networkid": f.net1.ID}})
	dp.SetDetails(map[string]string{"cpuNumber": "3", "cpuSpeed": "2000", "memory": "3072"})
	vm, err := c.VirtualMachine.DeployVirtualMachine(dp)
	if err != nil {
		t.Fatal(err)
	}
	if vm.Cpunumber != 3 || vm.Memory != 3072 || vm.Cpuspeed != 2000 {
		t.Fatalf("custom VM = cpu %d mem %d speed %d", vm.Cpunumber, vm.Memory, vm.Cpuspeed)
	}
}

func TestRuleExpungeDestroysRootDetachesData(t *testing.T) {
	t.Parallel()
	f := setup(t)
	vm := f.deploy(t, "exp", f.rooted.ID, false)
	resultObject(t, f.job(t, "detachVolume", map[string]string{"id": f.rootOf(t, vm).ID}), "volume")
	replica := f.sim.AddVolume(sim.VolumeSpec{Name: "replica"})
	data := f.sim.AddVolume(sim.VolumeSpec{Name: "data"})
	if err := f.sim.AttachVolumeDirect(replica.ID, vm, 0); err != nil {
		t.Fatal(err)
	}
	if err := f.sim.AttachVolumeDirect(data.ID, vm, 1); err != nil {
		t.Fatal(err)
	}
	resultObject(t, f.job(t, "startVirtualMachine", map[string]string{"id": vm}), "virtualmachine")
	// A Running VM is stopped first, then expunged.
	resultObject(t, f.job(t, "destroyVirtualMachine", map[string]string{"id": vm, "expunge": "true"}), "virtualmachine")
	if _, ok := f.sim.Volume(replica.ID); ok {
		t.Fatal("ROOT-typed replica survived the expunge")
	}
	if v := f.volume(t, data.ID); v.VMID != "" {
		t.Fatalf("data volume still attached: %+v", v)
	}
}

func TestRuleForcedStopUnreachableHost(t *testing.T) {
	t.Parallel()
	f := setup(t)
	vm := f.deploy(t, "lost", f.rooted.ID, true)
	if err := f.sim.SetHostUnreachable(vm, true); err != nil {
		t.Fatal(err)
	}
	f.wantJobError(t, 530, "Unable to contact the agent to stop the virtual machine", "stopVirtualMachine", map[string]string{"id": vm})
	if v, _ := f.sim.VM(vm); v.State != sim.StateRunning {
		t.Fatalf("state after failed stop = %s", v.State)
	}
	resultObject(t, f.job(t, "stopVirtualMachine", map[string]string{"id": vm, "forced": "true"}), "virtualmachine")
	if v, _ := f.sim.VM(vm); v.State != sim.StateStopped || !f.sim.StillRunningOnHost(vm) {
		t.Fatalf("after forced stop: state %s, still running %v; want Stopped and still running", v.State, f.sim.StillRunningOnHost(vm))
	}
	if err := f.sim.SetHostUnreachable(vm, false); err != nil {
		t.Fatal(err)
	}
	if v, _ := f.sim.VM(vm); v.State != sim.StateRunning || f.sim.StillRunningOnHost(vm) {
		t.Fatalf("after the host answers again: %s", v.State)
	}
}

func TestRuleAsyncJobStatuses(t *testing.T) {
	t.Parallel()
	f := setup(t)
	f.sim.SetJobDuration(time.Second)
	_, r := f.call(t, "secret", "stopVirtualMachine", map[string]string{"id": f.appliance.ID})
	jobID := r["jobid"].(string)
	// Polls by GET and by POST (cloudstack-go's CustomRequest POSTs).
	v := url.Values{"apiKey": {"key"}, "command": {"queryAsyncJobResult"}, "response": {"json"}, "jobid": {jobID}}
	v.Set("signature", sim.Sign(v, "secret"))
	resp, err := http.Get(f.url + "?" + v.Encode())
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("GET poll: %v %v", resp, err)
	}
	resp.Body.Close()
	c := cs.NewClient(f.url, "key", "secret", false)
	cp := &cs.CustomServiceParams{}
	cp.SetParam("jobid", jobID)
	var raw map[string]any
	err = c.Custom.(*cs.CustomService).CustomRequest("queryAsyncJobResult", cp, &raw)
	if err != nil || raw["jobstatus"].(float64) != 0 {
		t.Fatalf("POST poll: %v %v", raw, err)
	}
	if err := f.sim.CancelJob(jobID); err != nil {
		t.Fatal(err)
	}
	if q := waitJob(t, f, jobID); q["jobstatus"].(float64) != 3 {
		t.Fatalf("cancelled job = %v", q)
	}
	f.sim.SetJobDuration(5 * time.Millisecond)
	f.wantJobError(t, 431, "The specified volume is not attached to a VM.", "detachVolume", map[string]string{"id": f.sim.AddVolume(sim.VolumeSpec{Name: "free"}).ID})
	ok := f.job(t, "startVirtualMachine", map[string]string{"id": f.deploy(t, "st", f.rooted.ID, false)})
	if ok["jobstatus"].(float64) != 1 || ok["jobresultcode"].(float64) != 0 {
		t.Fatalf("succeeded job = %v", ok)
	}
}

func TestRuleListCapabilities(t *testing.T) {
	t.Parallel()
	f := setup(t)
	c := cs.NewClient(f.url, "key", "secret", false)
	for _, on := range []bool{false, true} {
		f.sim.SetKVMSnapshotEnabled(on)
		r, err := c.Configuration.ListCapabilities(c.Configuration.NewListCapabilitiesParams())
		if err != nil || r.Capabilities == nil || r.Capabilities.Kvmsnapshotenabled != on || r.Capabilities.Cloudstackversion == "" {
			t.Fatalf("listCapabilities (kvm.snapshot.enabled=%v) = %+v %v", on, r, err)
		}
	}
}

func TestRuleAttachVMStateZoneAndSnapshots(t *testing.T) {
	t.Parallel()
	f := setup(t)
	vm := f.deploy(t, "att-state", f.rooted.ID, false)
	v := f.sim.AddVolume(sim.VolumeSpec{Name: "v", ZoneID: f.zone.ID})
	if err := f.sim.SetVMState(vm, sim.StateStarting); err != nil {
		t.Fatal(err)
	}
	f.wantJobError(t, 431, "Please specify a VM that is either running or stopped.", "attachVolume", map[string]string{"id": v.ID, "virtualmachineid": vm})
	if err := f.sim.SetVMState(vm, sim.StateStopped); err != nil {
		t.Fatal(err)
	}
	z2 := f.sim.AddZone(sim.Zone{Name: "zone2"})
	far := f.sim.AddVolume(sim.VolumeSpec{Name: "far", ZoneID: z2.ID})
	f.wantJobError(t, 431, "Please specify a VM that is in the same zone as the volume.", "attachVolume", map[string]string{"id": far.ID, "virtualmachineid": vm})
	if err := f.sim.SetVMSnapshotCount(vm, 2); err != nil {
		t.Fatal(err)
	}
	f.wantJobError(t, 431, "please specify a VM that does not have VM snapshots", "attachVolume", map[string]string{"id": v.ID, "virtualmachineid": vm})
}

func TestRuleSnapshotNeedsReadyVolume(t *testing.T) {
	t.Parallel()
	f := setup(t)
	vm := f.deploy(t, "snap-alloc", f.rooted.ID, false)
	f.wantError(t, 431, "is not in Ready state but Allocated. Cannot take snapshot.", "createSnapshot", map[string]string{"volumeid": f.rootOf(t, vm).ID})
}

func TestRuleSnapshotOfDestroyedVMVolume(t *testing.T) {
	t.Parallel()
	f := setup(t)
	vm := f.deploy(t, "snap-destroyed", f.rooted.ID, true)
	resultObject(t, f.job(t, "destroyVirtualMachine", map[string]string{"id": vm}), "virtualmachine")
	v, _ := f.sim.VM(vm)
	f.wantError(t, 530, "is associated with vm:"+v.InstanceName+" is in Destroyed state", "createSnapshot", map[string]string{"volumeid": f.rootOf(t, vm).ID})
}

func TestRuleRevertNeedsReadyVolume(t *testing.T) {
	t.Parallel()
	f := setup(t)
	v := f.sim.AddVolume(sim.VolumeSpec{Name: "rv", SizeBytes: 1 << 20})
	sn := resultObject(t, f.job(t, "createSnapshot", map[string]string{"volumeid": v.ID}), "snapshot")["id"].(string)
	if err := f.sim.SetVolumeState(v.ID, sim.VolumeAllocated); err != nil {
		t.Fatal(err)
	}
	f.wantJobError(t, 431, "The volume is not in Ready state.", "revertSnapshot", map[string]string{"id": sn})
}

// Without listall=true a list shows only the caller's own resources
// (BaseListProjectAndAccountResourcesCmd.listAll): how the engine learns
// that the API key's account owns the appliance and the replicas.
func TestRuleListWithoutListAllShowsOwnResources(t *testing.T) {
	t.Parallel()
	f := setup(t)
	own := f.sim.AddVolume(sim.VolumeSpec{Name: "own", ZoneID: f.zone.ID})
	foreign := f.sim.AddVolume(sim.VolumeSpec{Name: "foreign", ZoneID: f.zone.ID, Account: "tenant2"})
	foreignVM := f.sim.AddVM(sim.VM{Name: "foreign-vm", ZoneID: f.zone.ID, Account: "tenant2"})
	count := func(command, key string, params map[string]string) int {
		_, r := f.call(t, "secret", command, params)
		items, _ := r[key].([]any)
		return len(items)
	}
	if n := count("listVolumes", "volume", map[string]string{"id": own.ID}); n != 1 {
		t.Fatalf("own volume without listall: %d listed, want 1", n)
	}
	if n := count("listVolumes", "volume", map[string]string{"id": foreign.ID}); n != 0 {
		t.Fatalf("another account's volume without listall: %d listed, want 0", n)
	}
	if n := count("listVolumes", "volume", map[string]string{"id": foreign.ID, "listall": "true"}); n != 1 {
		t.Fatalf("another account's volume with listall: %d listed, want 1", n)
	}
	if n := count("listVirtualMachines", "virtualmachine", map[string]string{"id": foreignVM.ID}); n != 0 {
		t.Fatalf("another account's VM without listall: %d listed, want 0", n)
	}
	if n := count("listVirtualMachines", "virtualmachine", map[string]string{"id": foreignVM.ID, "listall": "true"}); n != 1 {
		t.Fatalf("another account's VM with listall: %d listed, want 1", n)
	}
}
