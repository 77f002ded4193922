package api_test

import (
	"strings"
	"testing"
	"time"
)

// rpoCheck returns the rpo check of a plan's pre-flight.
func rpoCheck(t *testing.T, plan map[string]any) map[string]any {
	t.Helper()
	pf, _ := plan["preflight"].(map[string]any)
	checks, _ := pf["checks"].([]any)
	for _, c := range checks {
		if c := c.(map[string]any); c["name"] == "rpo" {
			return c
		}
	}
	t.Fatalf("no rpo check in the plan's pre-flight: %v", pf)
	return nil
}

// TestRPOBeyondTargetNeedsAcceptance: a VM whose replica is older than
// its target is warned in a test pre-flight and refused in a live one
// (even with skip_validation) unless accept_rpo; the acceptance is
// audited with the RPO; after the live failover's final sync the VM's
// RPO reads near zero. The VM's own target changes the verdict.
func TestRPOBeyondTargetNeedsAcceptance(t *testing.T) {
	t.Parallel()
	f := setupFull(t)
	vm := f.lab.VMs[0]
	expect := func(want int, code int, body map[string]any, what string) {
		t.Helper()
		if code != want {
			t.Fatalf("%s: %d %v, want %d", what, code, body, want)
		}
	}

	// Registered from the lab's manifest: in sync, against the default.
	code, body := f.call(viewerToken, "GET", "/api/v1/contexts/"+vm.Name, "")
	expect(200, code, body, "context")
	if body["replication_state"] != "in_sync" || body["rpo_target_seconds"] != float64(900) || body["rpo_seconds"] == nil {
		t.Fatalf("a VM registered in sync: %v", body)
	}

	old := time.Now().Add(-2 * time.Hour).UTC()
	code, body = f.call(operatorToken, "PATCH", "/api/v1/contexts/"+vm.Name,
		mustJSON(map[string]any{"disks": []any{map[string]any{"disk_key": vm.Disks[0].Key, "last_synced_at": old.Format(time.RFC3339)}}}))
	expect(200, code, body, "setting a sync time 2h ago")
	if rpo, _ := body["rpo_seconds"].(float64); body["replication_state"] != "behind" || rpo < 7200 || rpo > 7300 {
		t.Fatalf("after a sync 2h ago: %v", body)
	}

	// A test failover is warned, and still runs.
	code, body = f.call(operatorToken, "POST", "/api/v1/failover/unified", `{"vm_name":"`+vm.Name+`","failover_type":"test","dry_run":true}`)
	expect(200, code, body, "test dry run")
	plan := body["plan"].(map[string]any)
	if c := rpoCheck(t, plan); c["status"] != "warn" || c["hard"] == true || !strings.Contains(c["message"].(string), "2h0m") {
		t.Fatalf("test pre-flight's rpo check: %v", c)
	}
	if pf := plan["preflight"].(map[string]any); pf["passed"] != true {
		t.Fatalf("a warning does not fail a test pre-flight: %v", pf)
	}

	// A live one is refused, naming what accepts it; skip_validation does not.
	for _, extra := range []string{"", `,"skip_validation":true`} {
		code, body = f.call(adminToken, "POST", "/api/v1/failover/unified",
			`{"vm_name":"`+vm.Name+`","failover_type":"live","confirm":"`+vm.Name+`"`+extra+`}`)
		expect(409, code, body, "live failover beyond the target"+extra)
		msg, _ := body["error"].(string)
		for _, want := range []string{"rpo: ", "2h0m", "15m0s", "FAILOVER_RPO_TARGET", "accept_rpo", "disk " + mustJSON(vm.Disks[0].Key)} {
			if !strings.Contains(msg, want) {
				t.Errorf("refusal%s should name %q: %s", extra, want, msg)
			}
		}
	}
	code, body = f.call(viewerToken, "GET", "/api/v1/failover/jobs?vm="+vm.Name, "")
	expect(200, code, body, "jobs")
	if jobs, _ := body["jobs"].([]any); len(jobs) != 0 {
		t.Fatalf("a refused failover started a job: %v", jobs)
	}

	// The VM's own target makes 2h acceptable; "default" clears it.
	code, body = f.call(operatorToken, "PATCH", "/api/v1/contexts/"+vm.Name, `{"rpo_target":"3h"}`)
	expect(200, code, body, "a 3h target")
	if body["replication_state"] != "in_sync" || body["rpo_target_seconds"] != float64(3*3600) {
		t.Fatalf("with a 3h target: %v", body)
	}
	code, body = f.call(adminToken, "POST", "/api/v1/failover/unified", `{"vm_name":"`+vm.Name+`","failover_type":"live","dry_run":true}`)
	expect(200, code, body, "live dry run within the VM's target")
	if c := rpoCheck(t, body["plan"].(map[string]any)); c["status"] != "pass" || !strings.Contains(c["message"].(string), "rpo_target") {
		t.Fatalf("rpo check within the VM's own target: %v", c)
	}
	code, body = f.call(operatorToken, "PATCH", "/api/v1/contexts/"+vm.Name, `{"rpo_target":"default"}`)
	expect(200, code, body, "back to the default target")
	if body["replication_state"] != "behind" || body["rpo_target_seconds"] != float64(900) {
		t.Fatalf("back to the default target: %v", body)
	}

	// Accepted: it runs, and the audit has the acceptance with the RPO.
	code, body = f.call(adminToken, "POST", "/api/v1/failover/unified",
		`{"vm_name":"`+vm.Name+`","failover_type":"live","accept_rpo":true,"confirm":"`+vm.Name+`"}`)
	expect(202, code, body, "live failover accepting the RPO")
	if c := rpoCheck(t, body["plan"].(map[string]any)); c["status"] != "warn" || !strings.Contains(c["message"].(string), "accepted") {
		t.Fatalf("accepted rpo check: %v", c)
	}
	job := body["job_id"].(string)
	if j := f.wait(job); j["status"] != "completed" {
		t.Fatalf("live failover: %v", j)
	}
	code, body = f.call(viewerToken, "GET", "/api/v1/audit?vm="+vm.Name+"&decision=accept-rpo", "")
	expect(200, code, body, "audit")
	ds, _ := body["decisions"].([]any)
	if len(ds) != 1 {
		t.Fatalf("accept-rpo decisions: %v", body)
	}
	d := ds[0].(map[string]any)
	choice := d["choice"].(map[string]any)
	if rpo, _ := choice["rpo_seconds"].(float64); d["actor"] != "ada" || d["job_id"] != job || choice["needed"] != true ||
		choice["state"] != "behind" || rpo < 7200 || choice["target_seconds"] != float64(900) ||
		choice["oldest_disk"] != float64(vm.Disks[0].Key) || choice["check"] == nil {
		t.Fatalf("accept-rpo decision: %v", d)
	}

	// The final sync brought every replica up to date.
	code, body = f.call(viewerToken, "GET", "/api/v1/contexts/"+vm.Name, "")
	expect(200, code, body, "context after the live failover")
	if rpo, ok := body["rpo_seconds"].(float64); !ok || rpo >= 60 || body["replication_state"] != "in_sync" {
		t.Fatalf("RPO after the final sync: %v (state %v)", body["rpo_seconds"], body["replication_state"])
	}
	for _, dk := range body["disks"].([]any) {
		at, err := time.Parse(time.RFC3339, dk.(map[string]any)["last_synced_at"].(string))
		if err != nil || time.Since(at) > time.Minute {
			t.Fatalf("disk after the final sync: %v (%v)", dk, err)
		}
	}
}
