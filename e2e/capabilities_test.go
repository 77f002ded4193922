package e2e

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ossea/unifiedfailover/client"
	"github.com/ossea/unifiedfailover/failover"
	"github.com/ossea/unifiedfailover/store"
)

// TestWindowsFailoverRefusedWhenNoWorkerCanInject: the workers run with a
// FAILOVER_VIRTIO_COMMAND that does not exist and report it with their
// heartbeats, so a Windows VM's test failover fails in pre-flight, naming
// skip_virtio, and no job starts (step 5, the injection, is never
// reached); with skip_virtio it runs, the injection skipped.
func TestWindowsFailoverRefusedWhenNoWorkerCanInject(t *testing.T) {
	t.Parallel()
	b := setup(t, options{vms: 3, env: []string{"FAILOVER_VIRTIO_COMMAND=/nonexistent/virt-v2v-in-place"}})
	windows := b.pick(t, "windows", "", map[string]bool{})
	// The workers beat at start; wait until both are seen.
	var c failover.Check
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(100 * time.Millisecond) {
		c = b.preflightCheck(t, "test", windows.Name, "worker-capabilities")
		if c.Status == failover.Fail && strings.Contains(c.Message, "2 live worker(s)") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the pre-flight never saw the two workers: %+v", c)
		}
	}
	if !strings.Contains(c.Message, "/nonexistent/virt-v2v-in-place (FAILOVER_VIRTIO_COMMAND) does not exist") || c.Hard {
		t.Fatalf("the check: %+v", c)
	}
	ws, err := b.api.Workers(b.ctx)
	if err != nil || len(ws) != 2 || ws[0].Capabilities["virtio"].Available || ws[0].Capabilities["virtio"].Command != "/nonexistent/virt-v2v-in-place" {
		t.Fatalf("GET /workers: %+v %v", ws, err)
	}
	_, err = b.api.Failover(b.ctx, failover.FailoverRequest{ContextID: b.contexts[windows.Name], FailoverType: failover.Test})
	if apiStatus(err) != http.StatusConflict || !strings.Contains(err.Error(), "worker-capabilities") ||
		!strings.Contains(err.Error(), "skip_virtio") || !strings.Contains(err.Error(), "FAILOVER_VIRTIO_COMMAND") {
		t.Fatalf("the test failover of %s: %v, want a pre-flight refusal naming skip_virtio", windows.Name, err)
	}
	jobs, err := b.api.Jobs(b.ctx, client.JobFilter{VM: windows.Name})
	if err != nil || len(jobs) != 0 {
		t.Fatalf("jobs after the refusal: %+v %v", jobs, err)
	}
	if got := b.contextStatus(t, windows.Name); got != store.StatusReadyForFailover {
		t.Fatalf("the context is %s after the refusal", got)
	}

	st := b.failover(t, failover.FailoverRequest{ContextID: b.contexts[windows.Name], FailoverType: failover.Test,
		Options: failover.Options{SkipVirtio: true}})
	if st.Status != store.JobCompleted || st.Step("virtio-injection").Status != store.StepSkipped {
		t.Fatalf("the test failover with skip_virtio: %s %s %+v", st.Status, st.Error, st.Steps)
	}
	if calls := b.virtioCalls(t); calls != "" {
		t.Fatalf("the VirtIO command ran: %q", calls)
	}

	// A graceful stop removes the workers' rows at once.
	b.stack.Stop()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	db, err := store.Open(ctx, b.dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if live, err := db.LiveWorkers(ctx); err != nil || len(live) != 0 {
		t.Fatalf("live workers after a graceful stop: %+v %v", live, err)
	}
}
