package lab_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ossea/unifiedfailover/cloudstack"
	"github.com/ossea/unifiedfailover/lab"
	"github.com/ossea/unifiedfailover/sim/nbdkit"
	"github.com/ossea/unifiedfailover/vsphere"
)

type fixture struct {
	ctx context.Context
	lab *lab.Lab
	vc  *vsphere.Client
}

// setup starts a lab of cfg (Dir defaults to a test directory) and logs in
// to its vCenter; both end with the test.
func setup(t *testing.T, cfg lab.Config) fixture {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	t.Cleanup(cancel)
	if cfg.Dir == "" {
		cfg.Dir = t.TempDir()
	}
	start := time.Now()
	l, err := lab.Start(ctx, cfg)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(l.Close)
	t.Logf("lab of %d VMs started in %s", len(l.VMs), time.Since(start).Round(time.Millisecond))
	vc, err := vsphere.Dial(ctx, vsphere.Config{URL: l.VCenter.URL, User: l.VCenter.User, Password: l.VCenter.Password, Insecure: true})
	if err != nil {
		t.Fatalf("logging in to the lab's vcenter: %v", err)
	}
	t.Cleanup(func() { _ = vc.Close(context.Background()) })
	return fixture{ctx: ctx, lab: l, vc: vc}
}

// nbdkitProcesses returns the pids of the nbdkit processes whose command
// line mentions dir.
func nbdkitProcesses(t *testing.T, dir string) []int {
	t.Helper()
	pids, err := nbdkit.Processes(dir)
	if err != nil {
		t.Fatal(err)
	}
	return pids
}

func TestManifestMatchesTheSimulators(t *testing.T) {
	t.Parallel()
	f := setup(t, lab.Config{VMs: 3, Seed: 7, DiskSize: 16 << 20})
	l := f.lab
	m := l.Manifest()
	if len(m.VMs) != 3 {
		t.Fatalf("manifest has %d VMs, want 3", len(m.VMs))
	}

	cs, err := cloudstack.New(cloudstack.Config{URL: l.CloudStackURL, APIKey: l.CloudStackAPIKey, SecretKey: l.CloudStackSecretKey})
	if err != nil {
		t.Fatal(err)
	}
	defer cs.Close()
	attached, err := cs.ListVolumes(f.ctx, cloudstack.VolumeFilter{VMID: l.ApplianceVMID})
	if err != nil {
		t.Fatalf("listing the appliance's volumes over the API: %v", err)
	}
	byID := map[string]cloudstack.Volume{}
	var replicas []cloudstack.Volume
	for _, v := range attached {
		byID[v.ID] = v
		if v.DeviceID == 0 {
			// The appliance's own ROOT volume, as every CloudStack VM has.
			if v.Type != cloudstack.VolumeRoot {
				t.Errorf("the appliance's device 0 is a %s volume, want its ROOT", v.Type)
			}
			continue
		}
		if v.Type != cloudstack.VolumeDataDisk {
			t.Errorf("replica %s on the appliance is a %s volume, want DATADISK", v.ID, v.Type)
		}
		replicas = append(replicas, v)
	}
	if len(replicas) == len(attached) {
		t.Errorf("the appliance has no ROOT volume at device 0")
	}
	networks, err := cs.ListNetworks(f.ctx)
	if err != nil {
		t.Fatal(err)
	}
	netByID := map[string]cloudstack.Network{}
	for _, n := range networks {
		netByID[n.ID] = n
	}
	if app, ok := l.CloudStack.VM(l.ApplianceVMID); !ok || app.State != "Running" {
		t.Errorf("appliance VM = %+v, %v; want Running", app, ok)
	}

	var oses, firmwares []string
	lastDevice := 0
	for _, mv := range m.VMs {
		reg := mv.Register
		if reg.VMwareVMID != mv.VMwareVMID || reg.VMName != mv.Name || reg.Datacenter != "DC0" ||
			!strings.HasPrefix(l.VCenter.URL, "https://"+reg.VCenterHost+"/") {
			t.Errorf("%s: register identity = %+v", mv.Name, reg)
		}
		spec, err := f.vc.VMSpec(f.ctx, mv.VMwareVMID)
		if err != nil {
			t.Fatalf("%s: finding the VM by uuid through the vsphere adapter: %v", mv.Name, err)
		}
		if spec.Name != mv.Name || spec.OSFamily != mv.OS || spec.Firmware != mv.Firmware || spec.PowerState != "poweredOn" {
			t.Errorf("%s: vcenter has %s %s %s %s, manifest %s %s", mv.Name, spec.Name, spec.OSFamily, spec.Firmware, spec.PowerState, mv.OS, mv.Firmware)
		}
		oses, firmwares = append(oses, mv.OS), append(firmwares, mv.OS+"/"+mv.Firmware)

		if len(reg.Disks) < 1 || len(reg.Disks) > 3 || len(spec.Disks) != len(reg.Disks) || len(mv.SourceDisks) != len(reg.Disks) {
			t.Fatalf("%s: %d disks in vcenter, %d registered, %d source disks", mv.Name, len(spec.Disks), len(reg.Disks), len(mv.SourceDisks))
		}
		for i, d := range reg.Disks {
			if d.DiskKey != spec.Disks[i].Key || mv.SourceDisks[i].DiskKey != d.DiskKey ||
				mv.SourceDisks[i].SizeBytes != spec.Disks[i].CapacityBytes || mv.SourceDisks[i].NBDURI != d.SourceNBDURI {
				t.Errorf("%s disk %d: registered %+v, source %+v, vcenter %+v", mv.Name, i, d, mv.SourceDisks[i], spec.Disks[i])
			}
			if !strings.Contains(d.ChangeID, "/") {
				t.Errorf("%s disk %d: change id %q", mv.Name, i, d.ChangeID)
			}
			v, ok := byID[d.VolumeID]
			if !ok {
				t.Errorf("%s disk %d: volume %s is not attached to the appliance", mv.Name, i, d.VolumeID)
				continue
			}
			if want := mv.Name + "-disk" + strconv.Itoa(i+1); v.Name != want || v.DeviceID <= lastDevice || v.SizeBytes != spec.Disks[i].CapacityBytes {
				t.Errorf("%s disk %d: volume %+v, want %s after device %d", mv.Name, i, v, want, lastDevice)
			}
			lastDevice = v.DeviceID
			simVol, _ := l.CloudStack.Volume(d.VolumeID)
			vm, _ := l.VMByName(mv.Name)
			if simVol.Path == "" || simVol.Path != vm.Disks[i].Replica.Path {
				t.Errorf("%s disk %d: volume path %q, replica file %q", mv.Name, i, simVol.Path, vm.Disks[i].Replica.Path)
			}

			src, err := lab.Checksum(f.ctx, d.SourceNBDURI)
			if err != nil {
				t.Fatal(err)
			}
			rep, err := lab.Checksum(f.ctx, d.ReplicaNBDURI)
			if err != nil {
				t.Fatal(err)
			}
			// The export templates (FAILOVER_SOURCE_NBD_URI and
			// FAILOVER_REPLICA_NBD_URI) name the same exports.
			bySrc := strings.NewReplacer("{vm_uuid}", mv.VMwareVMID, "{disk_key}", strconv.Itoa(int(d.DiskKey))).Replace(l.SourceNBDURITemplate)
			byRep := strings.NewReplacer("{volume_id}", d.VolumeID).Replace(l.ReplicaNBDURITemplate)
			if got, err := lab.Checksum(f.ctx, bySrc); err != nil || got != src {
				t.Errorf("%s disk %d: the source template's export %s: sha256 %s, %v; want %s", mv.Name, i, bySrc, got, err, src)
			}
			if got, err := lab.Checksum(f.ctx, byRep); err != nil || got != rep {
				t.Errorf("%s disk %d: the replica template's export %s: sha256 %s, %v; want %s", mv.Name, i, byRep, got, err, rep)
			}
			zero := zeroChecksum(vm.Disks[i].SizeBytes)
			if src != rep || src == zero {
				t.Errorf("%s disk %d: source sha256 %s, replica %s, zeros %s", mv.Name, i, src, rep, zero)
			}
		}

		if len(reg.NICs) < 1 || len(reg.NICs) > 2 || len(spec.NICs) != len(reg.NICs) {
			t.Fatalf("%s: %d NICs in vcenter, %d registered", mv.Name, len(spec.NICs), len(reg.NICs))
		}
		for i, n := range reg.NICs {
			if n.MACAddress != spec.NICs[i].MAC || n.SourceNetworkName != spec.NICs[i].NetworkName {
				t.Errorf("%s nic %d: registered %+v, vcenter %+v", mv.Name, i, n, spec.NICs[i])
			}
			for _, typ := range []string{lab.MappingTest, lab.MappingLive} {
				i := slices.IndexFunc(reg.NetworkMappings, func(mp lab.RegisterMapping) bool {
					return mp.SourceNetworkName == n.SourceNetworkName && mp.MappingType == typ
				})
				if i < 0 {
					t.Errorf("%s: no %s mapping for %s", mv.Name, typ, n.SourceNetworkName)
					continue
				}
				mp := reg.NetworkMappings[i]
				net, ok := netByID[mp.DestinationNetworkID]
				switch {
				case !ok || net.Name != mp.DestinationNetworkName:
					t.Errorf("%s: mapping %+v names no cloudstack network", mv.Name, mp)
				case typ == lab.MappingTest && net.Type != "Isolated" && net.Type != "L2":
					t.Errorf("%s: test mapping to %s network %s", mv.Name, net.Type, net.Name)
				case typ == lab.MappingLive && !strings.HasPrefix(net.Name, "prod-"):
					t.Errorf("%s: live mapping to %s", mv.Name, net.Name)
				}
			}
		}
		if len(reg.NetworkMappings) != 2*len(reg.NICs) {
			t.Errorf("%s: %d mappings for %d NICs", mv.Name, len(reg.NetworkMappings), len(reg.NICs))
		}
	}
	if len(replicas) != lastDeviceCount(m) {
		t.Errorf("appliance has %d replica volumes, manifest %d disks", len(replicas), lastDeviceCount(m))
	}
	if !slices.Contains(oses, "linux") || !slices.Contains(oses, "windows") || !slices.Contains(firmwares, "windows/efi") {
		t.Errorf("mix %v lacks linux, windows or windows/efi", firmwares)
	}
}

func lastDeviceCount(m lab.Manifest) int {
	var n int
	for _, vm := range m.VMs {
		n += len(vm.Register.Disks)
	}
	return n
}

// zeroChecksum is the hex SHA-256 of size zero bytes.
func zeroChecksum(size int64) string {
	h := sha256.New()
	_, _ = io.CopyN(h, zeroReader{}, size)
	return hex.EncodeToString(h.Sum(nil))
}

type zeroReader struct{}

func (zeroReader) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

func TestManifestJSON(t *testing.T) {
	t.Parallel()
	f := setup(t, lab.Config{VMs: 1})
	b, err := json.Marshal(f.lab.Manifest())
	if err != nil {
		t.Fatal(err)
	}
	var raw struct {
		VMs []map[string]json.RawMessage `json:"vms"`
	}
	if err := json.Unmarshal(b, &raw); err != nil || len(raw.VMs) != 1 {
		t.Fatalf("decoding %s: %v", b, err)
	}
	for _, k := range []string{"name", "vmware_vm_id", "os", "firmware", "register", "source_disks"} {
		if _, ok := raw.VMs[0][k]; !ok {
			t.Errorf("manifest VM lacks %q: %s", k, b)
		}
	}
	var reg map[string]any
	if err := json.Unmarshal(raw.VMs[0]["register"], &reg); err != nil {
		t.Fatal(err)
	}
	keys := func(m map[string]any) []string {
		var ks []string
		for k := range m {
			ks = append(ks, k)
		}
		slices.Sort(ks)
		return ks
	}
	first := func(k string) map[string]any { return reg[k].([]any)[0].(map[string]any) }
	for _, c := range []struct {
		got  []string
		want []string
	}{
		{keys(reg), []string{"datacenter", "disks", "network_mappings", "nics", "vcenter_host", "vm_name", "vmware_vm_id"}},
		{keys(first("disks")), []string{"change_id", "disk_key", "last_synced_at", "replica_nbd_uri", "source_nbd_uri", "volume_id"}},
		{keys(first("nics")), []string{"mac_address", "source_network_name"}},
		{keys(first("network_mappings")), []string{"destination_network_id", "destination_network_name", "mapping_type", "source_network_name"}},
	} {
		if !slices.Equal(c.got, c.want) {
			t.Errorf("keys %v, want %v", c.got, c.want)
		}
	}
	var back lab.Manifest
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if b2, _ := json.Marshal(back); !bytes.Equal(b, b2) {
		t.Errorf("manifest does not survive a round trip:\n%s\n%s", b, b2)
	}

	env := map[string]string{}
	for _, kv := range f.lab.Env() {
		k, v, _ := strings.Cut(kv, "=")
		env[k] = v
	}
	for _, k := range []string{"FAILOVER_VCENTER_URL", "FAILOVER_VCENTER_USER", "FAILOVER_VCENTER_PASSWORD",
		"FAILOVER_CLOUDSTACK_URL", "FAILOVER_CLOUDSTACK_API_KEY", "FAILOVER_CLOUDSTACK_SECRET_KEY",
		"FAILOVER_CLOUDSTACK_ZONE_ID", "FAILOVER_CLOUDSTACK_TEMPLATE_ID", "FAILOVER_APPLIANCE_VM_ID"} {
		if env[k] == "" {
			t.Errorf("env lacks %s: %v", k, env)
		}
	}
	if env["FAILOVER_VCENTER_INSECURE"] != "true" || env["FAILOVER_APPLIANCE_VM_ID"] != f.lab.ApplianceVMID {
		t.Errorf("env = %v", env)
	}
}

func TestWriteSourceIsTheOnlyChange(t *testing.T) {
	t.Parallel()
	f := setup(t, lab.Config{VMs: 4, Seed: 3})
	vm := f.lab.VMs[0]
	const off, n = 5<<20 + 4096, 12 << 10
	data := bytes.Repeat([]byte("changed!"), n/8)
	if err := f.lab.WriteSource(f.ctx, vm.Name, 0, off, data); err != nil {
		t.Fatalf("WriteSource: %v", err)
	}
	// All VMs at once, as the engine queries them.
	var wg sync.WaitGroup
	for _, v := range f.lab.VMs {
		wg.Go(func() {
			for i, d := range v.Disks {
				got, err := f.vc.ChangedAreas(f.ctx, v.UUID, d.Key, d.ChangeID)
				if err != nil {
					t.Errorf("%s disk %d: ChangedAreas: %v", v.Name, i, err)
					return
				}
				var want []vsphere.Extent
				if v.Name == vm.Name && i == 0 {
					want = []vsphere.Extent{{Offset: off, Length: n}}
				}
				if !slices.Equal(got.Extents, want) || got.DiskSize != d.SizeBytes || got.ChangeID == d.ChangeID && want != nil {
					t.Errorf("%s disk %d: changed areas %+v (change id %s → %s), want %+v", v.Name, i, got.Extents, d.ChangeID, got.ChangeID, want)
				}
			}
		})
	}
	wg.Wait()
	if err := f.lab.WriteSource(f.ctx, vm.Name, 0, vm.Disks[0].SizeBytes-1, data); err == nil {
		t.Error("WriteSource past the end of the disk succeeded")
	}
	if err := f.lab.WriteSource(f.ctx, "nope", 0, 0, data); err == nil {
		t.Error("WriteSource to an unknown VM succeeded")
	}
}

func TestCloseLeavesNoProcess(t *testing.T) {
	t.Parallel()
	f := setup(t, lab.Config{VMs: 2})
	pids := f.lab.PIDs()
	var disks int
	for _, vm := range f.lab.VMs {
		disks += len(vm.Disks)
	}
	running := nbdkitProcesses(t, f.lab.Dir)
	slices.Sort(pids)
	slices.Sort(running)
	if len(pids) != 2*disks || !slices.Equal(pids, running) {
		t.Fatalf("lab started nbdkit %v for %d disks; running in %s: %v", pids, disks, f.lab.Dir, running)
	}
	f.lab.Close()
	if left := nbdkitProcesses(t, f.lab.Dir); len(left) != 0 {
		t.Errorf("nbdkit processes left after Close: %v", left)
	}
	for _, pid := range pids {
		if _, err := os.Stat(filepath.Join("/proc", strconv.Itoa(pid))); err == nil {
			t.Errorf("nbdkit %d still exists after Close", pid)
		}
	}
	f.lab.Close() // idempotent
}

func TestStartRefusesABadConfig(t *testing.T) {
	t.Parallel()
	for _, cfg := range []lab.Config{{VMs: -1}, {DiskSize: 1000}, {CloudStackAddr: "nowhere"}} {
		if l, err := lab.Start(t.Context(), cfg); err == nil {
			l.Close()
			t.Errorf("Start(%+v) succeeded", cfg)
		}
	}
}

func TestTwentyVMs(t *testing.T) {
	t.Parallel()
	start := time.Now()
	f := setup(t, lab.Config{VMs: 20, DiskSize: 8 << 20, Seed: 42})
	if len(f.lab.VMs) != 20 {
		t.Fatalf("%d VMs in %s", len(f.lab.VMs), time.Since(start))
	}
	seen := map[string]bool{}
	for i, vm := range f.lab.VMs {
		if want := "pgtest" + strconv.Itoa(i+1); vm.Name != want {
			t.Errorf("VM %d is %s, want %s", i, vm.Name, want)
		}
		for _, s := range []string{vm.Name, vm.UUID} {
			if seen[s] {
				t.Errorf("%s twice", s)
			}
			seen[s] = true
		}
		for _, n := range vm.NICs {
			if seen[n.MAC] {
				t.Errorf("MAC %s twice", n.MAC)
			}
			seen[n.MAC] = true
		}
		for _, d := range vm.Disks {
			dev := "device " + strconv.Itoa(d.DeviceID)
			if seen[d.VolumeID] || seen[dev] || d.SizeBytes != 8<<20 {
				t.Errorf("%s: disk %+v repeats a volume or device id", vm.Name, d)
			}
			seen[d.VolumeID], seen[dev] = true, true
		}
	}
}
