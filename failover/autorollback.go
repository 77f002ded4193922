package failover

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/hibiken/asynq"
	"github.com/jackc/pgx/v5"

	"github.com/ossea/unifiedfailover/errs"
	"github.com/ossea/unifiedfailover/store"
)

// Time-boxed test failovers. A test failover requested with test_duration
// is rolled back by itself when the time is up, counted from the moment
// the failover completed:
//
//   - the duration is stored on the failover (failover_jobs) when the job
//     is created;
//   - when the failover completes, the deadline is stored
//     (auto_rollback_at) and a delayed task is enqueued for that time on the
//     timer queue, with a task id made from the failover's job id (so a
//     re-run of the completion enqueues nothing twice): the failover
//     chain's OnCompleted does it (tasks/autorollback.go);
//   - the scheduler process runs the timer tasks and also sweeps Postgres
//     for overdue deadlines, so the rollback happens even if Redis lost the
//     task and every process restarted in between.
//
// Starting the rollback is claimed in Postgres, checked against the real
// state (the failover is still the VM's latest and still completed) and
// recorded, so however many timers and sweeps fire, one rollback starts.

// AutoRollbackActor is the actor of the rollbacks started when a test
// failover's time is up.
const AutoRollbackActor = "auto-rollback"

// TimerQueue is the asynq queue of timer tasks (auto-rollbacks, drill
// ticks). Only the scheduler process consumes it.
const TimerQueue = "timers"

// TaskAutoRollback is the asynq task type of an auto-rollback timer.
const TaskAutoRollback = "failover:auto-rollback"

// Bounds of test_duration.
const (
	minTestDuration = 10 * time.Second
	maxTestDuration = 7 * 24 * time.Hour
)

// autoRollbackPayload is the payload of an auto-rollback timer task.
type autoRollbackPayload struct {
	FailoverJobID string `json:"failover_job_id"`
}

// testDuration checks a request's test_duration: only on test failovers,
// a duration between 10s and 7 days. It returns 0 when there is none.
func testDuration(req FailoverRequest) (time.Duration, error) {
	if req.TestDuration == "" {
		return 0, nil
	}
	if req.FailoverType != Test {
		return 0, errs.Field("test_duration", "only a test failover can be time-boxed; a live failover ends when the operator rolls it back or commits it")
	}
	d, err := time.ParseDuration(req.TestDuration)
	if err != nil || d < minTestDuration || d > maxTestDuration {
		return 0, errs.Field("test_duration", "must be a duration such as 30m, between %s and %s, not %q",
			minTestDuration, maxTestDuration, req.TestDuration)
	}
	return d, nil
}

// recordTestDuration stores a request's time box with the new failover
// (in its creating transaction) and audits it.
func (e *Engine) recordTestDuration(ctx context.Context, tx pgx.Tx, actor string, job *store.Job, req FailoverRequest) error {
	d, err := testDuration(req)
	if err != nil || d == 0 {
		return err
	}
	if err := store.SetTestDuration(ctx, tx, job.ID, d); err != nil {
		return err
	}
	return e.recordDecisions(ctx, tx, actor, job, map[string]map[string]any{
		"test-duration": {"test_duration": d.String(), "rolled_back_by": AutoRollbackActor}})
}

// EnqueueAutoRollback enqueues the timer task of a failover's auto-rollback
// for at. Its task id is made from the failover's job id: enqueueing it
// again is a no-op.
func EnqueueAutoRollback(ctx context.Context, c *asynq.Client, failoverJobID string, at time.Time) error {
	payload, _ := json.Marshal(autoRollbackPayload{FailoverJobID: failoverJobID})
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	_, err := c.EnqueueContext(ctx, asynq.NewTask(TaskAutoRollback, payload), asynq.Queue(TimerQueue),
		asynq.TaskID("auto-rollback:"+failoverJobID), asynq.ProcessAt(at), asynq.MaxRetry(20),
		asynq.Timeout(time.Minute), asynq.Retention(time.Hour))
	if errors.Is(err, asynq.ErrTaskIDConflict) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("enqueueing the auto-rollback of %s: %w", failoverJobID, err)
	}
	return nil
}

// ProcessTask runs an auto-rollback timer task (the Engine is the
// handler of TaskAutoRollback).
func (e *Engine) ProcessTask(ctx context.Context, t *asynq.Task) error {
	var p autoRollbackPayload
	if err := json.Unmarshal(t.Payload(), &p); err != nil || p.FailoverJobID == "" {
		return fmt.Errorf("decoding %s payload: %v: %w", t.Type(), err, asynq.SkipRetry)
	}
	_, err := e.AutoRollback(ctx, p.FailoverJobID)
	if err != nil && !errs.IsTransient(err) {
		return fmt.Errorf("auto-rollback of %s: %w: %w", p.FailoverJobID, err, asynq.SkipRetry)
	}
	return err
}

// AutoRollback starts the rollback of a time-boxed test failover whose
// time is up, unless it is not due, already started, or no longer needed
// (rolled back by the operator, or not the VM's latest failover). It
// returns the rollback job it started, or nil. A VM busy with another job
// is a transient error: the next timer retry or sweep tries again.
func (e *Engine) AutoRollback(ctx context.Context, failoverJobID string) (*store.Job, error) {
	a, err := e.store.GetAutoRollback(ctx, failoverJobID)
	if err != nil {
		return nil, err
	}
	log := e.log.With("job_id", a.FailoverJobID, "external_job_id", a.ExternalJobID, "context_id", a.ContextID)
	switch {
	case a.RollbackJobID != "":
		return nil, nil // already started
	case a.At == nil || a.At.After(e.cfg.Now()):
		return nil, nil // not armed or not due: the sweep looks again later
	case a.FailoverStatus != store.FailoverCompleted:
		log.InfoContext(ctx, "auto-rollback not needed", "failover_status", a.FailoverStatus)
		return nil, nil
	}
	won, err := e.store.ClaimAutoRollback(ctx, a.FailoverJobID, 2*time.Minute)
	if err != nil || !won {
		return nil, err
	}
	latest, err := e.store.LatestFailover(ctx, a.ContextID)
	if err != nil {
		return nil, err
	}
	if latest.JobID != a.FailoverJobID {
		log.InfoContext(ctx, "auto-rollback not needed: the VM has a newer failover", "latest_job_id", latest.JobID)
		return nil, e.store.SetAutoRollbackJob(ctx, a.FailoverJobID, "")
	}
	st, err := e.StartRollback(ctx, RollbackRequest{ContextID: a.ContextID,
		Reason: fmt.Sprintf("test_duration %s elapsed", a.TestDuration)}, System(AutoRollbackActor))
	if errs.Is(err, errs.Conflict) {
		// A rollback of this failover that is running already (started by
		// an earlier attempt that died before recording it) is ours.
		if active, aerr := e.store.ActiveJob(ctx, a.ContextID); aerr == nil && active.Type == JobRollback && active.ParentID == a.FailoverJobID {
			return active, e.store.SetAutoRollbackJob(ctx, a.FailoverJobID, active.ID)
		}
		_ = e.store.ReleaseAutoRollback(ctx, a.FailoverJobID)
		return nil, errs.Transient(err, "auto-rollback of %s: the VM is busy", a.ExternalJobID)
	}
	if err != nil {
		if errs.Is(err, errs.FailedPrecondition) {
			log.InfoContext(ctx, "auto-rollback not needed", "reason", err)
			return nil, e.store.SetAutoRollbackJob(ctx, a.FailoverJobID, "")
		}
		_ = e.store.ReleaseAutoRollback(context.WithoutCancel(ctx), a.FailoverJobID)
		return nil, err
	}
	if err := e.store.SetAutoRollbackJob(ctx, a.FailoverJobID, st.Job.ID); err != nil {
		return st.Job, err
	}
	log.InfoContext(ctx, "auto-rollback started", "rollback_job_id", st.Job.ID, "test_duration", a.TestDuration.String())
	return st.Job, nil
}

// SweepAutoRollbacks starts the rollback of every time-boxed failover whose
// time is up and whose rollback has not started. It returns how many it
// started.
func (e *Engine) SweepAutoRollbacks(ctx context.Context) (int, error) {
	due, err := e.store.DueAutoRollbacks(ctx, 100)
	if err != nil {
		return 0, err
	}
	n := 0
	var first error
	for _, id := range due {
		job, err := e.AutoRollback(ctx, id)
		if err != nil {
			e.log.WarnContext(ctx, "auto-rollback failed; will try again", "job_id", id, "error", err)
			if first == nil {
				first = err
			}
			continue
		}
		if job != nil {
			n++
		}
	}
	return n, first
}
