package e2e

import (
	"errors"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/ossea/unifiedfailover/client"
	"github.com/ossea/unifiedfailover/failover"
)

// 1,000 concurrent failover requests, 20 for each of 50 VMs: exactly one
// job per VM is started, every other request is a 409.
func TestChaosThousandConcurrentRequests(t *testing.T) {
	t.Parallel()
	const vms, perVM = 50, 20
	b := setup(t, options{vms: vms, workers: 2})
	// Keep the first jobs active while the burst lasts, however long it
	// takes: their vm-creation waits until the burst is over.
	release := b.lab.CloudStack.Hold("deployVirtualMachine")
	defer release()
	var (
		mu       sync.Mutex
		accepted = map[string][]string{} // VM → job ids
		status   = map[int]int{}
		other    []error
		wg       sync.WaitGroup
	)
	gate := make(chan struct{})
	for i := range vms * perVM {
		vm := &b.lab.VMs[i%vms]
		wg.Go(func() {
			<-gate
			started, err := b.api.Failover(b.ctx, failover.FailoverRequest{ContextID: b.contexts[vm.Name], FailoverType: failover.Test})
			mu.Lock()
			defer mu.Unlock()
			var ae *client.APIError
			switch {
			case err == nil:
				status[http.StatusAccepted]++
				accepted[vm.Name] = append(accepted[vm.Name], started.JobID)
			case errors.As(err, &ae):
				status[ae.Status]++
				if ae.Status != http.StatusConflict {
					other = append(other, err)
				}
			default:
				other = append(other, err)
			}
		})
	}
	began := time.Now()
	close(gate)
	wg.Wait()
	t.Logf("%d requests in %s: %v", vms*perVM, time.Since(began).Round(time.Millisecond), status)
	for i, err := range other {
		if i < 5 {
			t.Errorf("unexpected answer: %v", err)
		}
	}
	if len(other) > 0 {
		t.Fatalf("%d answers were neither 202 nor 409", len(other))
	}
	if status[http.StatusAccepted] != vms || status[http.StatusConflict] != vms*(perVM-1) {
		t.Fatalf("answers %v, want %d × 202 and %d × 409", status, vms, vms*(perVM-1))
	}
	release()
	jobs := make([]string, vms)
	for i := range vms {
		vm := &b.lab.VMs[i]
		if len(accepted[vm.Name]) != 1 {
			t.Fatalf("%s: %d jobs accepted", vm.Name, len(accepted[vm.Name]))
		}
		jobs[i] = accepted[vm.Name][0]
	}
	for i, st := range b.waitAll(t, jobs) {
		b.assertFailedOverOnce(t, &b.lab.VMs[i], st)
	}
}
