package failover

import (
	"context"
	"fmt"

	"github.com/ossea/unifiedfailover/errs"
	"github.com/ossea/unifiedfailover/store"
)

// Cancel stops a pending or running failover at once: the job becomes
// cancelled, so no worker begins another of its steps, and the step
// running now is interrupted through its context (a guest shutdown, a
// final sync or an async CloudStack job ends now); the VM context becomes
// cleanup_required, and a rollback then cleans what the job made. It
// needs the role the failover needs and is audited. A rollback or a
// commit cannot be cancelled: half of one is worse than all of it.
func (e *Engine) Cancel(ctx context.Context, jobID string, who Actor, reason string) (*store.Job, error) {
	j, err := e.store.GetJob(ctx, jobID)
	if err != nil {
		return nil, err
	}
	switch j.Type {
	case JobFailover:
	case JobRollback, JobCommit:
		return nil, errs.New(errs.FailedPrecondition, "a %s cannot be cancelled: a half-done %s is worse than a finished one (job %s)",
			j.Type, j.Type, j.ExternalID)
	default:
		return nil, errs.New(errs.FailedPrecondition, "only a failover can be cancelled; job %s is a %s job", j.ExternalID, j.Type)
	}
	if err := e.authorizeJob(ctx, j, who, "cancelling"); err != nil {
		return nil, err
	}
	cause := fmt.Sprintf("cancelled by %s", who.Name)
	if reason != "" {
		cause += ": " + reason
	}
	step := j.CurrentStep
	cancelled, err := e.store.CancelFailoverJob(ctx, j.ID, cause, store.Decision{Decision: "cancel", Actor: who.Name,
		ContextID: j.ContextID, JobID: j.ID, ExternalJobID: j.ExternalID,
		Choice: map[string]any{"step": step, "status": j.Status, "reason": reason}})
	if err != nil {
		return nil, err
	}
	e.cfg.Runner.InterruptSteps(ctx, cancelled)
	e.log.InfoContext(ctx, "failover cancelled", "job_id", j.ID, "external_job_id", j.ExternalID, "context_id", j.ContextID,
		"step", step, "actor", who.Name)
	return cancelled, nil
}
