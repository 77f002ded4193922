package e2e

import (
	"testing"
	"time"

	"github.com/ossea/unifiedfailover/testsvc"
)

// The test's own Postgres is crashed (immediate stop) and restarted while
// failovers are in the middle of their chains: the steps that met the
// outage are retried, every job completes, none is left running.
func TestChaosPostgresRestartMidChain(t *testing.T) {
	t.Parallel()
	pg := testsvc.StartPostgres(t)
	b := setup(t, options{vms: 8, workers: 2, dbURL: pg.URL})
	b.lab.CloudStack.SetLatency("deployVirtualMachine", 2*time.Second)
	jobs := b.startTestFailovers(t, 8)
	b.waitAllAtStep(t, jobs, "vm-creation")
	if err := pg.Stop(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(4 * time.Second)
	if err := pg.Start(); err != nil {
		t.Fatal(err)
	}
	b.lab.CloudStack.ClearFaults()
	retried := 0
	for i, st := range b.waitAll(t, jobs) {
		b.assertFailedOverOnce(t, &b.lab.VMs[i], st)
		if s := st.Step("vm-creation"); s.Attempts > 1 {
			retried++
		}
	}
	if retried == 0 {
		t.Fatal("no vm-creation step was retried: the outage did not hit a step")
	}
	if n := b.activeJobs(t); n != 0 {
		t.Fatalf("%d jobs still active", n)
	}
}
