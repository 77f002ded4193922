package queue_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/ossea/unifiedfailover/errs"
	"github.com/ossea/unifiedfailover/queue"
	"github.com/ossea/unifiedfailover/store"
	"github.com/ossea/unifiedfailover/store/storetest"
	"github.com/ossea/unifiedfailover/testsvc"
)

type bundle struct {
	ctx    context.Context
	store  *store.Store
	runner *queue.Runner
	redis  queue.RedisConfig
	mu     sync.Mutex
	ran    []string
}

func (b *bundle) record(name string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.ran = append(b.ran, name)
}

func (b *bundle) order() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.ran...)
}

// setup starts a real Postgres schema, a private Redis, a runner with the
// given chain and an in-process worker.
func setup(t *testing.T, chain func(b *bundle) *queue.Chain) *bundle {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	st := storetest.Open(t, ctx)
	rd := testsvc.StartRedis(t, testsvc.RedisOptions{})
	b := &bundle{ctx: ctx, store: st, redis: queue.RedisConfig{Addr: rd.Addr}}
	client := asynq.NewClient(b.redis.ConnOpt())
	t.Cleanup(func() { client.Close() })
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	b.runner = queue.NewRunner(st, client, log, nil)
	b.runner.Register(chain(b))
	srv := queue.NewServer(b.redis, queue.ServerConfig{Concurrency: 4, ShutdownTimeout: 5 * time.Second,
		PollInterval: 10 * time.Millisecond, DelayedCheckInterval: 100 * time.Millisecond}, b.runner, log)
	if err := srv.Start(b.runner.Mux()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Shutdown)
	return b
}

// waitJob waits until the job is no longer active and returns it.
func waitJob(t *testing.T, b *bundle, id string) *store.Job {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		j, err := b.store.GetJob(b.ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if !j.Status.Active() {
			return j
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("job %s did not end in time", id)
	return nil
}

var fast = queue.RetryPolicy{MaxAttempts: 5, Backoff: 10 * time.Millisecond, MaxBackoff: 50 * time.Millisecond}

func threeSteps(b *bundle, second queue.StepFunc) *queue.Chain {
	step := func(name string) queue.StepFunc {
		return func(ctx context.Context, run *queue.StepRun) error {
			b.record(name)
			return nil
		}
	}
	return &queue.Chain{Type: "t", Steps: []queue.Step{
		{Name: "one", Run: step("one"), Retry: fast},
		{Name: "two", Run: func(ctx context.Context, run *queue.StepRun) error {
			b.record("two")
			return second(ctx, run)
		}, Retry: fast},
		{Name: "three", Run: step("three"), Retry: fast},
	}}
}

func TestChainRunsStepsInOrder(t *testing.T) {
	t.Parallel()
	b := setup(t, func(b *bundle) *queue.Chain {
		return threeSteps(b, func(context.Context, *queue.StepRun) error { return nil })
	})
	job, err := b.runner.Start(b.ctx, store.NewJob{Type: "t", ExternalID: "t-order"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	j := waitJob(t, b, job.ID)
	if j.Status != store.JobCompleted || j.Percent() != 100 {
		t.Fatalf("job ended %s at %v%%", j.Status, j.Percent())
	}
	if got := b.order(); len(got) != 3 || got[0] != "one" || got[1] != "two" || got[2] != "three" {
		t.Fatalf("steps ran as %v", got)
	}
	for i, s := range j.Steps {
		if s.Status != store.StepCompleted || s.Attempts != 1 || s.StartedAt == nil || s.EndedAt == nil {
			t.Fatalf("step %d: %+v", i, s)
		}
		if i > 0 && s.StartedAt.Before(*j.Steps[i-1].EndedAt) {
			t.Fatalf("step %s started before %s ended", s.Name, j.Steps[i-1].Name)
		}
	}
}

func TestTransientErrorsAreRetried(t *testing.T) {
	t.Parallel()
	var calls atomic.Int32
	b := setup(t, func(b *bundle) *queue.Chain {
		return threeSteps(b, func(context.Context, *queue.StepRun) error {
			if calls.Add(1) <= 2 {
				return errs.Transient(errors.New("connection refused"), "calling the cloud")
			}
			return nil
		})
	})
	job, err := b.runner.Start(b.ctx, store.NewJob{Type: "t"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	j := waitJob(t, b, job.ID)
	if j.Status != store.JobCompleted {
		t.Fatalf("job ended %s: %s", j.Status, j.Error)
	}
	if s := j.Step("two"); s.Attempts != 3 || s.Status != store.StepCompleted {
		t.Fatalf("step two: %+v", s)
	}
}

func TestPermanentErrorFailsJobAtThatStep(t *testing.T) {
	t.Parallel()
	var failedHook atomic.Int32
	b := setup(t, func(b *bundle) *queue.Chain {
		c := threeSteps(b, func(context.Context, *queue.StepRun) error {
			return errs.New(errs.FailedPrecondition, "volume is attached elsewhere")
		})
		c.OnFailed = func(ctx context.Context, run *queue.StepRun, cause error) error {
			failedHook.Add(1)
			return nil
		}
		return c
	})
	job, err := b.runner.Start(b.ctx, store.NewJob{Type: "t"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	j := waitJob(t, b, job.ID)
	if j.Status != store.JobFailed || j.CurrentStep != "two" || j.Error != "two: volume is attached elsewhere" {
		t.Fatalf("job: status %s step %s error %q", j.Status, j.CurrentStep, j.Error)
	}
	s := j.Step("two")
	if s.Status != store.StepFailed || s.Attempts != 1 || s.ErrorClass != "permanent" {
		t.Fatalf("step two: %+v", s)
	}
	time.Sleep(300 * time.Millisecond) // give a wrongly enqueued step three time to run
	if got := b.order(); len(got) != 2 {
		t.Fatalf("steps after the failed one ran: %v", got)
	}
	if j.Step("three").Status != store.StepPending || failedHook.Load() != 1 {
		t.Fatalf("step three %s, failure hook ran %d times", j.Step("three").Status, failedHook.Load())
	}
}

func TestPanicBecomesFailedStepAndRetryResumes(t *testing.T) {
	t.Parallel()
	var broken atomic.Bool
	broken.Store(true)
	b := setup(t, func(b *bundle) *queue.Chain {
		return threeSteps(b, func(context.Context, *queue.StepRun) error {
			if broken.Load() {
				var m map[string]int
				//lint:ignore SA5000 the panic is the point of this test
				m["boom"]++ // nil map write: panics
			}
			return nil
		})
	})
	job, err := b.runner.Start(b.ctx, store.NewJob{Type: "t"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	j := waitJob(t, b, job.ID)
	if j.Status != store.JobFailed || j.Step("two").Status != store.StepFailed {
		t.Fatalf("after panic: %s %+v", j.Status, j.Step("two"))
	}
	broken.Store(false)
	if _, err := b.runner.Resume(b.ctx, job.ID); err != nil {
		t.Fatal(err)
	}
	j = waitJob(t, b, job.ID)
	if j.Status != store.JobCompleted || j.RunNo != 2 {
		t.Fatalf("after retry: %s run %d", j.Status, j.RunNo)
	}
	if s := j.Step("one"); s.Attempts != 1 {
		t.Fatalf("retry re-ran a completed step: %+v", s)
	}
	if s := j.Step("two"); s.Attempts != 2 {
		t.Fatalf("step two attempts after retry: %+v", s)
	}
	if _, err := b.runner.Resume(b.ctx, job.ID); !errs.Is(err, errs.FailedPrecondition) {
		t.Fatalf("resuming a completed job: %v", err)
	}
}

func TestSkippedStepsAreRecordedNotRun(t *testing.T) {
	t.Parallel()
	b := setup(t, func(b *bundle) *queue.Chain {
		return threeSteps(b, func(context.Context, *queue.StepRun) error { return nil })
	})
	job, err := b.runner.Start(b.ctx, store.NewJob{Type: "t", Steps: []store.PlannedStep{
		{Name: "one"}, {Name: "two", SkipReason: "not a live failover"}, {Name: "three"}}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	j := waitJob(t, b, job.ID)
	if j.Status != store.JobCompleted || j.Step("two").Status != store.StepSkipped || j.Step("two").SkipReason == "" {
		t.Fatalf("job %s, step two %+v", j.Status, j.Step("two"))
	}
	if got := b.order(); len(got) != 2 || got[1] != "three" {
		t.Fatalf("ran %v", got)
	}
}

func TestSweeperRestoresALostStepTask(t *testing.T) {
	t.Parallel()
	b := setup(t, func(b *bundle) *queue.Chain {
		return threeSteps(b, func(context.Context, *queue.StepRun) error { return nil })
	})
	// A job whose first task never reached Redis (as after a Redis that
	// lost its data): create it in Postgres only.
	job, err := b.store.CreateJob(b.ctx, store.NewJob{Type: "t", Queue: queue.QueueDefault,
		Steps: b.runner.Chain("t").Planned()}, nil)
	if err != nil {
		t.Fatal(err)
	}
	insp := asynq.NewInspector(b.redis.ConnOpt())
	defer insp.Close()
	time.Sleep(50 * time.Millisecond)
	n, err := b.runner.Sweep(b.ctx, insp, 0)
	if err != nil || n != 1 {
		t.Fatalf("sweep repaired %d jobs (%v), want 1", n, err)
	}
	if j := waitJob(t, b, job.ID); j.Status != store.JobCompleted {
		t.Fatalf("swept job ended %s", j.Status)
	}
	if n, err := b.runner.Sweep(b.ctx, insp, 0); err != nil || n != 0 {
		t.Fatalf("a second sweep repaired %d (%v), want none", n, err)
	}
}

// TestClosingEventIsRecordedWithTheOutcome checks StepRun.Closing: the
// event is not in the job's log while the step runs, is there once the step
// completed, and is there too when the attempt fails after all.
func TestClosingEventIsRecordedWithTheOutcome(t *testing.T) {
	t.Parallel()
	var seenDuringStep atomic.Int32
	var failNext atomic.Bool
	b := setup(t, func(b *bundle) *queue.Chain {
		return threeSteps(b, func(ctx context.Context, run *queue.StepRun) error {
			run.Closing(ctx, slog.LevelInfo, "two achieved", map[string]any{"attempt": run.Attempt})
			evs, err := b.store.ListEvents(ctx, run.Job.ID, 0, 0)
			if err != nil {
				return err
			}
			for _, e := range evs {
				if e.Message == "two achieved" {
					seenDuringStep.Add(1)
				}
			}
			if failNext.CompareAndSwap(true, false) {
				return errs.Transient(errors.New("flaky"), "two")
			}
			return nil
		})
	})
	failNext.Store(true)
	job, err := b.runner.Start(b.ctx, store.NewJob{Type: "t", ExternalID: "t-closing"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if j := waitJob(t, b, job.ID); j.Status != store.JobCompleted {
		t.Fatalf("job ended %s", j.Status)
	}
	evs, err := b.store.ListEvents(b.ctx, job.ID, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	var attempts []any
	for _, e := range evs {
		if e.Message == "two achieved" {
			if e.Step != "two" {
				t.Errorf("closing event recorded for step %q", e.Step)
			}
			attempts = append(attempts, e.Attrs["attempt"])
		}
	}
	// The failed first attempt's event, recorded with its failure, was in
	// the log when the second attempt looked; the second's was not.
	if len(attempts) != 2 || seenDuringStep.Load() != 1 {
		t.Fatalf("closing events of attempts %v; seen during a step %d times, want 2 events and 1 sighting (the first attempt's, by the second)",
			attempts, seenDuringStep.Load())
	}
}

// TestAJobWhoseStepIsGoneEndsFailed: a job planned with a step the chain
// no longer has (renamed or removed while it was in flight) ends failed
// at that step, saying so, instead of never advancing; the sweep goes on
// to the other stale jobs.
func TestAJobWhoseStepIsGoneEndsFailed(t *testing.T) {
	t.Parallel()
	b := setup(t, func(b *bundle) *queue.Chain {
		return threeSteps(b, func(context.Context, *queue.StepRun) error { return nil })
	})
	gone, err := b.store.CreateJob(b.ctx, store.NewJob{Type: "t", Queue: queue.QueueDefault,
		Steps: []store.PlannedStep{{Name: "one"}, {Name: "renamed-away"}, {Name: "three"}}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	lost, err := b.store.CreateJob(b.ctx, store.NewJob{Type: "t", Queue: queue.QueueDefault, Steps: b.runner.Chain("t").Planned()}, nil)
	if err != nil {
		t.Fatal(err)
	}
	insp := asynq.NewInspector(b.redis.ConnOpt())
	defer insp.Close()
	time.Sleep(50 * time.Millisecond)
	if _, err := b.runner.Sweep(b.ctx, insp, 0); err != nil {
		t.Fatalf("sweep: %v", err)
	}
	j := waitJob(t, b, gone.ID)
	if j.Status != store.JobFailed || j.CurrentStep != "renamed-away" || !strings.Contains(j.Error, `has no step "renamed-away"`) {
		t.Fatalf("job with a gone step: %s at %s: %q", j.Status, j.CurrentStep, j.Error)
	}
	if j := waitJob(t, b, lost.ID); j.Status != store.JobCompleted {
		t.Fatalf("the other stale job ended %s", j.Status)
	}
}
