package api_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/ossea/unifiedfailover/api/apiv1"
)

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// TestEveryEndpointMatchesOpenAPI walks every documented operation with
// real requests (a test failover and its rollback by an operator, a live
// failover and its commit by an admin) and checks every answer against
// the OpenAPI document.
func TestEveryEndpointMatchesOpenAPI(t *testing.T) {
	t.Parallel()
	f := setupFull(t)
	vm1, vm2, vm3 := f.lab.VMs[0], f.lab.VMs[1], f.lab.VMs[2]
	ctx1, ctx2, ctx3 := f.contexts[vm1.Name], f.contexts[vm2.Name], f.contexts[vm3.Name]
	src1 := url.PathEscape(vm1.NICs[0].NetworkName)
	expect := func(want int, code int, body map[string]any, what string) {
		t.Helper()
		if code != want {
			t.Fatalf("%s: %d %v, want %d", what, code, body, want)
		}
	}

	// Public routes.
	for _, p := range []string{"/healthz", "/readyz", "/api/v1/openapi.json"} {
		code, body := f.call("", "GET", p, "")
		expect(200, code, body, p)
	}
	if code, _ := f.raw("", "GET", "/metrics", "", nil); code != 200 {
		t.Fatalf("/metrics: %d", code)
	}

	// Contexts, jobs and probes.
	code, body := f.call(viewerToken, "GET", "/api/v1/contexts", "")
	expect(200, code, body, "contexts")
	code, body = f.call(viewerToken, "GET", "/api/v1/contexts/"+vm1.Name, "")
	expect(200, code, body, "context by name")
	code, body = f.call(operatorToken, "POST", "/api/v1/probe", `{"context_id":"`+ctx3+`"}`)
	expect(202, code, body, "probe")
	f.wait(body["job_id"].(string))

	// Recovery plans: create, read, validate, edit under If-Match, delete.
	planSpec := func(maxParallel int) string {
		return mustJSON(map[string]any{"name": "shop", "max_parallel_vms": maxParallel, "waves": []any{
			map[string]any{"name": "db", "members": []any{map[string]any{"vm": vm1.Name},
				map[string]any{"vm": ctx2, "id": "app", "depends_on": []any{map[string]any{"member": vm1.Name}}}}},
			map[string]any{"name": "web", "members": []any{map[string]any{"vm": vm3.Name, "readiness": map[string]any{"type": "tcp", "address": "web:443"}}}},
		}})
	}
	code, hdr, raw := f.send(operatorToken, "POST", "/api/v1/plans", planSpec(4), nil)
	if code != 201 || hdr.Get("ETag") != `"v1"` {
		t.Fatalf("create plan: %d %s %s", code, hdr.Get("ETag"), raw)
	}
	var plan map[string]any
	_ = json.Unmarshal(raw, &plan)
	planID := plan["id"].(string)
	code, body = f.call(viewerToken, "GET", "/api/v1/plans", "")
	expect(200, code, body, "plans")
	if ps := body["plans"].([]any); len(ps) != 1 || ps[0].(map[string]any)["id"] != planID {
		t.Fatalf("plans: %v", body)
	}
	code, hdr, raw = f.send(viewerToken, "GET", "/api/v1/plans/shop", "", nil)
	if code != 200 || hdr.Get("ETag") != `"v1"` || !strings.Contains(string(raw), `"max_parallel_vms":4`) {
		t.Fatalf("plan by name: %d %s %s", code, hdr.Get("ETag"), raw)
	}
	code, body = f.call(viewerToken, "POST", "/api/v1/plans/"+planID+"/validate", "")
	expect(200, code, body, "validate for both modes")
	if body["valid"] != true || len(body["blockers"].([]any)) != 0 {
		t.Fatalf("the lab's registered VMs should make a valid plan: %v", body)
	}
	code, body = f.call(viewerToken, "POST", "/api/v1/plans/shop/validate", `{"mode":"test"}`)
	expect(200, code, body, "validate for a test run")
	code, hdr, raw = f.send(operatorToken, "PUT", "/api/v1/plans/"+planID, planSpec(8), http.Header{"If-Match": {`"v1"`}})
	if code != 200 || hdr.Get("ETag") != `"v2"` || !strings.Contains(string(raw), `"version":2`) {
		t.Fatalf("update plan: %d %s %s", code, hdr.Get("ETag"), raw)
	}
	code, _, raw = f.send(operatorToken, "PUT", "/api/v1/plans/"+planID, planSpec(2), http.Header{"If-Match": {`"v1"`}})
	if code != 412 || !strings.Contains(string(raw), `"version":2`) || !strings.Contains(string(raw), "precondition_failed") {
		t.Fatalf("stale update: %d %s", code, raw)
	}
	code, body = f.call(operatorToken, "PUT", "/api/v1/plans/"+planID, planSpec(2))
	expect(428, code, body, "update without If-Match")
	code, body = f.call(operatorToken, "DELETE", "/api/v1/plans/"+planID, "")
	expect(403, code, body, "delete plan by an operator")
	code, body = f.call(adminToken, "DELETE", "/api/v1/plans/shop", "")
	expect(204, code, body, "delete plan")
	code, body = f.call(viewerToken, "GET", "/api/v1/plans/"+planID, "")
	expect(404, code, body, "deleted plan")
	// A recovery plan run (test mode) of the third VM, its reads, the
	// operator's choices it refuses in its state, and its rollback.
	runPlan, err := f.store.CreateRecoveryPlan(f.ctx, apiv1.PlanSpec{Name: "one", TargetRTOSeconds: 600,
		Waves: []apiv1.Wave{{Members: []apiv1.Member{{ID: "m", VM: vm3.Name}}}}}, "ada")
	if err != nil {
		t.Fatal(err)
	}
	code, body = f.call(operatorToken, "POST", "/api/v1/plans/"+runPlan.ID+"/runs", `{"mode":"test"}`)
	expect(202, code, body, "plan run")
	runID := body["id"].(string)
	run := f.waitPlanRun(runID, apiv1.RunCompleted, apiv1.RunFailed, apiv1.RunHalted)
	if run.Status != apiv1.RunCompleted {
		t.Fatalf("plan run: %+v", run)
	}
	code, body = f.call(viewerToken, "GET", "/api/v1/plan-runs/"+runID+"/events", "")
	expect(200, code, body, "plan run events")
	code, body = f.call(viewerToken, "GET", "/api/v1/plan-runs/"+runID+"/report", "")
	expect(200, code, body, "plan run report")
	code, body = f.call(operatorToken, "POST", "/api/v1/plan-runs/"+runID+"/retry", `{"members":["m"]}`)
	expect(409, code, body, "retry of a ready member")
	code, body = f.call(operatorToken, "POST", "/api/v1/plan-runs/"+runID+"/skip", `{"members":["m"]}`)
	expect(409, code, body, "skip of a completed run")
	code, body = f.call(operatorToken, "POST", "/api/v1/plan-runs/"+runID+"/continue", "")
	expect(409, code, body, "continue of a completed run")
	code, body = f.call(operatorToken, "POST", "/api/v1/plan-runs/"+runID+"/cancel", "")
	expect(409, code, body, "cancel of a completed run")
	code, body = f.call(operatorToken, "POST", "/api/v1/plan-runs/"+runID+"/rollback", "")
	expect(202, code, body, "plan run rollback")
	if run = f.waitPlanRun(runID, apiv1.RunRolledBack, apiv1.RunFailed); run.Status != apiv1.RunRolledBack {
		t.Fatalf("plan run rollback: %+v", run)
	}

	// Network mappings.
	code, body = f.call(viewerToken, "GET", "/api/v1/network-mappings", "")
	expect(200, code, body, "all mappings")
	code, body = f.call(viewerToken, "GET", "/api/v1/network-mappings/"+vm1.Name, "")
	expect(200, code, body, "mappings by name")
	code, body = f.call(viewerToken, "GET", "/api/v1/network-mappings/"+vm1.Name+"/status", "")
	expect(200, code, body, "mapping status")
	if body["test_complete"] != true || body["live_complete"] != true {
		t.Fatalf("registered VM should have complete mappings: %v", body)
	}
	code, body = f.call(viewerToken, "GET", "/api/v1/network-mappings/context/"+ctx1, "")
	expect(200, code, body, "mappings by context")
	code, body = f.call(viewerToken, "GET", "/api/v1/network-mappings/context/"+ctx1+"/"+src1, "")
	expect(200, code, body, "mappings of one source network")

	test1, live1 := vm1.TestMappings[0], vm1.LiveMappings[0]
	legacy := map[string]any{"vm_name": vm1.Name, "source_network_name": test1.SourceNetworkName,
		"destination_network_id": test1.DestinationNetworkID, "is_test_network": true}
	code, body = f.call(operatorToken, "POST", "/api/v1/network-mappings", mustJSON(legacy))
	expect(201, code, body, "legacy create")
	if body["destination_network_name"] != test1.DestinationNetworkName || body["mapping_type"] != "test" {
		t.Fatalf("legacy create: %v", body)
	}
	// Delete the live mapping by VM name: the status shows it missing.
	code, body = f.call(operatorToken, "DELETE", "/api/v1/network-mappings/"+vm1.Name+"/"+src1+"?mapping_type=live", "")
	expect(200, code, body, "legacy delete")
	_, body = f.call(viewerToken, "GET", "/api/v1/network-mappings/"+vm1.Name+"/status", "")
	if body["live_complete"] != false || !reflect.DeepEqual(body["missing_live"], []any{vm1.NICs[0].NetworkName}) {
		t.Fatalf("status after deleting the live mapping: %v", body)
	}
	one := map[string]any{"destination_network_id": live1.DestinationNetworkID, "mapping_type": "live"}
	code, body = f.call(operatorToken, "PUT", "/api/v1/network-mappings/context/"+ctx1+"/"+src1, mustJSON(one))
	expect(200, code, body, "targeted put")
	code, body = f.call(operatorToken, "POST", "/api/v1/network-mappings/context/"+ctx1+"/"+src1, mustJSON(one))
	expect(200, code, body, "targeted post")
	var all []map[string]any
	for _, set := range []struct {
		typ string
		ms  any
	}{{"test", vm1.TestMappings}, {"live", vm1.LiveMappings}} {
		raw, _ := json.Marshal(set.ms)
		var ms []map[string]any
		_ = json.Unmarshal(raw, &ms)
		for _, m := range ms {
			all = append(all, map[string]any{"source_network_name": m["SourceNetworkName"],
				"destination_network_id": m["DestinationNetworkID"], "mapping_type": set.typ})
		}
	}
	code, body = f.call(operatorToken, "POST", "/api/v1/network-mappings/context/"+ctx1, mustJSON(map[string]any{"mappings": all}))
	expect(200, code, body, "bulk upsert")
	code, body = f.call(operatorToken, "PUT", "/api/v1/network-mappings/context/"+ctx1, mustJSON(map[string]any{"mappings": all}))
	expect(200, code, body, "bulk replace")
	if n := len(body["mappings"].([]any)); n != len(all) {
		t.Fatalf("bulk replace stored %d mappings, want %d", n, len(all))
	}
	code, body = f.call(operatorToken, "DELETE", "/api/v1/network-mappings/context/"+ctx3+"?mapping_type=live", "")
	expect(200, code, body, "delete by type")
	code, body = f.call(operatorToken, "DELETE", "/api/v1/network-mappings/context/"+ctx3+"/"+url.PathEscape(vm3.NICs[0].NetworkName), "")
	expect(200, code, body, "targeted delete")

	// The CloudStack catalog.
	code, body = f.call(viewerToken, "GET", "/api/v1/networks/available", "")
	expect(200, code, body, "networks")
	nets := body["networks"].([]any)
	code, body = f.call(viewerToken, "GET", "/api/v1/networks/available?proposed_test=true", "")
	expect(200, code, body, "proposed test networks")
	for _, n := range body["networks"].([]any) {
		if n.(map[string]any)["proposed_test"] != true {
			t.Fatalf("proposed_test filter let through %v", n)
		}
	}
	if len(body["networks"].([]any)) == 0 || len(body["networks"].([]any)) == len(nets) {
		t.Fatalf("the lab has test and production networks; got %d of %d proposed", len(body["networks"].([]any)), len(nets))
	}
	code, body = f.call(viewerToken, "POST", "/api/v1/networks/resolve", mustJSON(map[string]any{"names": []string{live1.DestinationNetworkName, "no-such-net"}}))
	expect(200, code, body, "resolve")
	if r := body["networks"].([]any)[0].(map[string]any); r["id"] != live1.DestinationNetworkID {
		t.Fatalf("resolve: %v", body)
	}
	code, body = f.call(viewerToken, "GET", "/api/v1/service-offerings/available?vm="+vm1.Name, "")
	expect(200, code, body, "offerings")
	code, body = f.call(viewerToken, "GET", "/api/v1/inventory/vms", "")
	expect(200, code, body, "inventory")
	if vms := body["vms"].([]any); len(vms) != len(f.lab.VMs) || vms[0].(map[string]any)["protected"] != true {
		t.Fatalf("inventory: %v", body)
	}

	// Pre-flight, readiness and decisions before any failover.
	code, body = f.call(viewerToken, "GET", "/api/v1/failover/preflight/config/test/"+vm1.Name, "")
	expect(200, code, body, "preflight config")
	if d := body["defaults"].(map[string]any); d["naming_strategy"] != "suffixed" || d["network_strategy"] != "isolated" ||
		body["preflight"].(map[string]any)["passed"] != true {
		t.Fatalf("preflight config: %v", body)
	}
	code, body = f.call(viewerToken, "GET", "/api/v1/failover/preflight/config/live/"+ctx2, "")
	expect(200, code, body, "preflight config live")
	code, body = f.call(viewerToken, "POST", "/api/v1/failover/preflight/validate", `{"vm_name":"`+vm1.Name+`","failover_type":"test"}`)
	expect(200, code, body, "validate")
	if body["valid"] != true {
		t.Fatalf("validate: %v", body)
	}
	code, body = f.call(viewerToken, "GET", "/api/v1/failover/"+vm1.Name+"/readiness", "")
	expect(200, code, body, "readiness")
	code, body = f.call(viewerToken, "GET", "/api/v1/failover/rollback/decision/test/"+vm1.Name, "")
	expect(200, code, body, "rollback decision, no failover")
	if body["can_rollback"] != false {
		t.Fatalf("nothing to roll back yet: %v", body)
	}

	// A test failover and its rollback, by an operator.
	code, body = f.call(operatorToken, "POST", "/api/v1/failover/unified", `{"vm_name":"`+vm1.Name+`","failover_type":"test","dry_run":true}`)
	expect(200, code, body, "dry run")
	code, body = f.call(operatorToken, "POST", "/api/v1/failover/unified", `{"vm_name":"`+vm1.Name+`","failover_type":"test"}`)
	expect(202, code, body, "test failover")
	testJob := body["job_id"].(string)
	if job := f.wait(testJob); job["status"] != "completed" {
		t.Fatalf("test failover: %v", job)
	}
	code, body = f.call(viewerToken, "GET", "/api/v1/failover/"+testJob+"/status", "")
	expect(200, code, body, "status")
	code, body = f.call(viewerToken, "GET", "/api/v1/jobs/"+testJob+"/events", "")
	expect(200, code, body, "events")
	code, body = f.call(viewerToken, "GET", "/api/v1/failover/jobs?vm="+vm1.Name+"&type=test&status=completed&limit=5", "")
	expect(200, code, body, "job list")
	if js := body["jobs"].([]any); len(js) != 1 || js[0].(map[string]any)["job_id"] != testJob {
		t.Fatalf("job list: %v", body)
	}
	code, body = f.call(viewerToken, "GET", "/api/v1/failover/rollback/decision/test/"+vm1.Name, "")
	expect(200, code, body, "rollback decision")
	if body["can_rollback"] != true || len(body["steps"].([]any)) == 0 {
		t.Fatalf("rollback decision after a test failover: %v", body)
	}
	code, body = f.call(operatorToken, "POST", "/api/v1/failover/"+testJob+"/retry", "")
	expect(409, code, body, "retry of a completed failover")
	code, body = f.call(operatorToken, "POST", "/api/v1/failover/"+testJob+"/cancel", `{"reason":"too late"}`)
	expect(409, code, body, "cancel of a completed failover")
	// The existing dashboard's request shapes: the VM by its VMware UUID,
	// vm_naming, network_mappings as an object; a rollback naming the
	// wrong failover type is refused.
	dash := map[string]any{"vmware_vm_id": vm2.UUID, "failover_type": "test", "vm_naming": "exact", "dry_run": true,
		"network_mappings": map[string]string{vm2.NICs[0].NetworkName: vm2.TestMappings[0].DestinationNetworkID}}
	for _, n := range vm2.NICs[1:] {
		dash["network_mappings"].(map[string]string)[n.NetworkName] = vm2.TestMappings[0].DestinationNetworkID
	}
	code, body = f.call(operatorToken, "POST", "/api/v1/failover/unified", mustJSON(dash))
	expect(200, code, body, "dashboard-shaped dry run")
	if p := body["plan"].(map[string]any); p["vm_name"] != vm2.Name || p["config"].(map[string]any)["destination_vm_name"] != vm2.Name ||
		p["config"].(map[string]any)["network_strategy"] != "custom" {
		t.Fatalf("dashboard-shaped dry run: %v", body)
	}
	code, body = f.call(operatorToken, "POST", "/api/v1/failover/rollback", `{"vm_id":"`+vm1.Name+`","failover_type":"live"}`)
	expect(409, code, body, "rollback naming the wrong failover type")
	// A forced cleanup goes past errors: admin and the VM's name.
	code, body = f.call(operatorToken, "POST", "/api/v1/failover/rollback", `{"vm_name":"`+vm1.Name+`","force_cleanup":true,"confirm":"`+vm1.Name+`"}`)
	expect(403, code, body, "forced cleanup by an operator")
	code, body = f.call(adminToken, "POST", "/api/v1/failover/rollback", `{"vm_name":"`+vm1.Name+`","force_cleanup":true}`)
	expect(428, code, body, "forced cleanup without approval")
	code, body = f.call(operatorToken, "POST", "/api/v1/failover/rollback", `{"vm_name":"`+vm1.Name+`","reason":"drill over"}`)
	expect(202, code, body, "rollback")
	if job := f.wait(body["job_id"].(string)); job["status"] != "completed" {
		t.Fatalf("rollback: %v", job)
	}

	// A live failover needs an admin and the VM's name, then a commit.
	code, body = f.call(adminToken, "POST", "/api/v1/failover/unified", `{"vm_name":"`+vm2.Name+`","failover_type":"live"}`)
	expect(428, code, body, "live without approval")
	code, body = f.call(adminToken, "POST", "/api/v1/failover/unified", `{"vm_name":"`+vm2.Name+`","failover_type":"live","confirm":"`+vm2.Name+`"}`)
	expect(202, code, body, "live failover")
	liveJob := body["job_id"].(string)
	if job := f.wait(liveJob); job["status"] != "completed" {
		t.Fatalf("live failover: %v", job)
	}
	code, body = f.call(viewerToken, "GET", "/api/v1/failover/rollback/decision/live/"+vm2.Name, "")
	expect(200, code, body, "live decision")
	if body["can_commit"] != true || body["approval_required"] != true {
		t.Fatalf("live decision: %v", body)
	}
	code, body = f.call(adminToken, "POST", "/api/v1/failover/"+liveJob+"/commit", "")
	expect(428, code, body, "commit without approval")
	code, body = f.call(operatorToken, "POST", "/api/v1/failover/"+liveJob+"/commit", `{"confirm":"`+vm2.Name+`"}`)
	expect(403, code, body, "commit by an operator")
	code, body = f.call(adminToken, "POST", "/api/v1/failover/"+liveJob+"/commit", `{"confirm":"`+vm2.Name+`"}`)
	expect(202, code, body, "commit")
	if job := f.wait(body["job_id"].(string)); job["status"] != "completed" {
		t.Fatalf("commit: %v", job)
	}

	// The live workers and what they can run, as their heartbeats say.
	w := beat(t, f.ctx, f.store, "true")
	code, body = f.call(viewerToken, "GET", "/api/v1/workers", "")
	expect(200, code, body, "workers")
	if ws := body["workers"].([]any); len(ws) != 1 || ws[0].(map[string]any)["id"] != w.ID ||
		ws[0].(map[string]any)["capabilities"].(map[string]any)["virtio"].(map[string]any)["available"] != true {
		t.Fatalf("workers: %v", body)
	}

	// The audit has every decision with its actor.
	code, body = f.call(viewerToken, "GET", "/api/v1/audit?limit=200", "")
	expect(200, code, body, "audit")
	actors := map[string]map[string]bool{}
	for _, d := range body["decisions"].([]any) {
		d := d.(map[string]any)
		if actors[d["actor"].(string)] == nil {
			actors[d["actor"].(string)] = map[string]bool{}
		}
		actors[d["actor"].(string)][d["decision"].(string)] = true
	}
	for actor, kinds := range map[string][]string{"otto": {"register", "network-mapping-upsert", "network-mapping-replace",
		"network-mapping-delete", "failover-options", "rollback", "plan-create", "plan-update"}, "ada": {"approval", "commit", "plan-delete"}} {
		for _, k := range kinds {
			if !actors[actor][k] {
				t.Errorf("audit lacks %s's %s decision: %v", actor, k, actors)
			}
		}
	}
	code, body = f.call(viewerToken, "GET", "/api/v1/audit?vm="+vm2.Name+"&decision=commit", "")
	expect(200, code, body, "audit filtered")
	if len(body["decisions"].([]any)) != 1 {
		t.Fatalf("audit filter: %v", body)
	}

	// A living record: refresh, update, unregister (admin).
	code, body = f.call(operatorToken, "POST", "/api/v1/contexts/"+vm1.Name+"/refresh", "")
	expect(200, code, body, "refresh")
	code, body = f.call(operatorToken, "PATCH", "/api/v1/contexts/"+vm1.Name, `{"status":"replicating"}`)
	expect(200, code, body, "update to replicating")
	code, body = f.call(operatorToken, "PATCH", "/api/v1/contexts/"+vm1.Name, `{"status":"completed"}`)
	expect(400, code, body, "update to a status the replication side does not set")
	code, body = f.call(operatorToken, "DELETE", "/api/v1/contexts/"+vm2.Name, "")
	expect(403, code, body, "unregister by an operator")
	code, body = f.call(adminToken, "DELETE", "/api/v1/contexts/"+vm2.Name, "")
	expect(204, code, body, "unregister")

	if missing := f.uncovered("/api/v1/drills", "/monitoring"); len(missing) > 0 {
		t.Fatalf("operations without a validated answer:\n%s", strings.Join(missing, "\n"))
	}
}

// TestRefusalsChangeNothing sends bad input and requests the token does
// not allow: each gets its 400/401/403/404/413 with a JSON error naming the
// field, and the database is the same before and after.
func TestRefusalsChangeNothing(t *testing.T) {
	t.Parallel()
	f := setupFull(t)
	vm1, vm2 := f.lab.VMs[0], f.lab.VMs[1]
	ctx1 := f.contexts[vm1.Name]
	src1 := url.PathEscape(vm1.NICs[0].NetworkName)
	net1 := vm1.TestMappings[0].DestinationNetworkID
	long := strings.Repeat("a", 300)
	disk1 := mustJSON(vm1.Disks[0].Key)
	future := time.Now().Add(5 * time.Minute).UTC().Format(time.RFC3339)
	huge := `{"mappings":[` + strings.Repeat(`{"source_network_name":"x","destination_network_id":"y","mapping_type":"test"},`, 2000) + `{}]}`
	// A plan to refuse edits of.
	goodPlan := `{"name":"shop","waves":[{"members":[{"vm":"` + vm1.Name + `"}]}]}`
	if code, body := f.call(operatorToken, "POST", "/api/v1/plans", goodPlan); code != 201 {
		t.Fatalf("creating a plan: %d %v", code, body)
	}
	cycle := `{"name":"loop","waves":[{"members":[{"vm":"a","depends_on":[{"member":"c"}]},{"vm":"b","depends_on":[{"member":"a"}]},{"vm":"c","depends_on":[{"member":"b"}]}]}]}`
	across := `{"name":"across","waves":[{"members":[{"vm":"db"}]},{"members":[{"vm":"app","depends_on":[{"member":"db"}]}]}]}`
	plan, err := f.store.CreateRecoveryPlan(f.ctx, apiv1.PlanSpec{Name: "refused",
		Waves: []apiv1.Wave{{Members: []apiv1.Member{{VM: vm1.Name}}}}}, "ada")
	if err != nil {
		t.Fatal(err)
	}
	runs := "/api/v1" + "/plans/" + plan.ID + "/runs"
	noRun := "/api/v1" + "/plan-runs/00000000-0000-0000-0000-000000000000"
	before := f.dbState()

	type tc struct {
		name, token, method, path, body string
		code                            int
		field                           string
	}
	V := "/api/v1"
	cases := []tc{
		// Authentication and roles.
		{"no token", "", "GET", V + "/contexts", "", 401, ""},
		{"wrong token", "uft_wrong", "GET", V + "/failover/jobs", "", 401, ""},
		{"no token, workers", "", "GET", V + "/workers", "", 401, ""},
		{"no token, mutation", "", "POST", V + "/failover/unified", `{"vm_name":"` + vm1.Name + `","failover_type":"test"}`, 401, ""},
		{"viewer test failover", viewerToken, "POST", V + "/failover/unified", `{"vm_name":"` + vm1.Name + `","failover_type":"test"}`, 403, ""},
		{"viewer rollback", viewerToken, "POST", V + "/failover/rollback", `{"vm_name":"` + vm1.Name + `"}`, 403, ""},
		{"viewer probe", viewerToken, "POST", V + "/probe", "", 403, ""},
		{"viewer register", viewerToken, "POST", V + "/contexts", `{}`, 403, ""},
		{"viewer retry", viewerToken, "POST", V + "/failover/x/retry", "", 403, ""},
		{"viewer commit", viewerToken, "POST", V + "/failover/x/commit", "", 403, ""},
		{"viewer mapping", viewerToken, "POST", V + "/network-mappings/context/" + ctx1, `{"mappings":[]}`, 403, ""},
		{"viewer legacy mapping", viewerToken, "POST", V + "/network-mappings", `{}`, 403, ""},
		{"viewer mapping delete", viewerToken, "DELETE", V + "/network-mappings/" + vm1.Name + "/" + src1, "", 403, ""},
		{"viewer mapping put", viewerToken, "PUT", V + "/network-mappings/context/" + ctx1 + "/" + src1, `{}`, 403, ""},
		{"operator live failover", operatorToken, "POST", V + "/failover/unified", `{"vm_name":"` + vm2.Name + `","failover_type":"live","confirm":"` + vm2.Name + `"}`, 403, ""},
		// Safety by effect: a test failover never touches the source, and
		// an operator may not run what changes production.
		{"test failover that powers off the source", operatorToken, "POST", V + "/failover/unified", `{"vm_name":"` + vm1.Name + `","failover_type":"test","power_off_source":true}`, 400, "power_off_source"},
		{"test failover with a final sync, by an admin", adminToken, "POST", V + "/failover/unified", `{"vm_name":"` + vm1.Name + `","failover_type":"test","power_off_source":true,"perform_final_sync":true,"confirm":"` + vm1.Name + `"}`, 400, "power_off_source"},
		{"operator test failover on production networks", operatorToken, "POST", V + "/failover/unified", `{"vm_name":"` + vm1.Name + `","failover_type":"test","network_strategy":"production"}`, 403, ""},
		{"commit of no job", operatorToken, "POST", V + "/failover/x/commit", `{"confirm":"x"}`, 404, ""},
		{"commit, bad body", adminToken, "POST", V + "/failover/x/commit", `{"confirm":1}`, 400, "confirm"},
		// Malformed bodies.
		{"malformed JSON", operatorToken, "POST", V + "/failover/unified", `{"vm_name":`, 400, ""},
		{"not JSON", operatorToken, "POST", V + "/network-mappings", `vm=1`, 400, ""},
		{"empty body", operatorToken, "POST", V + "/network-mappings/context/" + ctx1, ``, 400, ""},
		{"trailing data", viewerToken, "POST", V + "/networks/resolve", `{"name":"a"} {}`, 400, ""},
		{"unknown field", operatorToken, "POST", V + "/failover/unified", `{"vm_name":"` + vm1.Name + `","failover_type":"test","bogus":1}`, 400, "bogus"},
		{"unknown nested field", operatorToken, "POST", V + "/network-mappings/context/" + ctx1, `{"mappings":[{"source_network_name":"a","destination_network_id":"b","mapping_type":"test"},{"source_network_name":"c","destination_network_id":"b","mapping_type":"test","x":1}]}`, 400, "mappings[1].x"},
		{"wrong type", operatorToken, "POST", V + "/failover/unified", `{"vm_name":5,"failover_type":"test"}`, 400, "vm_name"},
		{"wrong type bool", operatorToken, "POST", V + "/failover/unified", `{"vm_name":"` + vm1.Name + `","failover_type":"test","power_off_source":"yes"}`, 400, "power_off_source"},
		{"wrong type nested", operatorToken, "POST", V + "/network-mappings/context/" + ctx1, `{"mappings":[{"source_network_name":"a","destination_network_id":"b","mapping_type":"test"},{"source_network_name":7}]}`, 400, "mappings[1].source_network_name"},
		{"wrong type array", operatorToken, "POST", V + "/network-mappings/context/" + ctx1, `{"mappings":{}}`, 400, "mappings"},
		{"missing failover type", operatorToken, "POST", V + "/failover/unified", `{"vm_name":"` + vm1.Name + `"}`, 400, "failover_type"},
		{"missing vm", viewerToken, "POST", V + "/failover/preflight/validate", `{"failover_type":"test"}`, 400, "context_id"},
		{"missing mappings", operatorToken, "POST", V + "/network-mappings/context/" + ctx1, `{}`, 400, "mappings"},
		{"missing source network", operatorToken, "POST", V + "/network-mappings", `{"vm_name":"` + vm1.Name + `","destination_network_id":"` + net1 + `","mapping_type":"test"}`, 400, "source_network_name"},
		{"missing destination", operatorToken, "POST", V + "/network-mappings/context/" + ctx1, `{"mappings":[{"source_network_name":"a","mapping_type":"test"}]}`, 400, "mappings[0].destination_network_id"},
		{"missing mapping type", operatorToken, "PUT", V + "/network-mappings/context/" + ctx1 + "/" + src1, `{"destination_network_id":"` + net1 + `"}`, 400, "mapping_type"},
		{"duplicate mapping", operatorToken, "PUT", V + "/network-mappings/context/" + ctx1, `{"mappings":[{"source_network_name":"a","destination_network_id":"` + net1 + `","mapping_type":"test"},{"source_network_name":"a","destination_network_id":"` + net1 + `","mapping_type":"test"}]}`, 400, "mappings[1]"},
		{"unknown destination network", operatorToken, "POST", V + "/network-mappings/context/" + ctx1, `{"mappings":[{"source_network_name":"a","destination_network_id":"` + net1 + `","mapping_type":"test"},{"source_network_name":"b","destination_network_id":"nope","mapping_type":"live"}]}`, 400, "mappings[1].destination_network_id"},
		{"nothing to resolve", viewerToken, "POST", V + "/networks/resolve", `{}`, 400, "names"},
		// Invalid enum values.
		{"bad failover type", operatorToken, "POST", V + "/failover/unified", `{"vm_name":"` + vm1.Name + `","failover_type":"prod"}`, 400, "failover_type"},
		{"bad network strategy", viewerToken, "POST", V + "/failover/preflight/validate", `{"vm_name":"` + vm1.Name + `","failover_type":"test","network_strategy":"dmz"}`, 400, "network_strategy"},
		{"sync without power-off", operatorToken, "POST", V + "/failover/unified", `{"vm_name":"` + vm1.Name + `","failover_type":"test","perform_final_sync":true}`, 400, "perform_final_sync"},
		{"bad shutdown timeout", operatorToken, "POST", V + "/failover/unified", `{"vm_name":"` + vm1.Name + `","failover_type":"test","shutdown_timeout":"forever"}`, 400, "shutdown_timeout"},
		{"sync time in the future", operatorToken, "PATCH", V + "/contexts/" + vm1.Name, `{"disks":[{"disk_key":` + disk1 + `,"last_synced_at":"` + future + `"}]}`, 400, "disks[0].last_synced_at"},
		{"sync time not a time", operatorToken, "PATCH", V + "/contexts/" + vm1.Name, `{"disks":[{"disk_key":` + disk1 + `,"last_synced_at":"yesterday"}]}`, 400, ""},
		{"sync time in the future at registration", operatorToken, "POST", V + "/contexts", `{"vmware_vm_id":"x","disks":[{"disk_key":1,"volume_id":"v","last_synced_at":"` + future + `"}]}`, 400, "disks[0].last_synced_at"},
		{"RPO target too short", operatorToken, "PATCH", V + "/contexts/" + vm1.Name, `{"rpo_target":"30s"}`, 400, "rpo_target"},
		{"RPO target too long", operatorToken, "PATCH", V + "/contexts/" + vm1.Name, `{"rpo_target":"200h"}`, 400, "rpo_target"},
		{"RPO target not a duration", operatorToken, "PATCH", V + "/contexts/" + vm1.Name, `{"rpo_target":"900"}`, 400, "rpo_target"},
		{"RPO target with a good sync time", operatorToken, "PATCH", V + "/contexts/" + vm1.Name, `{"disks":[{"disk_key":` + disk1 + `,"last_synced_at":"2020-01-01T00:00:00Z"}],"rpo_target":"soon"}`, 400, "rpo_target"},
		{"bad mapping type", operatorToken, "POST", V + "/network-mappings", `{"vm_name":"` + vm1.Name + `","source_network_name":"a","destination_network_id":"` + net1 + `","mapping_type":"prod"}`, 400, "mapping_type"},
		{"contradicting legacy type", operatorToken, "POST", V + "/network-mappings", `{"vm_name":"` + vm1.Name + `","source_network_name":"a","destination_network_id":"` + net1 + `","mapping_type":"live","is_test_network":true}`, 400, "is_test_network"},
		{"bad path type", viewerToken, "GET", V + "/failover/preflight/config/prod/" + vm1.Name, "", 400, "failover_type"},
		{"bad decision type", viewerToken, "GET", V + "/failover/rollback/decision/both/" + vm1.Name, "", 400, "failover_type"},
		{"bad status filter", viewerToken, "GET", V + "/failover/jobs?status=done", "", 400, "status"},
		{"bad type filter", viewerToken, "GET", V + "/failover/jobs?type=prod", "", 400, "type"},
		{"bad limit", viewerToken, "GET", V + "/failover/jobs?limit=0", "", 400, "limit"},
		{"bad offset", viewerToken, "GET", V + "/audit?offset=-1", "", 400, "offset"},
		{"bad since", viewerToken, "GET", V + "/audit?since=yesterday", "", 400, "since"},
		{"unknown query parameter", viewerToken, "GET", V + "/failover/jobs?colour=red", "", 400, "colour"},
		{"repeated query parameter", viewerToken, "GET", V + "/network-mappings?mapping_type=live&mapping_type=test", "", 400, "mapping_type"},
		{"bad readiness type", viewerToken, "GET", V + "/failover/" + vm1.Name + "/readiness?failover_type=x", "", 400, "failover_type"},
		{"bad proposed_test", viewerToken, "GET", V + "/networks/available?proposed_test=maybe", "", 400, "proposed_test"},
		{"bad cpu count", viewerToken, "GET", V + "/service-offerings/available?cpu_count=many", "", 400, "cpu_count"},
		{"bad protected filter", viewerToken, "GET", V + "/inventory/vms?protected=maybe", "", 400, "protected"},
		{"register by UUID and path", operatorToken, "POST", V + "/contexts", `{"vmware_vm_id": "x", "inventory_path": "/DC0/vm/x"}`, 400, "inventory_path"},
		{"mapping type filter on delete", operatorToken, "DELETE", V + "/network-mappings/context/" + ctx1 + "?mapping_type=both", "", 400, "mapping_type"},
		// Unknown ids.
		{"unknown vm", viewerToken, "GET", V + "/failover/preflight/config/test/nosuchvm", "", 404, ""},
		{"unknown vm readiness", viewerToken, "GET", V + "/failover/nosuchvm/readiness", "", 404, ""},
		{"unknown vm decision", viewerToken, "GET", V + "/failover/rollback/decision/test/nosuchvm", "", 404, ""},
		{"unknown vm mappings", viewerToken, "GET", V + "/network-mappings/nosuchvm", "", 404, ""},
		{"unknown vm status", viewerToken, "GET", V + "/network-mappings/nosuchvm/status", "", 404, ""},
		{"unknown context", operatorToken, "POST", V + "/network-mappings/context/ctx-nope", `{"mappings":[{"source_network_name":"a","destination_network_id":"` + net1 + `","mapping_type":"test"}]}`, 404, ""},
		{"unknown context replace", operatorToken, "PUT", V + "/network-mappings/context/ctx-nope", `{"mappings":[]}`, 404, ""},
		{"unknown legacy vm", operatorToken, "POST", V + "/network-mappings", `{"vm_name":"nosuchvm","source_network_name":"a","destination_network_id":"` + net1 + `","mapping_type":"test"}`, 404, ""},
		{"unknown source network", viewerToken, "GET", V + "/network-mappings/context/" + ctx1 + "/nosuchnet", "", 404, ""},
		{"delete unknown source network", operatorToken, "DELETE", V + "/network-mappings/context/" + ctx1 + "/nosuchnet", "", 404, ""},
		{"delete unknown legacy", operatorToken, "DELETE", V + "/network-mappings/" + vm1.Name + "/nosuchnet", "", 404, ""},
		{"unknown job", viewerToken, "GET", V + "/failover/nosuchjob/status", "", 404, ""},
		{"unknown job events", viewerToken, "GET", V + "/jobs/00000000-0000-0000-0000-000000000000/events", "", 404, ""},
		{"unknown job filter", viewerToken, "GET", V + "/failover/jobs?vm=nosuchvm", "", 404, ""},
		{"unknown audit vm", viewerToken, "GET", V + "/audit?vm=nosuchvm", "", 404, ""},
		{"unknown offering vm", viewerToken, "GET", V + "/service-offerings/available?vm=nosuchvm", "", 404, ""},
		{"unknown commit", adminToken, "POST", V + "/failover/nosuchjob/commit", "", 404, ""},
		{"unknown retry", adminToken, "POST", V + "/failover/nosuchjob/retry", "", 404, ""},
		{"rollback with nothing to roll back", operatorToken, "POST", V + "/failover/rollback", `{"vm_name":"` + vm1.Name + `"}`, 409, ""},
		// Plan runs.
		{"viewer plan run", viewerToken, "POST", runs, `{"mode":"test"}`, 403, ""},
		{"viewer plan run retry", viewerToken, "POST", noRun + "/retry", `{"members":["a"]}`, 403, ""},
		{"operator live plan run", operatorToken, "POST", runs, `{"mode":"live","confirm":"refused"}`, 403, ""},
		{"live plan run without confirm", adminToken, "POST", runs, `{"mode":"live"}`, 428, ""},
		{"live plan run, not implemented", adminToken, "POST", runs, `{"mode":"live","confirm":"refused"}`, 409, "mode"},
		{"bad plan run mode", operatorToken, "POST", runs, `{"mode":"prod"}`, 400, "mode"},
		{"plan run, unknown field", operatorToken, "POST", runs, `{"mode":"test","bogus":1}`, 400, "bogus"},
		{"run of an unknown plan", operatorToken, "POST", "/api/v1" + "/plans/nosuchplan/runs", `{"mode":"test"}`, 404, ""},
		{"unknown plan run", viewerToken, "GET", noRun, "", 404, ""},
		{"unknown plan run events", viewerToken, "GET", noRun + "/events", "", 404, ""},
		{"unknown plan run report", viewerToken, "GET", noRun + "/report", "", 404, ""},
		{"plan run, bad wait", viewerToken, "GET", noRun + "?wait=forever", "", 400, "wait"},
		{"retry in an unknown plan run", operatorToken, "POST", noRun + "/retry", `{"members":["a"]}`, 404, ""},
		{"cancel of an unknown plan run", operatorToken, "POST", noRun + "/cancel", "", 404, ""},
		// Path injection.
		{"dot dot", viewerToken, "GET", V + "/network-mappings/../status", "", 400, "vm"},
		{"escaped dot dot", viewerToken, "GET", V + "/network-mappings/%2e%2e/status", "", 400, "vm"},
		{"escaped slash", viewerToken, "GET", V + "/failover/preflight/config/test/..%2F..%2Fetc", "", 400, "vm"},
		{"escaped dot dot delete", operatorToken, "DELETE", V + "/network-mappings/" + vm1.Name + "/%2e%2e", "", 400, "source_network"},
		{"NUL in name", viewerToken, "GET", V + "/network-mappings/vm%00x", "", 400, "path"},
		{"NUL in source network", operatorToken, "PUT", V + "/network-mappings/context/" + ctx1 + "/a%00b", `{"destination_network_id":"` + net1 + `","mapping_type":"test"}`, 400, "path"},
		{"control character", viewerToken, "GET", V + "/failover/vm%0Ax/readiness", "", 400, "path"},
		{"NUL in a job id", viewerToken, "GET", V + "/failover/x%00y/status", "", 400, "path"},
		{"NUL in a context id", viewerToken, "GET", V + "/contexts/x%00y", "", 400, "path"},
		{"bidi override in a name", viewerToken, "GET", V + "/network-mappings/vm%E2%80%AEx", "", 400, "vm"},
		{"duplicate members by case", operatorToken, "POST", V + "/failover/unified", `{"vm_name":"` + vm1.Name + `","failover_type":"test","Failover_Type":"live"}`, 400, "Failover_Type"},
		{"duplicate nested members", operatorToken, "POST", V + "/network-mappings/context/" + ctx1, `{"mappings":[{"source_network_name":"a","SOURCE_network_name":"b","destination_network_id":"x","mapping_type":"test"}]}`, 400, "mappings[0].SOURCE_network_name"},
		{"very long name", viewerToken, "GET", V + "/failover/rollback/decision/test/" + long, "", 400, "vm"},
		{"very long body name", operatorToken, "POST", V + "/network-mappings", `{"vm_name":"` + long + `","source_network_name":"a","destination_network_id":"` + net1 + `","mapping_type":"test"}`, 400, "vm_name"},
		{"slash in body name", operatorToken, "POST", V + "/network-mappings/context/" + ctx1, `{"mappings":[{"source_network_name":"../../etc","destination_network_id":"` + net1 + `","mapping_type":"test"}]}`, 400, "mappings[0].source_network_name"},
		{"NUL in body name", operatorToken, "POST", V + "/failover/unified", `{"vm_name":"a\u0000b","failover_type":"test"}`, 400, "vm_name"},
		{"NUL in rollback", operatorToken, "POST", V + "/failover/rollback", `{"vm_name":"` + vm1.Name + `","reason":"a\u0000"}`, 400, "reason"},
		{"NUL in registration", operatorToken, "POST", V + "/contexts", `{"vmware_vm_id":"x\u0000","disks":[{"disk_key":1,"volume_id":"v"}]}`, 400, "vmware_vm_id"},
		{"NUL in nested body name", operatorToken, "POST", V + "/contexts", `{"vmware_vm_id":"x","disks":[{"disk_key":1,"volume_id":"v\u0000"}]}`, 400, "disks[0].volume_id"},
		{"bad UTF-8 escaped path", viewerToken, "GET", V + "/network-mappings/%ff%fe", "", 400, "vm"},
		// Recovery plans.
		{"viewer creates a plan", viewerToken, "POST", V + "/plans", goodPlan, 403, ""},
		{"viewer edits a plan", viewerToken, "PUT", V + "/plans/shop", goodPlan, 403, ""},
		{"operator deletes a plan", operatorToken, "DELETE", V + "/plans/shop", "", 403, ""},
		{"plan with a cycle", operatorToken, "POST", V + "/plans", cycle, 400, "waves[0].members"},
		{"plan with a dependency across waves", operatorToken, "POST", V + "/plans", across, 400, "waves[1].members[0].depends_on[0]"},
		{"plan without waves", operatorToken, "POST", V + "/plans", `{"name":"empty","waves":[]}`, 400, "waves"},
		{"plan with a bad hook", operatorToken, "POST", V + "/plans", `{"name":"h","waves":[{"members":[{"vm":"a","pre_power_on":[{"type":"webhook","url":"ftp://x"}]}]}]}`, 400, "waves[0].members[0].pre_power_on[0].url"},
		{"plan with an unknown field", operatorToken, "POST", V + "/plans", `{"name":"u","waves":[{"members":[{"vm":"a","boot_delay":30}]}]}`, 400, "waves[0].members[0].boot_delay"},
		{"plan named with a slash", operatorToken, "POST", V + "/plans", `{"name":"a/b","waves":[{"members":[{"vm":"a"}]}]}`, 400, "name"},
		{"plan named twice", operatorToken, "POST", V + "/plans", goodPlan, 409, ""},
		{"plan edit without If-Match", operatorToken, "PUT", V + "/plans/shop", goodPlan, 428, "If-Match"},
		{"unknown plan", viewerToken, "GET", V + "/plans/nosuchplan", "", 404, ""},
		{"unknown plan edit", operatorToken, "PUT", V + "/plans/nosuchplan", goodPlan, 404, ""},
		{"unknown plan delete", adminToken, "DELETE", V + "/plans/nosuchplan", "", 404, ""},
		{"unknown plan validate", viewerToken, "POST", V + "/plans/nosuchplan/validate", "", 404, ""},
		{"plan validate, bad mode", viewerToken, "POST", V + "/plans/shop/validate", `{"mode":"prod"}`, 400, "mode"},
		{"plan validate, unknown field", viewerToken, "POST", V + "/plans/shop/validate", `{"type":"test"}`, 400, "type"},
		// Oversized bodies.
		{"oversized bulk", operatorToken, "POST", V + "/network-mappings/context/" + ctx1, huge, 413, ""},
		{"oversized failover", operatorToken, "POST", V + "/failover/unified", `{"vm_name":"` + strings.Repeat("x", 70<<10) + `"}`, 413, ""},
	}
	for _, c := range cases {
		code, body := f.call(c.token, c.method, c.path, c.body)
		if code != c.code || body["error"] == nil || body["error"] == "" || body["code"] == nil {
			t.Errorf("%s: %s %s got %d %v, want %d with a JSON error", c.name, c.method, c.path, code, body, c.code)
			continue
		}
		if c.field != "" && body["field"] != c.field {
			t.Errorf("%s: the error should name field %q: %v", c.name, c.field, body)
		}
	}
	// A refused plan names the members at fault; edits need the current
	// version in If-Match.
	if _, body := f.call(operatorToken, "POST", V+"/plans", cycle); !strings.Contains(body["error"].(string), "a, c, b") ||
		len(body["details"].(map[string]any)["blockers"].([]any)) != 1 {
		t.Errorf("a cycle should be refused naming its members: %v", body)
	}
	for _, c := range []struct {
		ifMatch, body string
		code          int
		field         string
	}{
		{`"v2"`, goodPlan, 412, ""},
		{`v1`, goodPlan, 400, "If-Match"},
		{`"1"`, goodPlan, 400, "If-Match"},
		{`*`, goodPlan, 400, "If-Match"},
		{`"v1"`, cycle, 400, "waves[0].members"},
		{`"v1"`, `{"name":"shop","waves":[{"members":[{"vm":"a"}]}],"bogus":1}`, 400, "bogus"},
	} {
		code, raw := f.raw(operatorToken, "PUT", V+"/plans/shop", c.body, http.Header{"If-Match": {c.ifMatch}})
		var body map[string]any
		_ = json.Unmarshal(raw, &body)
		if code != c.code || (c.field != "" && body["field"] != c.field) {
			t.Errorf("PUT with If-Match %s: %d %s, want %d naming %q", c.ifMatch, code, raw, c.code, c.field)
		}
		if c.code == 412 && body["details"].(map[string]any)["version"] != float64(1) {
			t.Errorf("a stale edit should say the current version: %s", raw)
		}
	}
	// Only application/json is JSON: no Content-Type, or a lookalike, is 400.
	for _, ct := range []string{"", "application/jsonfoo", "text/plain"} {
		code, raw := f.raw(operatorToken, "POST", V+"/failover/unified", `{"vm_name":"`+vm1.Name+`","failover_type":"test"}`,
			http.Header{"Content-Type": {ct}})
		if code != 400 || !strings.Contains(string(raw), "Content-Type must be application/json") {
			t.Errorf("Content-Type %q: %d %s, want 400", ct, code, raw)
		}
	}
	// A chunked body over the limit (no Content-Length) is refused too.
	code, _ := f.raw(operatorToken, "POST", V+"/network-mappings/context/"+ctx1, huge, http.Header{"Transfer-Encoding": {"chunked"}})
	if code != 413 {
		t.Errorf("chunked oversized body: %d, want 413", code)
	}
	after := f.dbState()
	if !reflect.DeepEqual(before, after) {
		for k := range after {
			if before[k] != after[k] {
				t.Errorf("table %s changed: %s → %s", k, before[k], after[k])
			}
		}
		t.Fatal("refused requests changed the database")
	}
}
