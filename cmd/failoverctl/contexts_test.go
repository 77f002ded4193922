package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/ossea/unifiedfailover/api/apiv1"
)

// failoverctl contexts VM shows the VM's network mappings.
func TestContextsShowsTheMappings(t *testing.T) {
	t.Parallel()
	base := stubAPI(t, map[string]any{"/api/v1/contexts/web-1": apiv1.ContextDetail{
		VMContext: apiv1.VMContext{ContextID: "ctx-web-1", VMName: "web-1", CurrentStatus: "ready_for_failover"},
		Mappings: []apiv1.NetworkMapping{
			{SourceNetworkName: "VM Network", DestinationNetworkID: "net-7", DestinationNetworkName: "prod-net", MappingType: "live"},
			{SourceNetworkName: "VM Network", DestinationNetworkID: "net-9", DestinationNetworkName: "drill-net", MappingType: "test"},
		}}})
	out := execute(t, base, false, (*app).contextsCmd, "web-1")
	for _, want := range []string{"mapping live: VM Network -> prod-net (net-7)", "mapping test: VM Network -> drill-net (net-9)"} {
		if !strings.Contains(out, want) {
			t.Fatalf("output lacks %q:\n%s", want, out)
		}
	}
}

// drills --json prints what the API sent, without zero values of members
// it left out.
func TestDrillsJSONPrintsWhatTheAPISent(t *testing.T) {
	t.Parallel()
	const body = `{"drills":[{"id":"d-1","name":"nightly","cron":"0 2 * * *"}]}`
	base := stubAPI(t, map[string]any{"/api/v1/drills": json.RawMessage(body)})
	out := execute(t, base, true, (*app).drillsCmd)
	var got, want any
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, out)
	}
	_ = json.Unmarshal([]byte(body), &want)
	if g, w := fmt.Sprint(got), fmt.Sprint(want); g != w {
		t.Fatalf("printed %s\nthe API sent %s", out, body)
	}
}

// audit prints a choice as readable key=value pairs, and the VM's name
// next to its context id.
func TestAuditPrintsKeyValuesAndVMNames(t *testing.T) {
	t.Parallel()
	base := stubAPI(t, map[string]any{
		"/api/v1/audit": apiv1.AuditList{Decisions: []apiv1.Decision{{Decision: "failover-options", Actor: "ops",
			ContextID: "ctx-web-1", Choice: map[string]any{"failover_type": "live", "options": map[string]any{"power_off_source": true}}}}},
		"/api/v1/contexts": apiv1.ContextList{Contexts: []apiv1.VMContext{{ContextID: "ctx-web-1", VMName: "storefront"}}},
	})
	out := execute(t, base, false, (*app).auditCmd)
	for _, want := range []string{"failover_type=live options.power_off_source=true", "storefront", "ctx-web-1"} {
		if !strings.Contains(out, want) {
			t.Fatalf("audit output lacks %q:\n%s", want, out)
		}
	}
}

// mappings shows the VM's name next to each mapping's context id.
func TestMappingsShowVMNames(t *testing.T) {
	t.Parallel()
	base := stubAPI(t, map[string]any{
		"/api/v1/network-mappings": apiv1.Mappings{Mappings: []apiv1.NetworkMapping{{ContextID: "ctx-db-2",
			SourceNetworkName: "DB Network", DestinationNetworkID: "net-3", DestinationNetworkName: "db-net", MappingType: "live"}}},
		"/api/v1/contexts": apiv1.ContextList{Contexts: []apiv1.VMContext{{ContextID: "ctx-db-2", VMName: "orders-database"}}},
	})
	out := execute(t, base, false, (*app).mappingsCmd)
	if !strings.Contains(out, "orders-database") || !strings.Contains(out, "ctx-db-2") {
		t.Fatalf("mappings output lacks the VM name beside its context:\n%s", out)
	}
}

// workers shows each live worker with whether it can run the VirtIO
// command, and why not.
func TestWorkersShowVirtio(t *testing.T) {
	t.Parallel()
	base := stubAPI(t, map[string]any{
		"/api/v1/workers": apiv1.WorkerList{Workers: []apiv1.Worker{
			{ID: "app1:10:ab", Hostname: "app1", HeartbeatAt: time.Now(), Capabilities: map[string]apiv1.WorkerCapability{
				"virtio": {Available: true, Command: "virt-v2v-in-place", Path: "/usr/bin/virt-v2v-in-place"}}},
			{ID: "app2:11:cd", Hostname: "app2", HeartbeatAt: time.Now(), Capabilities: map[string]apiv1.WorkerCapability{
				"virtio": {Command: "virt-v2v-in-place", Problem: "virt-v2v-in-place (FAILOVER_VIRTIO_COMMAND) is not found on PATH"}}}}},
	})
	out := execute(t, base, false, (*app).workersCmd)
	for _, want := range []string{"app1:10:ab", "yes: /usr/bin/virt-v2v-in-place", "app2:11:cd", "no: virt-v2v-in-place (FAILOVER_VIRTIO_COMMAND) is not found on PATH"} {
		if !strings.Contains(out, want) {
			t.Fatalf("workers output lacks %q:\n%s", want, out)
		}
	}
}

// contexts shows each VM's replication state, RPO and target, in the list
// and in one VM's detail with each disk's last sync.
func TestContextsShowReplication(t *testing.T) {
	t.Parallel()
	rpo := int64(7265)
	synced := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	behind := apiv1.VMContext{ContextID: "ctx-web-1", VMName: "web-1", CurrentStatus: "ready_for_failover",
		RPOSeconds: &rpo, RPOTargetSeconds: 900, ReplicationState: apiv1.ReplicationBehind,
		Disks: []apiv1.Disk{{DiskKey: 2000, VolumeID: "vol-1", LastSyncedAt: &synced}, {DiskKey: 2001, VolumeID: "vol-2"}}}
	unknown := apiv1.VMContext{ContextID: "ctx-db-2", VMName: "db-2", CurrentStatus: "ready_for_failover",
		RPOTargetSeconds: 1800, ReplicationState: apiv1.ReplicationUnknown}
	base := stubAPI(t, map[string]any{
		"/api/v1/contexts":       apiv1.ContextList{Contexts: []apiv1.VMContext{behind, unknown}},
		"/api/v1/contexts/web-1": apiv1.ContextDetail{VMContext: behind},
	})
	out := execute(t, base, false, (*app).contextsCmd)
	for _, want := range []string{"REPLICATION", "RPO", "behind", "2h1m5s", "15m0s", "unknown", "30m0s"} {
		if !strings.Contains(out, want) {
			t.Fatalf("list lacks %q:\n%s", want, out)
		}
	}
	out = execute(t, base, false, (*app).contextsCmd, "web-1")
	for _, want := range []string{"replication behind, RPO 2h1m5s (target 15m0s)", "disk 2000: volume vol-1, 0 bytes, synced 2026-12-01T10:00:00Z",
		"disk 2001: volume vol-2, 0 bytes, never synced"} {
		if !strings.Contains(out, want) {
			t.Fatalf("detail lacks %q:\n%s", want, out)
		}
	}
}

// failover --accept-rpo sends accept_rpo.
func TestFailoverAcceptRPOFlag(t *testing.T) {
	t.Parallel()
	for _, accept := range []bool{false, true} {
		var got map[string]any
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			switch {
			case r.Method == http.MethodGet && r.URL.Path == "/api/v1/contexts/web-1":
				_ = json.NewEncoder(w).Encode(apiv1.ContextDetail{VMContext: apiv1.VMContext{ContextID: "ctx-web-1", VMName: "web-1"}})
			case r.Method == http.MethodPost && r.URL.Path == "/api/v1/failover/unified":
				_ = json.NewDecoder(r.Body).Decode(&got)
				_ = json.NewEncoder(w).Encode(apiv1.DryRun{DryRun: true, Plan: &apiv1.Plan{Operation: "live-failover", VMName: "web-1"}})
			default:
				http.NotFound(w, r)
			}
		}))
		args := []string{"--type", "live", "--dry-run", "web-1"}
		if accept {
			args = append(args, "--accept-rpo")
		}
		execute(t, srv.URL, false, (*app).failoverCmd, args...)
		srv.Close()
		if v, _ := got["accept_rpo"].(bool); v != accept {
			t.Fatalf("--accept-rpo %v sent %v", accept, got)
		}
	}
}
