package e2e

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ossea/unifiedfailover/client"
	"github.com/ossea/unifiedfailover/failover"
	"github.com/ossea/unifiedfailover/lab"
	"github.com/ossea/unifiedfailover/store"
)

// startTestFailovers starts a test failover of each of the first n lab
// VMs and returns the job ids in VM order. A request that fails with a
// transient status (5xx) is sent again, as an operator's client would; a
// 409 naming an active job (the first request did start it) adopts that
// job.
func (b *bundle) startTestFailovers(t *testing.T, n int) []string {
	t.Helper()
	jobs := make([]string, n)
	var wg sync.WaitGroup
	errc := make(chan error, n)
	for i := range n {
		wg.Go(func() {
			vm := &b.lab.VMs[i]
			id, err := b.startWithRetries(func() (*client.StartedJob, error) {
				return b.api.Failover(b.ctx, failover.FailoverRequest{ContextID: b.contexts[vm.Name], FailoverType: failover.Test})
			})
			if err != nil {
				errc <- err
				return
			}
			jobs[i] = id
		})
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Fatal(err)
	}
	return jobs
}

// startWithRetries sends a start request until it is accepted, at most 20
// times in 2 minutes.
func (b *bundle) startWithRetries(start func() (*client.StartedJob, error)) (string, error) {
	deadline := time.Now().Add(2 * time.Minute)
	var err error
	for try := 0; try < 20 && time.Now().Before(deadline); try++ {
		var started *client.StartedJob
		started, err = start()
		if err == nil {
			return started.JobID, nil
		}
		var ae *client.APIError
		if errors.As(err, &ae) && ae.Status == http.StatusConflict {
			if id, _ := ae.Details["active_job_id"].(string); id != "" {
				return id, nil
			}
		}
		if errors.As(err, &ae) && ae.Status < 500 {
			return "", err
		}
		time.Sleep(200 * time.Millisecond)
	}
	return "", err
}

// waitAll waits for every job in parallel and returns their statuses.
func (b *bundle) waitAll(t *testing.T, jobs []string) []*client.FailoverStatus {
	t.Helper()
	out := make([]*client.FailoverStatus, len(jobs))
	var wg sync.WaitGroup
	errc := make(chan error, len(jobs))
	for i, id := range jobs {
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(b.ctx, 5*time.Minute)
			defer cancel()
			if _, err := b.api.WaitJob(ctx, id, 100*time.Millisecond, nil); err != nil {
				errc <- err
				return
			}
			st, err := b.api.Status(ctx, id)
			if err != nil {
				errc <- err
				return
			}
			out[i] = st
		})
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Fatal(err)
	}
	return out
}

// waitAllAtStep waits until every job runs step (or got past it).
func (b *bundle) waitAllAtStep(t *testing.T, jobs []string, step string) {
	t.Helper()
	for _, id := range jobs {
		for deadline := time.Now().Add(2 * time.Minute); ; time.Sleep(50 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("job %s never reached %s", id, step)
			}
			st, err := b.api.Status(b.ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			if s := st.Step(step); s != nil && s.Status != store.StepPending {
				break
			}
			if !st.Status.Active() {
				t.Fatalf("job %s ended %s before %s: %s", id, st.Status, step, st.Error)
			}
		}
	}
}

// assertFailedOverOnce checks a finished test failover of vm: the job
// completed, exactly one destination VM exists (running, with its NICs and
// replicas), no second creation was recorded, and the VM has exactly one
// failover job.
func (b *bundle) assertFailedOverOnce(t *testing.T, vm *lab.VM, st *client.FailoverStatus) {
	t.Helper()
	if st.Status != store.JobCompleted {
		t.Fatalf("%s: failover ended %s at %s: %s", vm.Name, st.Status, st.CurrentStep, st.Error)
	}
	b.assertFailedOver(t, vm, "", false, vm.TestMappings)
	events, err := b.api.Events(b.ctx, st.ID)
	if err != nil {
		t.Fatal(err)
	}
	created := 0
	for _, e := range events {
		if e.Message == "destination VM created" {
			created++
		}
	}
	// Events are best effort: one written while Postgres was down is lost,
	// so the proof of "once" is the single destination VM above.
	if created > 1 {
		t.Fatalf("%s: the destination VM was created %d times", vm.Name, created)
	}
	if n := b.jobCount(t, b.contexts[vm.Name], "failover"); n != 1 {
		t.Fatalf("%s: %d failover jobs, want 1", vm.Name, n)
	}
}

// jobCount counts a context's jobs of a type in Postgres.
func (b *bundle) jobCount(t *testing.T, contextID, jobType string) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, b.dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var n int
	if err := conn.QueryRow(ctx, `SELECT count(*) FROM job_tracking WHERE context_id = $1 AND job_type = $2`,
		contextID, jobType).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// activeJobs counts jobs still pending or running in Postgres.
func (b *bundle) activeJobs(t *testing.T) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, b.dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var n int
	if err := conn.QueryRow(ctx, `SELECT count(*) FROM job_tracking WHERE status IN ('pending', 'running')`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}
