package queue_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/ossea/unifiedfailover/errs"
	"github.com/ossea/unifiedfailover/queue"
	"github.com/ossea/unifiedfailover/store"
)

// TestRunStepRunsOneStepAsAWorker: RunStep runs one step with the chain's
// Load and records it as a worker's attempt would, enqueueing nothing; an
// unrecorded run leaves the step running, to be run again; a failure
// fails the job through OnFailed.
func TestRunStepRunsOneStepAsAWorker(t *testing.T) {
	t.Parallel()
	var failedWith error
	var loadedSeen any
	b := setup(t, func(b *bundle) *queue.Chain {
		c := threeSteps(b, func(_ context.Context, run *queue.StepRun) error {
			loadedSeen = run.Loaded
			if run.Job.ExternalID == "t-fails" {
				return errs.New(errs.FailedPrecondition, "refused")
			}
			return nil
		})
		c.Load = func(jobID string) ([]store.Read, func() (any, error)) {
			return nil, func() (any, error) { return "loaded " + jobID, nil }
		}
		c.OnFailed = func(_ context.Context, _ *queue.StepRun, cause error) error { failedWith = cause; return nil }
		return c
	})
	create := func(ext string) *store.Job {
		t.Helper()
		j, err := b.store.CreateJob(b.ctx, store.NewJob{Type: "t", ExternalID: ext, Queue: queue.QueueDefault,
			Steps: b.runner.Chain("t").Planned()}, nil)
		if err != nil {
			t.Fatal(err)
		}
		return j
	}
	job := create("t-runs")
	if err := b.runner.RunStep(b.ctx, job.ID, "two", queue.RunStepOptions{Unrecorded: true}); err != nil {
		t.Fatal(err)
	}
	j, _ := b.store.GetJob(b.ctx, job.ID)
	if s := j.Step("two"); s.Status != store.StepRunning || s.Attempts != 1 || loadedSeen != "loaded "+job.ID {
		t.Fatalf("after an unrecorded run: step two %s, %d attempts; loaded %v", s.Status, s.Attempts, loadedSeen)
	}
	if err := b.runner.RunStep(b.ctx, job.ID, "two", queue.RunStepOptions{}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond) // a next step enqueued would have run by now
	j, _ = b.store.GetJob(b.ctx, job.ID)
	if s := j.Step("two"); s.Status != store.StepCompleted || s.Attempts != 2 || j.Status != store.JobRunning ||
		j.Step("three").Status != store.StepPending || j.Step("one").Status != store.StepPending {
		t.Fatalf("after a run: job %s, steps %+v", j.Status, j.Steps)
	}
	if got := b.order(); len(got) != 2 || got[0] != "two" || got[1] != "two" {
		t.Fatalf("ran %v, want step two twice and nothing else", got)
	}
	if err := b.runner.RunStep(b.ctx, job.ID, "two", queue.RunStepOptions{}); !errs.Is(err, errs.FailedPrecondition) {
		t.Fatalf("running a completed step again: %v, want FailedPrecondition", err)
	}
	if err := b.runner.RunStep(b.ctx, job.ID, "four", queue.RunStepOptions{}); !errs.Is(err, errs.InvalidArgument) {
		t.Fatalf("running a step the chain does not have: %v", err)
	}

	failing := create("t-fails")
	err := b.runner.RunStep(b.ctx, failing.ID, "two", queue.RunStepOptions{})
	if !errs.Is(err, errs.FailedPrecondition) || !errors.Is(failedWith, err) {
		t.Fatalf("a failing step: %v (OnFailed saw %v)", err, failedWith)
	}
	j, _ = b.store.GetJob(b.ctx, failing.ID)
	if j.Status != store.JobFailed || j.Step("two").Status != store.StepFailed || j.CurrentStep != "two" {
		t.Fatalf("after a failed run: job %s at %s, step two %s", j.Status, j.CurrentStep, j.Step("two").Status)
	}
}
