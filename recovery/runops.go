package recovery

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/ossea/unifiedfailover/api/apiv1"
	"github.com/ossea/unifiedfailover/auth"
	"github.com/ossea/unifiedfailover/errs"
	"github.com/ossea/unifiedfailover/failover"
	"github.com/ossea/unifiedfailover/store"
)

// Start starts a run of a plan (its id or name) at its current version:
// the spec with its defaults is checked, each member's VM resolved, the
// run and its members created (a plan with an unfinished run, or a VM in
// another run or with an active job, is Conflict naming the holder), the
// choice audited, and the first tick enqueued. Test runs need an
// operator; live runs are not implemented yet and are refused (after the
// admin role and confirm, which they will need).
func (r *Runs) Start(ctx context.Context, planID string, req apiv1.StartPlanRunRequest, who failover.Actor) (*apiv1.PlanRun, error) {
	if req.Mode != apiv1.ModeTest && req.Mode != apiv1.ModeLive {
		return nil, errs.New(errs.InvalidArgument, "mode: must be test or live, not %q", req.Mode).WithDetails("field", "mode")
	}
	plan, err := r.cfg.Store.GetRecoveryPlan(ctx, planID)
	if err != nil {
		return nil, err
	}
	switch req.Mode {
	case apiv1.ModeTest:
	case apiv1.ModeLive:
		if !who.Role.Allows(auth.Admin) {
			return nil, errs.New(errs.PermissionDenied, "a live run of a plan needs the admin role")
		}
		if req.Confirm != plan.Name {
			return nil, errs.New(errs.ApprovalRequired, "a live run of plan %s powers off its sources: set confirm to %q",
				plan.Name, plan.Name).WithDetails("recovery_plan", plan)
		}
		return nil, errs.New(errs.FailedPrecondition, "live runs of recovery plans are not implemented yet: run the plan in test mode, "+
			"or fail its VMs over one by one").WithDetails("field", "mode")
	}
	spec := WithDefaults(plan.PlanSpec)
	spec.Name = plan.Name
	if blockers, _ := CheckSpec(spec); len(blockers) > 0 {
		return nil, errs.New(errs.FailedPrecondition, "plan %s cannot run: %s: %s", plan.Name, blockers[0].Field, blockers[0].Message).
			WithDetails("blockers", blockers)
	}
	nr := store.NewPlanRun{Plan: plan, Spec: spec, Mode: req.Mode, CreatedBy: who.Name}
	for w, wave := range spec.Waves {
		for i, m := range wave.Members {
			c, err := r.cfg.Store.ResolveContext(ctx, m.VM)
			if errs.Is(err, errs.NotFound) {
				return nil, errs.New(errs.FailedPrecondition, "plan %s: member %s: no VM context %q", plan.Name, m.ID, m.VM).
					WithDetails("field", fmt.Sprintf("waves[%d].members[%d].vm", w, i))
			} else if err != nil {
				return nil, err
			}
			nr.Members = append(nr.Members, store.NewPlanRunMember{ID: m.ID, Wave: w, Order: i, ContextID: c.ContextID,
				VMName: c.VMName, Optional: m.Optional})
		}
	}
	run, err := r.cfg.Store.CreatePlanRun(ctx, nr)
	if err != nil {
		return nil, err
	}
	r.audit(ctx, run, who, "plan-run", map[string]any{"mode": req.Mode, "plan_version": plan.Version})
	if err := r.schedule(ctx, run.ID, 0); err != nil {
		r.cfg.Log.WarnContext(ctx, "could not enqueue the first tick of a plan run; the sweeper will", "run_id", run.ID, "error", err)
	}
	return run, nil
}

// audit records an operator's choice in the audit and in the run's log.
func (r *Runs) audit(ctx context.Context, run *apiv1.PlanRun, who failover.Actor, decision string, choice map[string]any) {
	choice["run_id"], choice["plan"] = run.ID, run.PlanName
	if err := r.cfg.Store.RecordDecision(ctx, nil, store.Decision{Decision: decision, Actor: who.Name, Choice: choice}); err != nil {
		r.cfg.Log.WarnContext(ctx, "could not record a plan run decision", "run_id", run.ID, "error", err)
	}
	if err := r.cfg.Store.AddPlanRunEvent(ctx, run.ID, apiv1.PlanRunEvent{Actor: who.Name, Message: decision, Attrs: choice}); err != nil {
		r.cfg.Log.WarnContext(ctx, "could not record a plan run event", "run_id", run.ID, "error", err)
	}
}

// choose runs an operator's choice on a run under its lock, then kicks a
// tick so the run acts on it at once.
func (r *Runs) choose(ctx context.Context, runID string, fn func(run *apiv1.PlanRun) error) (*apiv1.PlanRun, error) {
	err := r.cfg.Store.WithPlanRunLock(ctx, runID, func() error {
		run, err := r.cfg.Store.GetPlanRun(ctx, runID)
		if err != nil {
			return err
		}
		return fn(run)
	})
	if err != nil {
		return nil, err
	}
	if err := r.schedule(ctx, runID, 0); err != nil {
		r.cfg.Log.WarnContext(ctx, "could not enqueue a tick of a plan run; the sweeper will", "run_id", runID, "error", err)
	}
	return r.cfg.Store.GetPlanRun(ctx, runID)
}

func (r *Runs) pick(run *apiv1.PlanRun, ids []string, verb string, ok func(*apiv1.PlanRunMember) bool) ([]*apiv1.PlanRunMember, error) {
	if len(ids) == 0 {
		return nil, errs.New(errs.InvalidArgument, "members: name at least one member to %s", verb).WithDetails("field", "members")
	}
	var out []*apiv1.PlanRunMember
	for _, id := range ids {
		i := slices.IndexFunc(run.Members, func(m apiv1.PlanRunMember) bool { return m.ID == id })
		if i < 0 {
			return nil, errs.New(errs.InvalidArgument, "members: run %s has no member %q", run.ID, id).WithDetails("field", "members")
		}
		m := &run.Members[i]
		if !ok(m) {
			return nil, errs.New(errs.FailedPrecondition, "member %s is %s: it cannot be %s", id, m.State, verbPast(verb))
		}
		out = append(out, m)
	}
	return out, nil
}

func verbPast(v string) string {
	if v == "skip" {
		return "skipped"
	}
	return v + "ed"
}

func needStatus(run *apiv1.PlanRun, verb string, statuses ...string) error {
	if !slices.Contains(statuses, run.Status) {
		return errs.New(errs.FailedPrecondition, "run %s is %s: %s needs a run that is %s", run.ID, run.Status, verb,
			strings.Join(statuses, " or "))
	}
	return nil
}

// setRunning puts a halted or ended run back to running.
func (r *Runs) setRunning(ctx context.Context, run *apiv1.PlanRun) error {
	if run.Status == apiv1.RunRunning {
		return nil
	}
	return r.cfg.Store.SetPlanRunStatus(ctx, run.ID, apiv1.RunRunning, "")
}

// Retry runs failed or skipped members again: a failed failover job is
// resumed at its failed step (the engine's retry), a member whose job
// completed is checked again, one without a job starts anew; members
// skipped because a retried member failed are pending again.
func (r *Runs) Retry(ctx context.Context, runID string, ids []string, who failover.Actor) (*apiv1.PlanRun, error) {
	return r.choose(ctx, runID, func(run *apiv1.PlanRun) error {
		if err := needStatus(run, "retry", apiv1.RunRunning, apiv1.RunHalted, apiv1.RunFailed, apiv1.RunCompleted); err != nil {
			return err
		}
		ms, err := r.pick(run, ids, "retry", func(m *apiv1.PlanRunMember) bool {
			return m.State == apiv1.MemberFailed || m.State == apiv1.MemberSkipped
		})
		if err != nil {
			return err
		}
		if err := r.setRunning(ctx, run); err != nil {
			return err
		}
		now := r.now()
		waves := map[int]bool{}
		for _, m := range ms {
			waves[m.Wave] = true
			m.Reason, m.Waived, m.EndedAt, m.ReadyAt, m.CheckedAt = "", false, nil, nil, nil
			var j *store.Job
			if m.JobID != "" {
				if j, err = r.cfg.Store.GetJob(ctx, m.JobID); err != nil {
					return err
				}
			}
			switch {
			case j != nil && j.Status == store.JobCompleted:
				m.State, m.JobDoneAt = apiv1.MemberChecking, &now
			case j != nil && j.Status == store.JobFailed:
				if _, err := r.cfg.Engine.Retry(ctx, j.ID, who); err != nil {
					return err
				}
				m.State, m.JobDoneAt, m.Attempts = apiv1.MemberFailingOver, nil, m.Attempts+1
			default:
				m.State, m.JobID, m.StartedAt, m.JobDoneAt = apiv1.MemberPending, "", nil, nil
			}
			if err := r.save(ctx, run, m); err != nil {
				return err
			}
		}
		for i := range run.Members {
			o := &run.Members[i]
			if waves[o.Wave] && o.State == apiv1.MemberSkipped && strings.HasPrefix(o.Reason, apiv1.ReasonDependencyFailed) {
				o.State, o.Reason, o.EndedAt = apiv1.MemberPending, "", nil
				if err := r.save(ctx, run, o); err != nil {
					return err
				}
			}
		}
		r.audit(ctx, run, who, "plan-run-retry", map[string]any{"members": ids})
		return nil
	})
}

// Skip skips pending or failed members: they no longer hold their wave,
// and their hard dependents are skipped in turn.
func (r *Runs) Skip(ctx context.Context, runID string, ids []string, who failover.Actor) (*apiv1.PlanRun, error) {
	return r.choose(ctx, runID, func(run *apiv1.PlanRun) error {
		if err := needStatus(run, "skip", apiv1.RunRunning, apiv1.RunHalted); err != nil {
			return err
		}
		ms, err := r.pick(run, ids, "skip", func(m *apiv1.PlanRunMember) bool {
			return m.State == apiv1.MemberPending || m.State == apiv1.MemberFailed
		})
		if err != nil {
			return err
		}
		now := r.now()
		for _, m := range ms {
			m.State, m.Reason, m.EndedAt = apiv1.MemberSkipped, "skipped by "+who.Name, &now
			if err := r.save(ctx, run, m); err != nil {
				return err
			}
		}
		if err := r.setRunning(ctx, run); err != nil {
			return err
		}
		r.audit(ctx, run, who, "plan-run-skip", map[string]any{"members": ids})
		return nil
	})
}

// Continue takes a halted run on past its failed members: they stay
// FAILED (their hard dependents skipped), and the next waves start.
func (r *Runs) Continue(ctx context.Context, runID string, who failover.Actor) (*apiv1.PlanRun, error) {
	return r.choose(ctx, runID, func(run *apiv1.PlanRun) error {
		if err := needStatus(run, "continue", apiv1.RunHalted); err != nil {
			return err
		}
		var waived []string
		for i := range run.Members {
			m := &run.Members[i]
			if m.State == apiv1.MemberFailed && !m.Optional && !m.Waived {
				m.Waived = true
				waived = append(waived, m.ID)
				if err := r.save(ctx, run, m); err != nil {
					return err
				}
			}
		}
		if err := r.setRunning(ctx, run); err != nil {
			return err
		}
		r.audit(ctx, run, who, "plan-run-continue", map[string]any{"past_members": waived})
		return nil
	})
}

// Cancel stops a run: no member starts any more (the pending ones are
// skipped); the failover jobs in flight are left to finish, so no VM is
// left half failed over, and a rollback of the run waits for them.
func (r *Runs) Cancel(ctx context.Context, runID string, who failover.Actor) (*apiv1.PlanRun, error) {
	return r.choose(ctx, runID, func(run *apiv1.PlanRun) error {
		if err := needStatus(run, "cancel", apiv1.RunRunning, apiv1.RunHalted); err != nil {
			return err
		}
		if err := r.skipPending(ctx, run, "run cancelled by "+who.Name); err != nil {
			return err
		}
		if err := r.cfg.Store.SetPlanRunStatus(ctx, run.ID, apiv1.RunCancelled, "cancelled by "+who.Name); err != nil {
			return err
		}
		r.audit(ctx, run, who, "plan-run-cancel", map[string]any{})
		return nil
	})
}

func (r *Runs) skipPending(ctx context.Context, run *apiv1.PlanRun, reason string) error {
	now := r.now()
	for i := range run.Members {
		m := &run.Members[i]
		if m.State == apiv1.MemberPending {
			m.State, m.Reason, m.EndedAt = apiv1.MemberSkipped, reason, &now
			if err := r.save(ctx, run, m); err != nil {
				return err
			}
		}
	}
	return nil
}

// Rollback rolls back what the run made: the failovers it started, in
// reverse wave and dependency order. A running run stops starting
// members first. Run again after a failed rollback, it resumes the failed
// rollback jobs and leaves the rolled-back members alone.
func (r *Runs) Rollback(ctx context.Context, runID string, who failover.Actor) (*apiv1.PlanRun, error) {
	return r.choose(ctx, runID, func(run *apiv1.PlanRun) error {
		if err := needStatus(run, "rollback", apiv1.RunRunning, apiv1.RunHalted, apiv1.RunCompleted, apiv1.RunFailed,
			apiv1.RunCancelled, apiv1.RunRollingBack, apiv1.RunRolledBack); err != nil {
			return err
		}
		if err := r.skipPending(ctx, run, "run rolled back by "+who.Name); err != nil {
			return err
		}
		resumed := []string{}
		for i := range run.Members {
			m := &run.Members[i]
			if rollbackFailed(m) && m.RollbackJobID != "" {
				if j, err := r.cfg.Store.GetJob(ctx, m.RollbackJobID); err == nil && j.Status == store.JobFailed {
					if _, err := r.cfg.Engine.Retry(ctx, j.ID, who); err != nil {
						return err
					}
					m.State, m.Reason, m.EndedAt = apiv1.MemberRollingBack, "", nil
					resumed = append(resumed, m.ID)
				} else {
					m.State, m.Reason, m.RollbackJobID = apiv1.MemberFailed, "", ""
				}
				if err := r.save(ctx, run, m); err != nil {
					return err
				}
			} else if rollbackFailed(m) {
				m.Reason = ""
				if err := r.save(ctx, run, m); err != nil {
					return err
				}
			}
		}
		if run.Status != apiv1.RunRollingBack {
			if err := r.cfg.Store.SetPlanRunStatus(ctx, run.ID, apiv1.RunRollingBack, "rollback by "+who.Name); err != nil {
				return err
			}
		}
		r.audit(ctx, run, who, "plan-run-rollback", map[string]any{"resumed": resumed})
		return nil
	})
}
