package api_test

import (
	"context"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ossea/unifiedfailover/lab"
	"github.com/ossea/unifiedfailover/queue"
	"github.com/ossea/unifiedfailover/store"
	"github.com/ossea/unifiedfailover/tasks"
)

// preflightCheck returns the named check of a dry run's plan or of a
// refusal's details.
func preflightCheck(t *testing.T, body map[string]any, name string) map[string]any {
	t.Helper()
	var rep map[string]any
	if p, ok := body["plan"].(map[string]any); ok && p["preflight"] != nil {
		rep, _ = p["preflight"].(map[string]any)
	} else if d, ok := body["details"].(map[string]any); ok {
		rep, _ = d["preflight"].(map[string]any)
	}
	checks, _ := rep["checks"].([]any)
	for _, c := range checks {
		if c := c.(map[string]any); c["name"] == name {
			return c
		}
	}
	t.Fatalf("no %s check in %v", name, body)
	return nil
}

// beat records a heartbeat of a worker whose VirtIO command is command, as
// a worker process does, and removes it when the test ends.
func beat(t *testing.T, ctx context.Context, st *store.Store, command string) store.Worker {
	t.Helper()
	hb := &queue.Heartbeat{Store: st, Interval: time.Minute, Log: slog.New(slog.DiscardHandler),
		Detect: func() store.Capabilities { return tasks.DetectCapabilities(command) }}
	w, err := hb.Start(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.DeleteWorker(context.Background(), w.ID) })
	return w
}

// jobsOf counts the jobs of a context.
func jobsOf(t *testing.T, f *full, contextID string) int {
	t.Helper()
	jobs, err := f.store.ListJobs(f.ctx, store.JobFilter{ContextID: contextID})
	if err != nil {
		t.Fatal(err)
	}
	return len(jobs)
}

// A Windows VM's test failover when the live workers cannot run the
// VirtIO command is refused in pre-flight, before any job exists (so step
// 5, the injection, is never reached); skip_virtio, or one capable worker,
// lets it through.
func TestPreflightRefusesVirtioNoWorkerCanRun(t *testing.T) {
	t.Parallel()
	f := setupFull(t)
	var win lab.ManifestVM
	for _, vm := range f.lab.Manifest().VMs {
		if vm.OS == lab.OSWindows {
			win = vm
			break
		}
	}
	if win.Name == "" {
		t.Fatal("the lab has no Windows VM")
	}
	ctxID := f.contexts[win.Name]
	dry := `{"vm_name":"` + win.Name + `","failover_type":"test","dry_run":true}`

	// No worker has a heartbeat (this bundle's in-process worker does not
	// beat): a warning, the job would wait for a worker.
	code, body := f.call(operatorToken, "POST", "/api/v1/failover/unified", dry)
	if c := preflightCheck(t, body, "worker-capabilities"); code != 200 || c["status"] != "warn" || !strings.Contains(c["message"].(string), "no worker is live") {
		t.Fatalf("no live worker: %d %v", code, c)
	}

	missing := filepath.Join(t.TempDir(), "virt-v2v-in-place")
	w1 := beat(t, f.ctx, f.store, missing)
	w2 := beat(t, f.ctx, f.store, "no-such-virt-v2v-in-place")
	code, body = f.call(operatorToken, "POST", "/api/v1/failover/unified", dry)
	c := preflightCheck(t, body, "worker-capabilities")
	msg, _ := c["message"].(string)
	if code != 200 || c["status"] != "fail" || c["hard"] == true {
		t.Fatalf("dry run with incapable workers: %d %v", code, c)
	}
	for _, want := range []string{"skip_virtio", "FAILOVER_VIRTIO_COMMAND", "2 live worker(s), none can run the virtio-injection step",
		"worker " + w1.ID + ": " + missing + " (FAILOVER_VIRTIO_COMMAND) does not exist",
		"worker " + w2.ID + ": no-such-virt-v2v-in-place (FAILOVER_VIRTIO_COMMAND) is not found on PATH"} {
		if !strings.Contains(msg, want) {
			t.Errorf("the check's message lacks %q: %s", want, msg)
		}
	}
	code, body = f.call(operatorToken, "POST", "/api/v1/failover/unified", `{"vm_name":"`+win.Name+`","failover_type":"test"}`)
	errMsg, _ := body["error"].(string)
	if code != 409 || !strings.Contains(errMsg, "worker-capabilities") || !strings.Contains(errMsg, "skip_virtio") ||
		!strings.Contains(errMsg, "FAILOVER_VIRTIO_COMMAND") {
		t.Fatalf("start with incapable workers: %d %v", code, body)
	}
	if preflightCheck(t, body, "worker-capabilities")["status"] != "fail" {
		t.Fatalf("the refusal's report: %v", body)
	}
	if n := jobsOf(t, f, ctxID); n != 0 {
		t.Fatalf("a refused failover left %d job(s)", n)
	}

	// skip_virtio: the step is skipped, the check passes.
	code, body = f.call(operatorToken, "POST", "/api/v1/failover/unified",
		`{"vm_name":"`+win.Name+`","failover_type":"test","dry_run":true,"skip_virtio":true}`)
	if c := preflightCheck(t, body, "worker-capabilities"); code != 200 || c["status"] != "pass" ||
		!strings.Contains(c["message"].(string), "virtio-injection is skipped") {
		t.Fatalf("dry run with skip_virtio: %d %v", code, c)
	}

	// One capable worker among them is enough.
	w3 := beat(t, f.ctx, f.store, "true")
	code, body = f.call(operatorToken, "POST", "/api/v1/failover/unified", dry)
	if c := preflightCheck(t, body, "worker-capabilities"); code != 200 || c["status"] != "pass" ||
		!strings.Contains(c["message"].(string), "1 of 3 live worker(s) ("+w3.ID+")") {
		t.Fatalf("dry run with a capable worker: %d %v", code, c)
	}

	// A Linux VM needs no capability, whatever the workers report.
	for _, vm := range f.lab.Manifest().VMs {
		if vm.OS != lab.OSWindows {
			code, body = f.call(operatorToken, "POST", "/api/v1/failover/unified", `{"vm_name":"`+vm.Name+`","failover_type":"test","dry_run":true}`)
			if c := preflightCheck(t, body, "worker-capabilities"); code != 200 || c["status"] != "pass" ||
				!strings.Contains(c["message"].(string), "not a Windows guest") {
				t.Fatalf("dry run of Linux VM %s: %d %v", vm.Name, code, c)
			}
			break
		}
	}
}

// A stored test mapping of a network the VM has no NIC on fails a test
// failover's pre-flight, naming the mapping and the VM's NIC networks; a
// live failover does not use it and only warns.
func TestPreflightRefusesMappingOfAMissingNIC(t *testing.T) {
	t.Parallel()
	f := setupFull(t)
	vm := f.lab.Manifest().VMs[0]
	ctxID := f.contexts[vm.Name]
	var testNet string
	for _, m := range vm.Register.NetworkMappings {
		if m.MappingType == lab.MappingTest {
			testNet = m.DestinationNetworkID
		}
	}
	code, body := f.call(operatorToken, "POST", "/api/v1/failover/unified", `{"vm_name":"`+vm.Name+`","failover_type":"test","dry_run":true}`)
	if c := preflightCheck(t, body, "network-mappings"); code != 200 || c["status"] != "pass" {
		t.Fatalf("the lab's own mappings: %d %v", code, c)
	}
	code, body = f.call(operatorToken, "POST", "/api/v1/network-mappings/context/"+ctxID,
		`{"mappings":[{"source_network_name":"Ghost Network","destination_network_id":"`+testNet+`","mapping_type":"test"}]}`)
	if code/100 != 2 {
		t.Fatalf("saving the mapping: %d %v", code, body)
	}
	code, body = f.call(operatorToken, "POST", "/api/v1/failover/unified", `{"vm_name":"`+vm.Name+`","failover_type":"test","dry_run":true}`)
	c := preflightCheck(t, body, "network-mappings")
	msg, _ := c["message"].(string)
	if code != 200 || c["status"] != "fail" || !strings.Contains(msg, `the test mapping of "Ghost Network" (to `+testNet+`)`) ||
		!strings.Contains(msg, `its NICs are on "`+vm.Register.NICs[0].SourceNetworkName+`"`) {
		t.Fatalf("dry run with a mapping of a missing NIC: %d %v", code, c)
	}
	code, body = f.call(operatorToken, "POST", "/api/v1/failover/unified", `{"vm_name":"`+vm.Name+`","failover_type":"test"}`)
	if errMsg, _ := body["error"].(string); code != 409 || !strings.Contains(errMsg, "network-mappings") || !strings.Contains(errMsg, "Ghost Network") {
		t.Fatalf("start with a mapping of a missing NIC: %d %v", code, body)
	}
	if n := jobsOf(t, f, ctxID); n != 0 {
		t.Fatalf("a refused failover left %d job(s)", n)
	}
	code, body = f.call(adminToken, "POST", "/api/v1/failover/unified", `{"vm_name":"`+vm.Name+`","failover_type":"live","dry_run":true}`)
	if c := preflightCheck(t, body, "network-mappings"); code != 200 || c["status"] != "warn" || !strings.Contains(c["message"].(string), "Ghost Network") {
		t.Fatalf("a live dry run with a stray test mapping: %d %v", code, c)
	}
	// The request's own mapping of a NIC the VM does not have is refused.
	code, body = f.call(operatorToken, "POST", "/api/v1/failover/unified", `{"vm_name":"`+vm.Name+`","failover_type":"test","dry_run":true,`+
		`"network_mappings":[{"source_network_name":"Ghost Network","destination_network_id":"`+testNet+`"}]}`)
	if code != 400 || body["field"] != "network_mappings[0].source_network_name" {
		t.Fatalf("a custom mapping of a missing NIC: %d %v", code, body)
	}
}
