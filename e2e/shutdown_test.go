package e2e

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/ossea/unifiedfailover/failover"
)

// An api process asked to stop (SIGTERM) answers the reads that wait for a
// job's end at once, with the job as it is, and exits without waiting for
// them.
func TestAPIShutdownAnswersWaitingReads(t *testing.T) {
	t.Parallel()
	b := setup(t, options{vms: 1, workers: 1})
	b.stack.KillWorker(0) // nothing runs the job: it stays pending
	started, err := b.api.Failover(b.ctx, failover.FailoverRequest{ContextID: b.contexts[b.lab.VMs[0].Name], FailoverType: failover.Test})
	if err != nil {
		t.Fatal(err)
	}
	type answer struct {
		code   int
		status string
		err    error
	}
	answers := make(chan answer, 1)
	go func() {
		req, _ := http.NewRequestWithContext(b.ctx, http.MethodGet, b.stack.APIURL+"/api/v1/jobs/"+started.JobID+"?wait=50s", nil)
		req.Header.Set("Authorization", "Bearer "+b.token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			answers <- answer{err: err}
			return
		}
		defer resp.Body.Close()
		var job struct {
			Status string `json:"status"`
		}
		err = json.NewDecoder(resp.Body).Decode(&job)
		answers <- answer{code: resp.StatusCode, status: job.Status, err: err}
	}()
	time.Sleep(500 * time.Millisecond) // the read is waiting
	began := time.Now()
	b.stack.Stop()
	stopped := time.Since(began)
	a := <-answers
	if a.err != nil || a.code != http.StatusOK || a.status != "pending" {
		t.Fatalf("the waiting read got %d %q, %v; want 200 with the pending job", a.code, a.status, a.err)
	}
	if stopped > 10*time.Second {
		t.Fatalf("stopping the api took %s with a read waiting", stopped)
	}
}
