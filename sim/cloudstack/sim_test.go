package cloudstack_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	cs "github.com/apache/cloudstack-go/v2/cloudstack"

	sim "github.com/ossea/unifiedfailover/sim/cloudstack"
)

type fixture struct {
	sim       *sim.Sim
	url       string
	zone      sim.Zone
	net1      sim.Network
	net2      sim.Network
	offering  sim.ServiceOffering
	blank     sim.Template
	rooted    sim.Template
	appliance sim.VM
}

func setup(t *testing.T) *fixture { t.Helper(); return setupWith(t, nil) }

// setupWith is setup with the config changed by edit first.
func setupWith(t *testing.T, edit func(*sim.Config)) *fixture {
	t.Helper()
	dir := t.TempDir()
	cfg := sim.Config{APIKey: "key", SecretKey: "secret", DataDir: dir, JobDuration: 5 * time.Millisecond}
	if edit != nil {
		edit(&cfg)
	}
	s := sim.New(cfg)
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(srv.Close)
	t.Cleanup(s.Close)
	f := &fixture{sim: s, url: srv.URL + "/client/api"}
	f.zone = s.AddZone(sim.Zone{Name: "zone1"})
	f.net1 = s.AddNetwork(sim.Network{Name: "prod", Type: "Isolated", ZoneID: f.zone.ID, CIDR: "10.0.0.0/24"})
	f.net2 = s.AddNetwork(sim.Network{Name: "test", Type: "L2", ZoneID: f.zone.ID})
	f.offering = s.AddServiceOffering(sim.ServiceOffering{Name: "2c4g", CPUs: 2, MemoryMB: 4096})
	f.blank = s.AddTemplate(sim.Template{Name: "blank", ZoneID: f.zone.ID})
	f.rooted = s.AddTemplate(sim.Template{Name: "debian", ZoneID: f.zone.ID, SizeBytes: 1 << 30})
	f.appliance = s.AddVM(sim.VM{Name: "appliance", ZoneID: f.zone.ID, ServiceOfferingID: f.offering.ID,
		NICs: []sim.NIC{{NetworkID: f.net1.ID}}})
	return f
}

// call sends a signed request (as cloudstack-go does) and returns the HTTP
// status and the inner response object.
func (f *fixture) call(t *testing.T, secret, command string, params map[string]string) (int, map[string]any) {
	t.Helper()
	v := url.Values{}
	for k, val := range params {
		v.Set(k, val)
	}
	v.Set("apiKey", "key")
	v.Set("command", command)
	v.Set("response", "json")
	v.Set("signatureversion", "3")
	v.Set("expires", time.Now().UTC().Add(time.Minute).Format(time.RFC3339))
	v.Set("signature", sim.Sign(v, secret))
	resp, err := http.PostForm(f.url, v)
	if err != nil {
		t.Fatalf("%s: %v", command, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var env map[string]map[string]any
	if err := json.Unmarshal(b, &env); err != nil {
		t.Fatalf("%s: decoding %s: %v", command, b, err)
	}
	if len(env) != 1 {
		t.Fatalf("%s: want exactly one top-level key, got %s", command, b)
	}
	return resp.StatusCode, env[strings.ToLower(command)+"response"]
}

// job starts an async command and waits for its end; it returns the
// final queryAsyncJobResult object.
func (f *fixture) job(t *testing.T, command string, params map[string]string) map[string]any {
	t.Helper()
	status, r := f.call(t, "secret", command, params)
	if status != http.StatusOK {
		t.Fatalf("%s: HTTP %d: %v", command, status, r)
	}
	jobID, _ := r["jobid"].(string)
	if jobID == "" || r["id"] == nil {
		t.Fatalf("%s: want id and jobid at once, got %v", command, r)
	}
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(2 * time.Millisecond) {
		_, q := f.call(t, "secret", "queryAsyncJobResult", map[string]string{"jobid": jobID})
		if q["jobstatus"].(float64) != 0 {
			return q
		}
	}
	t.Fatalf("%s: job %s did not finish", command, jobID)
	return nil
}

func jobErrorCode(t *testing.T, q map[string]any) (int, string) {
	t.Helper()
	if q["jobstatus"].(float64) != 2 {
		t.Fatalf("want failed job, got %v", q)
	}
	res := q["jobresult"].(map[string]any)
	return int(res["errorcode"].(float64)), res["errortext"].(string)
}

func resultObject(t *testing.T, q map[string]any, key string) map[string]any {
	t.Helper()
	if q["jobstatus"].(float64) != 1 {
		t.Fatalf("want successful job, got %v", q)
	}
	res := q["jobresult"].(map[string]any)
	if len(res) != 1 {
		t.Fatalf("jobresult must have one key, got %v", res)
	}
	return res[key].(map[string]any)
}

func TestWrongSignatureGets401(t *testing.T) {
	t.Parallel()
	f := setup(t)
	status, r := f.call(t, "wrong-secret", "listZones", nil)
	if status != http.StatusUnauthorized {
		t.Fatalf("status = %d, want 401", status)
	}
	if r["errorcode"].(float64) != 401 || r["errortext"] != "unable to verify user credentials and/or request signature" {
		t.Fatalf("body = %v", r)
	}
	// Raw body exactly as CloudStack's.
	resp, err := http.Get(f.url + "?command=listZones&apiKey=key&response=json&signature=bad")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	want := `{"listzonesresponse":{"errorcode":401,"errortext":"unable to verify user credentials and/or request signature"}}`
	if string(b) != want {
		t.Fatalf("body = %s, want %s", b, want)
	}
	// The real library with a wrong secret sees the same.
	bad := cs.NewClient(f.url, "key", "nope", false)
	if _, err := bad.Zone.ListZones(bad.Zone.NewListZonesParams()); err == nil || !strings.Contains(err.Error(), "401") {
		t.Fatalf("library error = %v, want 401", err)
	}
}

func TestExpiredSignatureRefused(t *testing.T) {
	t.Parallel()
	f := setup(t)
	v := url.Values{"apiKey": {"key"}, "command": {"listZones"}, "response": {"json"}, "signatureversion": {"3"},
		"expires": {time.Now().Add(-time.Minute).UTC().Format(time.RFC3339)}}
	v.Set("signature", sim.Sign(v, "secret"))
	resp, err := http.PostForm(f.url, v)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("status = %d, want 401", resp.StatusCode)
	}
}

func TestLibraryAsyncClientDeployStartStop(t *testing.T) {
	t.Parallel()
	f := setup(t)
	f.sim.SetJobDuration(300 * time.Millisecond)
	// The synchronous client returns the job id at once.
	sync := cs.NewClient(f.url, "key", "secret", false)
	p := sync.VirtualMachine.NewDeployVirtualMachineParams(f.offering.ID, f.rooted.ID, f.zone.ID)
	p.SetName("web1")
	p.SetStartvm(false)
	p.SetIptonetworklist([]map[string]string{{"networkid": f.net1.ID, "mac": "02:aa:bb:cc:dd:01"}, {"networkid": f.net2.ID}})
	r, err := sync.VirtualMachine.DeployVirtualMachine(p)
	if err != nil {
		t.Fatal(err)
	}
	if r.JobID == "" || r.Id == "" {
		t.Fatalf("want id and jobid, got %+v", r)
	}
	q, err := sync.Asyncjob.QueryAsyncJobResult(sync.Asyncjob.NewQueryAsyncJobResultParams(r.JobID))
	if err != nil {
		t.Fatal(err)
	}
	if q.Jobstatus != 0 {
		t.Fatalf("job status right after deploy = %d, want 0 (pending)", q.Jobstatus)
	}

	// The async client waits for the job and reads the result.
	async := cs.NewAsyncClient(f.url, "key", "secret", false)
	vms, err := async.VirtualMachine.ListVirtualMachines(async.VirtualMachine.NewListVirtualMachinesParams())
	if err != nil {
		t.Fatal(err)
	}
	if vms.Count != 2 {
		t.Fatalf("count = %d, want 2 (appliance + web1)", vms.Count)
	}
	st, err := async.VirtualMachine.StartVirtualMachine(async.VirtualMachine.NewStartVirtualMachineParams(r.Id))
	if err != nil {
		t.Fatal(err)
	}
	if st.State != "Running" || st.Name != "web1" || len(st.Nic) != 2 || st.Nic[0].Macaddress != "02:aa:bb:cc:dd:01" {
		t.Fatalf("started VM = %+v", st)
	}
	sp, err := async.VirtualMachine.StopVirtualMachine(async.VirtualMachine.NewStopVirtualMachineParams(r.Id))
	if err != nil {
		t.Fatal(err)
	}
	if sp.State != "Stopped" {
		t.Fatalf("stopped VM state = %s", sp.State)
	}
	if n := f.sim.Calls("queryAsyncJobResult"); n < 3 {
		t.Fatalf("queryAsyncJobResult calls = %d, want the client to have polled", n)
	}
}

func TestStateRules(t *testing.T) {
	t.Parallel()
	f := setup(t)
	blankVM := f.deploy(t, "blank-vm", f.blank.ID, false)
	rootVM := f.deploy(t, "root-vm", f.rooted.ID, false)
	for _, id := range []string{blankVM, rootVM} {
		if r := f.rootOf(t, id); r.DeviceID != 0 || r.State != sim.VolumeAllocated {
			t.Fatalf("root volume %+v, want Allocated at 0", r)
		}
	}

	// Duplicate name: refused at once with 431.
	status, r := f.call(t, "secret", "deployVirtualMachine", map[string]string{
		"serviceofferingid": f.offering.ID, "templateid": f.blank.ID, "zoneid": f.zone.ID, "name": "blank-vm",
		"iptonetworklist[0].networkid": f.net1.ID,
	})
	if status != 431 || r["errorcode"].(float64) != 431 {
		t.Fatalf("duplicate name: %d %v", status, r)
	}
	// Unknown id: 431.
	if status, _ := f.call(t, "secret", "startVirtualMachine", map[string]string{"id": "nope"}); status != 431 {
		t.Fatalf("unknown VM: status %d", status)
	}
	// The engine's flow: detach the template's ROOT, delete it, attach the
	// replica at device 0, start.
	root := f.rootOf(t, blankVM)
	resultObject(t, f.job(t, "detachVolume", map[string]string{"id": root.ID}), "volume")
	if status, _ := f.call(t, "secret", "deleteVolume", map[string]string{"id": root.ID}); status != 200 {
		t.Fatalf("delete template root: %d", status)
	}
	// A VM without disk at device 0 cannot start.
	if code, _ := jobErrorCode(t, f.job(t, "startVirtualMachine", map[string]string{"id": blankVM})); code != 530 {
		t.Fatalf("start without boot disk: code %d", code)
	}
	vol := f.sim.AddVolume(sim.VolumeSpec{Name: "replica0", SizeBytes: 1 << 20, ZoneID: f.zone.ID})
	if err := f.sim.AttachVolumeDirect(vol.ID, f.appliance.ID, 1); err != nil {
		t.Fatal(err)
	}
	resultObject(t, f.job(t, "detachVolume", map[string]string{"id": vol.ID}), "volume")
	att := resultObject(t, f.job(t, "attachVolume", map[string]string{"id": vol.ID, "virtualmachineid": blankVM, "deviceid": "0"}), "volume")
	if att["deviceid"].(float64) != 0 || att["virtualmachineid"] != blankVM || att["type"] != "ROOT" {
		t.Fatalf("attached = %v", att)
	}
	resultObject(t, f.job(t, "startVirtualMachine", map[string]string{"id": blankVM}), "virtualmachine")
	// Start only from Stopped.
	if code, _ := jobErrorCode(t, f.job(t, "startVirtualMachine", map[string]string{"id": blankVM})); code != 530 {
		t.Fatalf("start running VM: %d", code)
	}
	resultObject(t, f.job(t, "stopVirtualMachine", map[string]string{"id": blankVM}), "virtualmachine")
	snap := resultObject(t, f.job(t, "createSnapshot", map[string]string{"volumeid": vol.ID}), "snapshot")
	resultObject(t, f.job(t, "revertSnapshot", map[string]string{"id": snap["id"].(string)}), "snapshot")
	resultObject(t, f.job(t, "destroyVirtualMachine", map[string]string{"id": blankVM, "expunge": "true"}), "virtualmachine")
	if _, ok := f.sim.VM(blankVM); ok {
		t.Fatal("expunged VM still present")
	}
	q := f.job(t, "deleteSnapshot", map[string]string{"id": snap["id"].(string)})
	if q["jobstatus"].(float64) != 1 || q["jobresult"].(map[string]any)["success"] != true {
		t.Fatalf("delete snapshot: %v", q)
	}
	if len(f.sim.Snapshots()) != 0 {
		t.Fatal("snapshot not deleted")
	}
}

func TestFaultInjection(t *testing.T) {
	t.Parallel()
	f := setup(t)
	f.sim.FailNext("listZones", 1, 503, "Service Unavailable")
	if status, _ := f.call(t, "secret", "listZones", nil); status != 503 {
		t.Fatalf("status = %d, want 503", status)
	}
	if status, r := f.call(t, "secret", "listZones", nil); status != 200 || r["count"].(float64) != 1 {
		t.Fatalf("after fault: %d %v", status, r)
	}
	f.sim.SetFaultRate("*", 1, 502)
	if status, _ := f.call(t, "secret", "listNetworks", nil); status != 502 {
		t.Fatalf("fault rate: status = %d", status)
	}
	f.sim.SetFaultRate("*", 0, 0)
	f.sim.SetLatency("listNetworks", 30*time.Millisecond)
	start := time.Now()
	f.call(t, "secret", "listNetworks", nil)
	if time.Since(start) < 30*time.Millisecond {
		t.Fatal("latency not applied")
	}
	f.sim.SetHang("listTemplates", true)
	hc := &http.Client{Timeout: 50 * time.Millisecond}
	v := url.Values{"apiKey": {"key"}, "command": {"listTemplates"}, "response": {"json"}, "templatefilter": {"all"}}
	v.Set("signature", sim.Sign(v, "secret"))
	if _, err := hc.Get(f.url + "?" + v.Encode()); err == nil {
		t.Fatal("hang: want client timeout")
	}
	if f.sim.Calls("listzones") != 2 {
		t.Fatalf("calls = %d", f.sim.Calls("listZones"))
	}
}

func TestHoldKeepsRequestsWaitingUntilReleased(t *testing.T) {
	t.Parallel()
	f := setup(t)
	answered := func() chan int {
		ch := make(chan int, 1)
		go func() {
			status, _ := f.call(t, "secret", "listZones", nil)
			ch <- status
		}()
		return ch
	}
	release := f.sim.Hold("listZones")
	held := answered()
	select {
	case status := <-held:
		t.Fatalf("a held request was answered (%d) before its release", status)
	case <-time.After(200 * time.Millisecond):
	}
	if status, _ := f.call(t, "secret", "listNetworks", nil); status != 200 {
		t.Fatalf("another command, while listZones is held: status %d", status)
	}
	release()
	release() // a second call is harmless
	if status := <-held; status != 200 {
		t.Fatalf("after release: status %d, want 200", status)
	}
	if status := <-answered(); status != 200 {
		t.Fatalf("a request after the release: status %d", status)
	}

	_ = f.sim.Hold("*")
	held = answered()
	select {
	case status := <-held:
		t.Fatalf("held by \"*\": answered %d", status)
	case <-time.After(100 * time.Millisecond):
	}
	f.sim.ClearFaults()
	if status := <-held; status != 200 {
		t.Fatalf("after ClearFaults: status %d, want 200", status)
	}
}
