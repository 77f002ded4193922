package e2e

import (
	"testing"
	"time"

	"github.com/ossea/unifiedfailover/client"
	"github.com/ossea/unifiedfailover/failover"
	"github.com/ossea/unifiedfailover/store"
)

// Every CloudStack call takes 500 ms and one in ten fails with 503: every
// failover and rollback still completes, and the retries are recorded.
func TestChaosSlowAndFlakyCloudStack(t *testing.T) {
	t.Parallel()
	const n = 5
	b := setup(t, options{vms: n, workers: 2})
	cs := b.lab.CloudStack
	cs.SetLatency("*", 500*time.Millisecond)
	cs.SetFaultRate("*", 0.1, 503)
	jobs := b.startTestFailovers(t, n)
	retried := 0
	count := func(st *client.FailoverStatus) {
		for _, s := range st.Steps {
			if s.Attempts > 1 {
				retried++
			}
		}
	}
	for i, st := range b.waitAll(t, jobs) {
		b.assertFailedOverOnce(t, &b.lab.VMs[i], st)
		count(st)
		// The status shows the time each step spent in CloudStack: at
		// least one 500 ms call for vm-creation, never more than its wall
		// time.
		s := st.Step("vm-creation")
		if s.ExternalMS < 500 || s.StartedAt == nil || s.EndedAt == nil ||
			s.ExternalMS > float64(s.EndedAt.Sub(*s.StartedAt).Milliseconds())+1 {
			t.Fatalf("%s: vm-creation external_ms %.1f, started %v, ended %v", b.lab.VMs[i].Name, s.ExternalMS, s.StartedAt, s.EndedAt)
		}
	}
	rbs := make([]string, n)
	for i := range n {
		vm := &b.lab.VMs[i]
		id, err := b.startWithRetries(func() (*client.StartedJob, error) {
			return b.api.Rollback(b.ctx, failover.RollbackRequest{ContextID: b.contexts[vm.Name]})
		})
		if err != nil {
			t.Fatal(err)
		}
		rbs[i] = id
	}
	for i, st := range b.waitAll(t, rbs) {
		if st.Status != store.JobCompleted {
			t.Fatalf("%s: rollback ended %s at %s: %s", b.lab.VMs[i].Name, st.Status, st.CurrentStep, st.Error)
		}
		count(st)
	}
	cs.ClearFaults()
	for i := range n {
		b.assertRolledBack(t, &b.lab.VMs[i])
	}
	if retried == 0 {
		t.Fatal("no step was retried: the faults never reached a step")
	}
	t.Logf("%d step retries recorded", retried)
}
