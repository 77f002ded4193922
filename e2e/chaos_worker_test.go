package e2e

import (
	"testing"
	"time"
)

// The only worker is killed in the middle of a step and no worker runs for
// a while: the job waits, and completes (its work done once) when a worker
// comes back.
func TestChaosOrphanedJobCompletesWhenAWorkerReturns(t *testing.T) {
	t.Parallel()
	b := setup(t, options{vms: 2, workers: 1})
	b.lab.CloudStack.SetLatency("deployVirtualMachine", 5*time.Second)
	jobs := b.startTestFailovers(t, 1)
	b.waitStep(t, jobs[0], "vm-creation")
	b.stack.KillWorker(0) // SIGKILL: no graceful shutdown, no worker left
	b.lab.CloudStack.ClearFaults()
	time.Sleep(5 * time.Second)
	st, err := b.api.Status(b.ctx, jobs[0])
	if err != nil {
		t.Fatal(err)
	}
	if !st.Status.Active() {
		t.Fatalf("with no worker alive the job ended %s", st.Status)
	}
	if _, err := b.stack.StartWorker(); err != nil {
		t.Fatal(err)
	}
	final := b.waitAll(t, jobs)[0]
	b.assertFailedOverOnce(t, &b.lab.VMs[0], final)
	if s := final.Step("vm-creation"); s.Attempts < 2 {
		t.Fatalf("vm-creation shows %d attempts; the killed one must be counted", s.Attempts)
	}
}
