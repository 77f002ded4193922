package queue

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/hibiken/asynq"

	"github.com/ossea/unifiedfailover/errs"
	"github.com/ossea/unifiedfailover/store"
)

// Sweep looks at active jobs that have not moved for longer than age and
// makes sure each has a task for its current step: a task lost with
// Redis's data (or never enqueued because a process died between the
// Postgres commit and the enqueue) is enqueued again, and a task asynq has
// archived after its last retry (while the failure could not be recorded)
// ends the job failed. It returns how many jobs it repaired. Running it in
// several processes at once is safe: task ids make the enqueue idempotent.
func (r *Runner) Sweep(ctx context.Context, insp *asynq.Inspector, age time.Duration) (int, error) {
	jobs, err := r.store.StaleJobs(ctx, age, 200)
	if err != nil {
		return 0, err
	}
	repaired := 0
	var failed []error
	for _, job := range jobs {
		// One job's trouble does not keep the others from their repair.
		ok, err := r.sweepJob(ctx, insp, job)
		if err != nil {
			r.log.ErrorContext(ctx, "could not repair a stale job", "job_id", job.ID, "external_job_id", job.ExternalID, "error", err)
			failed = append(failed, fmt.Errorf("job %s: %w", job.ID, err))
		}
		if ok {
			repaired++
		}
	}
	for _, fn := range r.sweeps {
		n, err := fn(ctx)
		repaired += n
		if err != nil {
			failed = append(failed, err)
		}
	}
	return repaired, errors.Join(failed...)
}

// sweepJob repairs one stale job, reporting whether it did.
func (r *Runner) sweepJob(ctx context.Context, insp *asynq.Inspector, job *store.Job) (bool, error) {
	if r.chains[job.Type] == nil {
		return false, nil
	}
	st := firstOpenStep(job)
	if st == nil {
		// Every step is done but the job was not ended: advance ends it.
		return true, r.advance(ctx, job)
	}
	info, err := insp.GetTaskInfo(job.Queue, stepTaskID(job.ID, st.Seq, job.RunNo))
	switch {
	case errors.Is(err, asynq.ErrTaskNotFound) || errors.Is(err, asynq.ErrQueueNotFound):
		r.log.WarnContext(ctx, "re-enqueueing a lost step task", "job_id", job.ID, "external_job_id", job.ExternalID,
			"context_id", job.ContextID, "step", st.Name)
		return true, r.advance(ctx, job)
	case err != nil:
		return false, errs.Transient(err, "inspecting the task of job %s", job.ID)
	case info.State == asynq.TaskStateArchived:
		cause := "the step's task ran out of retries: " + info.LastErr
		r.log.ErrorContext(ctx, "ending a job whose task was archived", "job_id", job.ID, "step", st.Name, "error", info.LastErr)
		return true, r.failJob(ctx, job, st, cause)
	}
	return false, nil
}

// failJob ends job failed at step st with cause, running the chain's
// failure hook, for a job no step run can end (its task archived, or its
// step gone from the chain).
func (r *Runner) failJob(ctx context.Context, job *store.Job, st *store.Step, cause string) error {
	if err := r.store.FailStep(ctx, job.ID, st.Seq, cause, "permanent", 0); err != nil {
		return err
	}
	if c := r.chains[job.Type]; c != nil && c.OnFailed != nil {
		run := &StepRun{Job: job, Step: st, Attempt: st.Attempts, store: r.store, Log: r.log.With("job_id", job.ID)}
		if err := c.OnFailed(ctx, run, errors.New(cause)); err != nil {
			r.log.ErrorContext(ctx, "failure hook failed", "error", err, "job_id", job.ID)
		}
	}
	r.observeJobEnd(job, store.JobFailed)
	return nil
}

func firstOpenStep(job *store.Job) *store.Step {
	for i := range job.Steps {
		if !job.Steps[i].Status.Done() {
			return &job.Steps[i]
		}
	}
	return nil
}

// RunSweeper sweeps every interval until ctx is done.
func (r *Runner) RunSweeper(ctx context.Context, redis RedisConfig, interval, age time.Duration) {
	insp := asynq.NewInspector(redis.ConnOpt())
	defer insp.Close()
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		sctx, cancel := context.WithTimeout(ctx, interval)
		if n, err := r.Sweep(sctx, insp, age); err != nil {
			r.log.WarnContext(ctx, "sweeping stale jobs failed", "error", err)
		} else if n > 0 {
			r.log.InfoContext(ctx, "repaired stale jobs", "count", n)
		}
		cancel()
	}
}
