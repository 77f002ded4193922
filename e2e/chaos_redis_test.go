package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Redis (AOF on, fsync always) is killed and restarted while 20 test
// failovers are in the middle of their chains: every job completes, and
// none did its work twice.
func TestChaosRedisRestartMidChain(t *testing.T) {
	t.Parallel()
	b := setup(t, options{vms: 20, workers: 2, aof: true})
	b.lab.CloudStack.SetLatency("deployVirtualMachine", 2*time.Second)
	jobs := b.startTestFailovers(t, 20)
	b.waitAllAtStep(t, jobs, "vm-creation")
	b.redis.Stop() // SIGKILL: running steps finish while Redis is gone
	time.Sleep(3 * time.Second)
	if err := b.redis.Start(); err != nil {
		t.Fatal(err)
	}
	b.lab.CloudStack.ClearFaults()
	for i, st := range b.waitAll(t, jobs) {
		b.assertFailedOverOnce(t, &b.lab.VMs[i], st)
	}
	if n := b.activeJobs(t); n != 0 {
		t.Fatalf("%d jobs still active", n)
	}
	// The outage did meet steps: some finished while Redis was gone and
	// could not enqueue their next step at first.
	logs, _ := filepath.Glob(filepath.Join(b.stack.LogDir(), "worker-*.log"))
	failed := 0
	for _, f := range logs {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		failed += strings.Count(string(raw), "enqueueing step")
	}
	if failed == 0 {
		t.Fatal("no step met the Redis outage (no failed enqueue in the worker logs)")
	}
	t.Logf("%d enqueues of a next step failed during the outage and were retried", failed)
}
