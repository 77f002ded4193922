package tasks

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/ossea/unifiedfailover/cloudstack"
	"github.com/ossea/unifiedfailover/drill"
	"github.com/ossea/unifiedfailover/errs"
	"github.com/ossea/unifiedfailover/failover"
	"github.com/ossea/unifiedfailover/queue"
	"github.com/ossea/unifiedfailover/store"
)

// drills is what the drill chain's steps work with: the drill runner (it
// ends a run, and starts the rollbacks of a failed one) and its
// configuration.
type drills struct {
	*drill.Drills
	cfg   drill.Config
	store *store.Store
	eng   *failover.Engine
}

var retryDrill = queue.RetryPolicy{MaxAttempts: 8, Backoff: 2 * time.Second, MaxBackoff: time.Minute}

// Drill returns the drill job's chain: test failovers (at most
// max_parallel at a time; busy VMs skipped), hold, rollbacks of every VM
// the drill failed over, report. Each step re-reads the run from Postgres
// and the per-VM job ids recorded there, so a re-run after a crash never
// starts a second failover or rollback of a VM. The drill job holds no VM lock (its
// context is NULL): the per-VM jobs take them.
func Drill(dr *drill.Drills) *queue.Chain {
	cfg := dr.Settings()
	d := &drills{Drills: dr, cfg: cfg, store: cfg.Store, eng: cfg.Engine}
	return &queue.Chain{Type: drill.JobType, OnFailed: d.onFailed, Steps: []queue.Step{
		{Name: "test-failovers", Run: d.failovers, Retry: retryDrill, Timeout: 12 * time.Hour},
		{Name: "hold", Run: d.hold, Retry: retryDrill, Timeout: drill.MaxHold + time.Hour},
		{Name: "rollbacks", Run: d.rollbacks, Retry: retryDrill, Timeout: 12 * time.Hour},
		{Name: "report", Run: d.report, Retry: retryDrill, Timeout: 5 * time.Minute},
	}}
}

// load reads the run of a drill job.
func (d *drills) load(ctx context.Context, job *store.Job) (*store.DrillRun, error) {
	return drill.RunOfJob(ctx, d.store, job)
}

// eachVM runs fn for the VMs that want it, at most n at once. fn returns
// only errors that should fail the step attempt (database trouble); a
// VM's own failure is recorded on the VM.
func eachVM(ctx context.Context, vms []store.DrillRunVM, n int, want func(*store.DrillRunVM) bool,
	fn func(context.Context, *store.DrillRunVM) error) error {
	sem := make(chan struct{}, max(n, 1))
	var wg sync.WaitGroup
	var mu sync.Mutex
	var errList []error
	for i := range vms {
		v := &vms[i]
		if !want(v) {
			continue
		}
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			wg.Wait()
			return fmt.Errorf("drill: %w", ctx.Err())
		}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			if err := fn(ctx, v); err != nil {
				mu.Lock()
				errList = append(errList, fmt.Errorf("VM %s: %w", v.ContextID, err))
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return errors.Join(errList...)
}

// failovers is the first step: a test failover of every VM.
func (d *drills) failovers(ctx context.Context, run *queue.StepRun) error {
	dr, err := d.load(ctx, run.Job)
	if err != nil {
		return err
	}
	if err := d.store.StartDrillRun(ctx, dr.ID); err != nil {
		return err
	}
	run.Event(ctx, slog.LevelInfo, "drill started", map[string]any{"run_id": dr.ID, "schedule": dr.ScheduleName,
		"vms": len(dr.VMs), "max_parallel": dr.MaxParallel})
	return eachVM(ctx, dr.VMs, dr.MaxParallel,
		func(v *store.DrillRunVM) bool {
			return v.State == store.DrillVMPending || v.State == store.DrillVMFailingOver
		},
		func(ctx context.Context, v *store.DrillRunVM) error { return d.failoverVM(ctx, run, dr, v) })
}

func (d *drills) save(ctx context.Context, v *store.DrillRunVM) error {
	return d.store.UpdateDrillRunVM(context.WithoutCancel(ctx), v)
}

func (d *drills) skip(ctx context.Context, run *queue.StepRun, v *store.DrillRunVM, reason string) error {
	v.State, v.Outcome, v.SkipReason = store.DrillVMSkipped, "skipped", reason
	run.Event(ctx, slog.LevelWarn, "VM skipped", map[string]any{"context_id": v.ContextID, "vm_name": v.VMName, "reason": reason})
	return d.save(ctx, v)
}

// failoverVM drives one VM's test failover: skip it when busy, else start
// the failover (or find the one a crashed attempt started), wait for it,
// and check the destination VM runs.
func (d *drills) failoverVM(ctx context.Context, run *queue.StepRun, dr *store.DrillRun, v *store.DrillRunVM) error {
	actor := drill.Actor(dr.ScheduleName)
	if v.FailoverJobID == "" && v.FailoverIntentAt == nil {
		// A VM busy with another job, or not ready for a failover, is
		// skipped: never queued behind the other job, never touched.
		if active, err := d.store.ActiveJob(ctx, v.ContextID); err == nil {
			return d.skip(ctx, run, v, fmt.Sprintf("VM busy with %s job %s", active.Type, active.ExternalID))
		} else if !errs.Is(err, errs.NotFound) {
			return err
		}
		vm, err := d.store.GetContext(ctx, v.ContextID)
		if errs.Is(err, errs.NotFound) {
			v.State, v.Outcome, v.Error = store.DrillVMFailoverFailed, "failed", "VM context no longer exists"
			return d.save(ctx, v)
		} else if err != nil {
			return err
		}
		if vm.CurrentStatus != store.StatusReadyForFailover {
			return d.skip(ctx, run, v, fmt.Sprintf("VM context is %s, not ready_for_failover", vm.CurrentStatus))
		}
		now := d.cfg.Now().UTC()
		v.FailoverIntentAt, v.State = &now, store.DrillVMFailingOver
		if err := d.save(ctx, v); err != nil {
			return err
		}
	}
	if v.FailoverJobID == "" {
		// An earlier attempt may have started the failover and died before
		// recording it: adopt it rather than start a second one.
		j, err := d.findJob(ctx, v.ContextID, failover.JobFailover, func(j *store.Job) bool {
			return j.Actor == actor && !j.CreatedAt.Before(v.FailoverIntentAt.Add(-time.Second))
		})
		if err != nil {
			return err
		}
		if j != nil {
			v.FailoverJobID = j.ID
			if err := d.save(ctx, v); err != nil {
				return err
			}
		}
	}
	if v.FailoverJobID == "" {
		st, err := d.eng.StartFailover(ctx, failover.FailoverRequest{ContextID: v.ContextID, FailoverType: failover.Test}, failover.System(actor))
		switch {
		case errs.Is(err, errs.Conflict):
			return d.skip(ctx, run, v, "VM busy: "+err.Error())
		case err != nil && errs.IsTransient(err):
			return err
		case err != nil:
			v.State, v.Outcome, v.Error = store.DrillVMFailoverFailed, "failed", "the test failover did not start: "+err.Error()
			run.Event(ctx, slog.LevelError, "test failover did not start", map[string]any{"context_id": v.ContextID, "error": err.Error()})
			return d.save(ctx, v)
		}
		v.FailoverJobID = st.Job.ID
		if err := d.save(ctx, v); err != nil {
			return err
		}
		run.Event(ctx, slog.LevelInfo, "test failover started", map[string]any{"context_id": v.ContextID,
			"vm_name": v.VMName, "failover_job_id": st.Job.ID, "external_job_id": st.Job.ExternalID})
	}
	j, err := d.wait(ctx, run, v.FailoverJobID)
	if err != nil {
		return err
	}
	if rto := rtoOf(j); rto != nil {
		v.RTOSeconds = rto
	}
	if j.Status != store.JobCompleted {
		v.State, v.Outcome, v.Error = store.DrillVMFailoverFailed, "failed", "test failover "+string(j.Status)+": "+j.Error
		return d.save(ctx, v)
	}
	v.State = store.DrillVMFailedOver
	id, state, err := d.eng.DestinationState(ctx, j.ID)
	v.DestinationVMID, v.DestinationState = id, state
	switch {
	case err != nil && errs.IsTransient(err):
		return err
	case err != nil:
		v.Outcome, v.Error = "failed", "could not check the destination VM: "+err.Error()
	case state != cloudstack.StateRunning:
		v.Outcome, v.Error = "failed", fmt.Sprintf("the destination VM %s is %s, not Running", id, state)
	default:
		v.Outcome = "passed"
	}
	run.Event(ctx, slog.LevelInfo, "test failover ended", map[string]any{"context_id": v.ContextID, "vm_name": v.VMName,
		"destination_vm_id": id, "destination_state": state, "rto_seconds": v.RTOSeconds})
	return d.save(ctx, v)
}

// rtoOf is a failover's RTO: from the request (job creation) to the
// destination VM running (end of vm-startup).
func rtoOf(j *store.Job) *float64 {
	s := j.Step("vm-startup")
	if s == nil || s.Status != store.StepCompleted || s.EndedAt == nil {
		return nil
	}
	v := s.EndedAt.Sub(j.CreatedAt).Seconds()
	return &v
}

// findJob returns the newest job of a type on a context that matches and
// that no drill run has recorded, or nil.
func (d *drills) findJob(ctx context.Context, contextID, typ string, match func(*store.Job) bool) (*store.Job, error) {
	jobs, err := d.store.ListJobs(ctx, store.JobFilter{ContextID: contextID, Type: typ, Limit: 20})
	if err != nil {
		return nil, err
	}
	for _, j := range jobs {
		if !match(j) {
			continue
		}
		owner, err := d.store.DrillRunOfJob(ctx, j.ID)
		if err != nil {
			return nil, err
		}
		if owner == "" {
			return j, nil
		}
	}
	return nil, nil
}

// wait polls a job until it ends, keeping the drill job alive.
func (d *drills) wait(ctx context.Context, run *queue.StepRun, jobID string) (*store.Job, error) {
	t := time.NewTicker(d.cfg.PollInterval)
	defer t.Stop()
	touched := d.cfg.Now()
	for {
		j, err := d.store.GetJob(ctx, jobID)
		if err != nil && !errs.IsTransient(err) {
			return nil, err
		}
		if err == nil && !j.Status.Active() {
			return j, nil
		}
		if d.cfg.Now().Sub(touched) > 30*time.Second {
			_ = d.store.TouchJob(ctx, run.Job.ID)
			touched = d.cfg.Now()
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("waiting for job %s: %w", jobID, ctx.Err())
		case <-t.C:
		}
	}
}

// hold keeps the test copies up for the schedule's hold. The end of the
// hold is stored once, so a re-run waits only for what is left.
func (d *drills) hold(ctx context.Context, run *queue.StepRun) error {
	dr, err := d.load(ctx, run.Job)
	if err != nil {
		return err
	}
	up := 0
	for _, v := range dr.VMs {
		if v.State == store.DrillVMFailedOver {
			up++
		}
	}
	if up == 0 || dr.HoldSeconds == 0 {
		run.Event(ctx, slog.LevelInfo, "no hold", map[string]any{"vms_up": up, "hold_seconds": dr.HoldSeconds})
		return nil
	}
	until, err := d.store.SetDrillHoldUntil(ctx, dr.ID, d.cfg.Now().Add(time.Duration(dr.HoldSeconds)*time.Second))
	if err != nil {
		return err
	}
	run.Event(ctx, slog.LevelInfo, "holding", map[string]any{"until": until, "vms_up": up})
	for {
		left := time.Until(until)
		if left <= 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("holding: %w", ctx.Err())
		case <-time.After(min(left, 30*time.Second)):
			_ = d.store.TouchJob(ctx, run.Job.ID)
		}
	}
}

// rollbacks rolls back every VM the drill started a failover of, whatever
// the failover's outcome.
func (d *drills) rollbacks(ctx context.Context, run *queue.StepRun) error {
	dr, err := d.load(ctx, run.Job)
	if err != nil {
		return err
	}
	return eachVM(ctx, dr.VMs, dr.MaxParallel, drill.NeedsRollback,
		func(ctx context.Context, v *store.DrillRunVM) error { return d.rollbackVM(ctx, run, dr, v) })
}

func (d *drills) rollbackVM(ctx context.Context, run *queue.StepRun, dr *store.DrillRun, v *store.DrillRunVM) error {
	actor := drill.Actor(dr.ScheduleName)
	failed := func(msg string) error {
		v.State, v.Outcome = store.DrillVMRollbackFailed, "failed"
		v.Error = joinErr(v.Error, msg)
		run.Event(ctx, slog.LevelError, "rollback failed", map[string]any{"context_id": v.ContextID, "error": msg})
		return d.save(ctx, v)
	}
	if v.RollbackJobID == "" {
		// Look first: a rollback of this failover may exist (started by an
		// attempt that died before recording it, or by the operator).
		j, err := d.findJob(ctx, v.ContextID, failover.JobRollback, func(j *store.Job) bool { return j.ParentID == v.FailoverJobID })
		if err != nil {
			return err
		}
		if j != nil {
			v.RollbackJobID = j.ID
			if err := d.save(ctx, v); err != nil {
				return err
			}
		}
	}
	if v.RollbackJobID == "" {
		fo, err := d.store.GetFailoverJob(ctx, v.FailoverJobID)
		if err != nil {
			return err
		}
		if fo.Status == store.FailoverRolledBack {
			v.State = store.DrillVMRolledBack
			return d.save(ctx, v)
		}
		now := d.cfg.Now().UTC()
		v.RollbackIntentAt, v.State = &now, store.DrillVMRollingBack
		if err := d.save(ctx, v); err != nil {
			return err
		}
		st, err := d.eng.StartRollback(ctx, failover.RollbackRequest{ContextID: v.ContextID,
			Reason: fmt.Sprintf("DR drill %s, run %s", dr.ScheduleName, dr.ID)}, failover.System(actor))
		if errs.Is(err, errs.Conflict) {
			if active, aerr := d.store.ActiveJob(ctx, v.ContextID); aerr == nil && active.Type == failover.JobRollback &&
				active.ParentID == v.FailoverJobID {
				st, err = &failover.Started{Job: active}, nil
			}
		}
		if err != nil {
			if errs.IsTransient(err) {
				return err
			}
			return failed("the rollback did not start: " + err.Error())
		}
		v.RollbackJobID = st.Job.ID
		if err := d.save(ctx, v); err != nil {
			return err
		}
		run.Event(ctx, slog.LevelInfo, "rollback started", map[string]any{"context_id": v.ContextID,
			"vm_name": v.VMName, "rollback_job_id": st.Job.ID})
	}
	j, err := d.wait(ctx, run, v.RollbackJobID)
	if err != nil {
		return err
	}
	if j.Status != store.JobCompleted {
		return failed("rollback " + string(j.Status) + ": " + j.Error)
	}
	v.State = store.DrillVMRolledBack
	return d.save(ctx, v)
}

func joinErr(a, b string) string {
	if a == "" {
		return b
	}
	return a + "; " + b
}

// report writes the run's report and ends the run passed or failed.
func (d *drills) report(ctx context.Context, run *queue.StepRun) error {
	dr, err := d.load(ctx, run.Job)
	if err != nil {
		return err
	}
	return d.finish(ctx, run, dr, "")
}

func (d *drills) finish(ctx context.Context, run *queue.StepRun, dr *store.DrillRun, cause string) error {
	rep, ended, err := d.End(ctx, dr, cause)
	if err != nil {
		return err
	}
	if ended {
		run.Event(ctx, slog.LevelInfo, "drill ended", map[string]any{"run_id": dr.ID, "status": rep.Status,
			"passed": rep.Totals.Passed, "failed": rep.Totals.Failed, "skipped": rep.Totals.Skipped})
	}
	return nil
}

// onFailed runs when a drill step finally fails: every VM the drill failed
// over and did not roll back yet gets its rollback started (not waited
// on), and the run ends failed with what is known.
func (d *drills) onFailed(ctx context.Context, run *queue.StepRun, cause error) error {
	dr, err := d.load(ctx, run.Job)
	if err != nil {
		return err
	}
	d.RollBackDrilled(ctx, run.Log, dr)
	return d.finish(ctx, run, dr, fmt.Sprintf("step %s failed: %v", run.Step.Name, cause))
}
