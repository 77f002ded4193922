package failover

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/ossea/unifiedfailover/api/apiv1"
	"github.com/ossea/unifiedfailover/errs"
	"github.com/ossea/unifiedfailover/queue"
	"github.com/ossea/unifiedfailover/store"
)

// FailoverRequest is a request to start a failover.
type FailoverRequest = apiv1.FailoverRequest

// Plan is what a failover, rollback or commit would do: shown for a dry
// run, and with a 428 when an approval is missing.
type Plan struct {
	Operation     string           `json:"operation"`
	ContextID     string           `json:"context_id"`
	VMName        string           `json:"vm_name"`
	Config        *Config          `json:"config,omitempty"`
	Rollback      *RollbackOptions `json:"rollback_options,omitempty"`
	FailoverJobID string           `json:"failover_job_id,omitempty"`
	Preflight     *Report          `json:"preflight,omitempty"`
	// SkippedChecks are the pre-flight checks skip_validation skips (the
	// hard ones always count).
	SkippedChecks []string            `json:"skipped_checks,omitempty"`
	Steps         []store.PlannedStep `json:"steps"`
	// Effects are what the operation does to production or the way back;
	// Needs is the role and approval they call for (approval.go).
	Effects Effects  `json:"effects"`
	Needs   Approval `json:"needs"`
	// ApprovalRequired: the request must carry "confirm": "<vm name>";
	// Approval says why.
	ApprovalRequired bool   `json:"approval_required"`
	Approval         string `json:"approval,omitempty"`
	// contextStatus is the VM context's status the plan was made under;
	// the job is created only if the context still has it
	// (store.NewJob.ContextStatus).
	contextStatus store.ContextStatus
}

// ContextStatus is the VM context's status the plan was made under.
func (p *Plan) ContextStatus() store.ContextStatus { return p.contextStatus }

// RollbackDecision is what an operator decides a rollback from: the VM,
// its latest failover, and whether it can be rolled back, retried or
// committed, with the rollback's plan or the reason it cannot run.
type RollbackDecision struct {
	VM *store.VMContext
	// Failover is the VM's latest failover; nil when it has none.
	Failover    *store.FailoverJob
	CanRollback bool
	CanRetry    bool
	CanCommit   bool
	// Plan is the rollback's plan when CanRollback.
	Plan *Plan
	// Reason says why the VM cannot be rolled back now.
	Reason string
}

// DecideRollback reads what a rollback of vm (a VM name or context id)
// after a failover of type typ would do, changing nothing.
func (e *Engine) DecideRollback(ctx context.Context, typ Type, vm string) (*RollbackDecision, error) {
	c, err := e.store.ResolveContext(ctx, vm)
	if err != nil {
		return nil, err
	}
	d := &RollbackDecision{VM: c}
	fo, err := e.store.LatestFailover(ctx, c.ContextID)
	switch {
	case errs.Is(err, errs.NotFound):
		d.Reason = "the VM has no failover"
		return d, nil
	case err != nil:
		return nil, err
	}
	d.Failover = fo
	if fo.FailoverType != string(typ) {
		d.Reason = "the VM's latest failover " + fo.ExternalJobID + " is a " + fo.FailoverType + " failover"
		return d, nil
	}
	d.CanRetry = fo.Status == store.FailoverFailed
	d.CanCommit = typ == Live && fo.Status == store.FailoverCompleted
	p, _, err := e.PlanRollback(ctx, RollbackRequest{ContextID: c.ContextID})
	switch code := errs.CodeOf(err); {
	case err == nil:
		d.CanRollback, d.Plan = true, p
	case code == errs.FailedPrecondition || code == errs.Conflict:
		d.Reason = err.Error()
	default:
		return nil, err
	}
	return d, nil
}

// Started is a job that was started, with its plan.
type Started struct {
	Job  *store.Job
	Plan *Plan
}

// resolveContext finds the context a request names: by context id, VM
// name or VMware instance UUID.
func (e *Engine) resolveContext(ctx context.Context, contextID, vmName, vmwareID string) (*store.VMContext, error) {
	switch {
	case contextID != "":
		return e.store.GetContext(ctx, contextID)
	case vmName != "":
		return e.store.ResolveContext(ctx, vmName)
	case vmwareID != "":
		c, err := e.store.ResolveContext(ctx, vmwareID)
		if err == nil && c.VMwareVMID != vmwareID {
			return nil, errs.New(errs.NotFound, "no VM context with VMware instance UUID %q", vmwareID)
		}
		return c, err
	default:
		return nil, errs.Field("context_id", "context_id, vm_name or vmware_vm_id is required")
	}
}

// PlanFailover resolves a failover request and runs pre-flight, changing
// nothing.
func (e *Engine) PlanFailover(ctx context.Context, req FailoverRequest) (*Plan, error) {
	return e.planFailover(ctx, req, nil)
}

// planFailover is PlanFailover; with an actor, one whose role does not
// allow the failover is refused before the pre-flight runs (a live
// failover's pre-flight snapshots the source VM).
func (e *Engine) planFailover(ctx context.Context, req FailoverRequest, actor *Actor) (*Plan, error) {
	vm, err := e.resolveContext(ctx, req.ContextID, req.VMName, req.VMwareVMID)
	if err != nil {
		return nil, err
	}
	mappings, err := e.store.ListMappings(ctx, vm.ContextID, "")
	if err != nil {
		return nil, err
	}
	cfg, err := Resolve(vm, req.FailoverType, req.Options, mappings, e.cfg.Now())
	if err != nil {
		return nil, err
	}
	if err := cfg.applyNaming(req.VMNaming); err != nil {
		return nil, err
	}
	if _, err := testDuration(req); err != nil {
		return nil, err
	}
	p := &Plan{Operation: string(req.FailoverType) + "-failover", ContextID: vm.ContextID, VMName: vm.VMName,
		Config: cfg, Steps: e.planSteps(JobFailover, PlanInput{Config: cfg}), contextStatus: vm.CurrentStatus}
	p.setApproval(failoverEffects(cfg))
	if actor != nil {
		if err := p.permit(*actor); err != nil {
			return p, err
		}
	}
	if p.Preflight, err = e.Preflight(ctx, vm, cfg, ""); err != nil {
		return nil, err
	}
	if cfg.SkipValidation {
		p.SkippedChecks = p.Preflight.SoftChecks()
	}
	return p, nil
}

// StartFailover starts a failover after pre-flight and approval. A dry
// run returns the plan with a nil job.
func (e *Engine) StartFailover(ctx context.Context, req FailoverRequest, who Actor) (*Started, error) {
	var p *Plan
	var err error
	if req.DryRun {
		p, err = e.planFailover(ctx, req, nil)
		return &Started{Plan: p}, err
	}
	if p, err = e.planFailover(ctx, req, &who); err != nil {
		return &Started{Plan: p}, err
	}
	if err := p.authorize(who, req.Confirm); err != nil {
		return &Started{Plan: p}, err
	}
	cfg, actor := p.Config, who.Name
	if err := e.planRunConflict(ctx, cfg.ContextID, actor); err != nil {
		return &Started{Plan: p}, err
	}
	if gerr := p.Preflight.Gate(cfg.SkipValidation); gerr != nil {
		if err := e.activeJobConflict(ctx, cfg.ContextID); err != nil {
			return &Started{Plan: p}, err
		}
		return &Started{Plan: p}, gerr
	}
	queueName := queue.QueueDefault
	if cfg.FailoverType == Live {
		queueName = queue.QueueCritical
	}
	base := fmt.Sprintf("unified-%s-failover-%s-%d", cfg.FailoverType, cfg.VMName, cfg.RequestedAt.Unix())
	var job *store.Job
	for attempt := 1; ; attempt++ {
		// Two failovers of a VM in the same second share the base id; the
		// later one gets a -2, -3 … suffix.
		cfg.JobID, cfg.ExternalJobID = uuid.NewString(), base
		if attempt > 1 {
			cfg.ExternalJobID = fmt.Sprintf("%s-%d", base, attempt)
		}
		raw, merr := json.Marshal(cfg)
		if merr != nil {
			return nil, fmt.Errorf("encoding failover config: %w", merr)
		}
		job, err = e.cfg.Runner.Start(ctx, store.NewJob{ID: cfg.JobID, ExternalID: cfg.ExternalJobID, Type: JobFailover,
			FailoverType: string(cfg.FailoverType), ContextID: cfg.ContextID, Queue: queueName, Actor: actor, Steps: p.Steps,
			ContextStatus: p.contextStatus},
			func(tx pgx.Tx, job *store.Job) error {
				if err := store.InsertFailoverJob(ctx, tx, &store.FailoverJob{JobID: job.ID, ExternalJobID: job.ExternalID,
					ContextID: cfg.ContextID, VMID: cfg.VMwareVMID, FailoverType: string(cfg.FailoverType), Config: raw}); err != nil {
					return err
				}
				if err := e.recordTestDuration(ctx, tx, actor, job, req); err != nil {
					return err
				}
				return e.recordDecisions(ctx, tx, actor, job, decisionsForFailover(req, p))
			})
		if !errs.Is(err, errs.AlreadyExists) || attempt == 20 {
			break
		}
	}
	if err != nil {
		return &Started{Plan: p}, err
	}
	e.log.InfoContext(ctx, "failover started", "job_id", job.ID, "external_job_id", job.ExternalID,
		"context_id", cfg.ContextID, "failover_type", cfg.FailoverType, "actor", actor)
	return &Started{Job: job, Plan: p}, nil
}

func decisionsForFailover(req FailoverRequest, p *Plan) map[string]map[string]any {
	cfg := p.Config
	d := map[string]map[string]any{
		"failover-options": {"failover_type": cfg.FailoverType, "options": req.Options, "resolved": cfg},
	}
	if p.Needs.Confirm {
		d["approval"] = approvalDecision(p, req.Confirm)
	}
	if cfg.AllowNonIsolatedNetwork {
		d["non-isolated-network"] = map[string]any{"nics": cfg.NICs}
	}
	if rep := p.Preflight.Replication(); cfg.AcceptRPO && rep != nil {
		d["accept-rpo"] = rpoDecision(p.Preflight, rep)
	}
	if cfg.SkipValidation {
		d["skip-validation"] = map[string]any{"operation": "failover", "skipped_checks": p.SkippedChecks,
			"failures": p.Preflight.Failures()}
	}
	return d
}

// rpoDecision is the audit record of an accept_rpo: the replication
// health the pre-flight read, and whether the acceptance was needed (the
// RPO was beyond the target or unknown).
func rpoDecision(r *Report, rep *store.Replication) map[string]any {
	d := map[string]any{"accepted": true, "needed": rep.Behind(), "state": rep.State, "rpo_seconds": rep.RPOSeconds(),
		"target_seconds": int64(rep.Target / time.Second), "oldest_disk": rep.OldestDisk}
	if rep.OldestSyncedAt != nil {
		d["oldest_synced_at"] = rep.OldestSyncedAt.UTC()
	}
	if len(rep.NeverSynced) > 0 {
		d["never_synced"] = rep.NeverSynced
	}
	for _, c := range r.Checks {
		if c.Name == "rpo" {
			d["check"] = c.Message
		}
	}
	return d
}

// approvalDecision is the audit record of an approved operation.
func approvalDecision(p *Plan, confirm string) map[string]any {
	return map[string]any{"operation": p.Operation, "confirm": confirm, "role": p.Needs.Role, "effects": p.Needs.Effects}
}

func (e *Engine) recordDecisions(ctx context.Context, tx pgx.Tx, actor string, job *store.Job, ds map[string]map[string]any) error {
	for kind, choice := range ds {
		if err := e.store.RecordDecision(ctx, tx, store.Decision{Decision: kind, Actor: actor, ContextID: job.ContextID,
			JobID: job.ID, ExternalJobID: job.ExternalID, Choice: choice}); err != nil {
			return err
		}
	}
	return nil
}

// activeJobConflict returns Conflict naming the VM's active job, if any.
// planRunConflict refuses a failover of a VM that is a member of an
// unfinished plan run, unless the run itself asks: a VM is in at most one
// unfinished job or run.
func (e *Engine) planRunConflict(ctx context.Context, contextID, actor string) error {
	runID, member, err := e.store.PlanRunHolding(ctx, contextID)
	if err != nil || runID == "" || actor == store.PlanRunActor(runID) {
		return err
	}
	return errs.New(errs.Conflict, "VM context %s is member %s of the unfinished plan run %s: act on it through the run "+
		"(retry, skip, cancel, rollback)", contextID, member, runID).WithDetails("plan_run_id", runID)
}

func (e *Engine) activeJobConflict(ctx context.Context, contextID string) error {
	active, err := e.store.ActiveJob(ctx, contextID)
	if errs.Is(err, errs.NotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	return errs.New(errs.Conflict, "VM context %s already has an active %s job %s (%s)", contextID, active.Type,
		active.ExternalID, active.ID).WithDetails("active_job_id", active.ID, "active_external_job_id", active.ExternalID)
}

// RollbackRequest is a request to roll back the latest failover of a VM.
type RollbackRequest = apiv1.RollbackRequest

// rollbackStatuses are the context statuses a rollback may start from.
var rollbackStatuses = map[store.ContextStatus]bool{store.StatusFailedOverTest: true,
	store.StatusFailedOverLive: true, store.StatusCleanupRequired: true}

// PlanRollback resolves a rollback request, changing nothing.
func (e *Engine) PlanRollback(ctx context.Context, req RollbackRequest) (*Plan, *store.FailoverJob, error) {
	name := req.VMName
	if name == "" {
		name = req.VMID
	}
	vm, err := e.resolveContext(ctx, req.ContextID, name, req.VMwareVMID)
	if err != nil {
		return nil, nil, err
	}
	// A rolled-back failover with leftovers (a forced cleanup that could
	// not clean everything) is rolled back again: just the leftovers.
	fo, err := e.store.LatestFailover(ctx, vm.ContextID, store.FailoverCompleted, store.FailoverFailed,
		store.FailoverPending, store.FailoverRunning, store.FailoverRolledBack)
	if err != nil || (fo.Status == store.FailoverRolledBack && len(fo.Leftovers) == 0) {
		return nil, nil, errs.New(errs.FailedPrecondition, "VM %s has no failover to roll back", vm.VMName)
	}
	if req.FailoverType != "" && string(req.FailoverType) != fo.FailoverType {
		return nil, nil, errs.New(errs.FailedPrecondition, "VM %s's failover to roll back is a %s failover, not %s",
			vm.VMName, fo.FailoverType, req.FailoverType).WithDetails("field", "failover_type")
	}
	if !rollbackStatuses[vm.CurrentStatus] {
		if err := e.activeJobConflict(ctx, vm.ContextID); err != nil {
			return nil, nil, err
		}
		return nil, nil, errs.New(errs.FailedPrecondition, "VM context %s is %s: there is nothing to roll back",
			vm.ContextID, vm.CurrentStatus)
	}
	opts := RollbackOptions{PowerOnSource: fo.FailoverType == string(Live), ForceCleanup: req.ForceCleanup, Reason: req.Reason}
	if req.PowerOnSource != nil {
		opts.PowerOnSource = *req.PowerOnSource
	}
	opts.WaitForTools = fo.FailoverType == string(Live)
	if req.WaitForTools != nil {
		opts.WaitForTools = *req.WaitForTools
	}
	var cfg Config
	_ = json.Unmarshal(fo.Config, &cfg)
	p := &Plan{Operation: "rollback", ContextID: vm.ContextID, VMName: vm.VMName, Config: &cfg, Rollback: &opts,
		FailoverJobID: fo.JobID, Steps: e.planSteps(JobRollback, PlanInput{Config: &cfg, Rollback: opts}),
		contextStatus: vm.CurrentStatus}
	p.setApproval(rollbackEffects(Type(fo.FailoverType), opts))
	return p, fo, nil
}

// StartRollback starts a rollback of the VM's latest failover.
func (e *Engine) StartRollback(ctx context.Context, req RollbackRequest, who Actor) (*Started, error) {
	p, fo, err := e.PlanRollback(ctx, req)
	if err != nil || req.DryRun {
		return &Started{Plan: p}, err
	}
	if err := p.authorize(who, req.Confirm); err != nil {
		return &Started{Plan: p}, err
	}
	actor := who.Name
	params, _ := json.Marshal(p.Rollback)
	job, err := e.cfg.Runner.Start(ctx, store.NewJob{Type: JobRollback, ExternalID: fmt.Sprintf("rollback-%s-%d",
		p.VMName, e.cfg.Now().UnixNano()), FailoverType: fo.FailoverType, ContextID: p.ContextID, ParentID: fo.JobID,
		Queue: queue.QueueCritical, Actor: actor, Params: params, Steps: p.Steps, ContextStatus: p.contextStatus},
		func(tx pgx.Tx, job *store.Job) error {
			if err := e.store.ClearLeftovers(ctx, tx, fo.JobID); err != nil {
				return err
			}
			ds := map[string]map[string]any{"rollback": {"failover_job_id": fo.JobID, "options": p.Rollback,
				"leftovers_before": fo.Leftovers}}
			if p.Needs.Confirm {
				ds["approval"] = approvalDecision(p, req.Confirm)
			}
			return e.recordDecisions(ctx, tx, actor, job, ds)
		})
	if err != nil {
		return &Started{Plan: p}, err
	}
	return &Started{Job: job, Plan: p}, nil
}

// CommitRequest is a request to commit a completed live failover.
type CommitRequest = apiv1.CommitRequest

// StartCommit commits a completed live failover: its rollback snapshots
// are deleted and the VM context is completed.
func (e *Engine) StartCommit(ctx context.Context, req CommitRequest, who Actor) (*Started, error) {
	actor := who.Name
	fo, err := e.store.GetFailoverJob(ctx, req.FailoverJobID)
	if err != nil {
		return nil, err
	}
	if fo.FailoverType != string(Live) {
		return nil, errs.New(errs.FailedPrecondition, "only a live failover can be committed; %s is a %s failover", fo.ExternalJobID, fo.FailoverType)
	}
	if fo.Status != store.FailoverCompleted {
		return nil, errs.New(errs.FailedPrecondition, "failover %s is %s; only a completed live failover can be committed", fo.ExternalJobID, fo.Status)
	}
	vm, err := e.store.GetContext(ctx, fo.ContextID)
	if err != nil {
		return nil, err
	}
	var cfg Config
	_ = json.Unmarshal(fo.Config, &cfg)
	p := &Plan{Operation: "commit", ContextID: vm.ContextID, VMName: vm.VMName, Config: &cfg, FailoverJobID: fo.JobID,
		Steps: e.planSteps(JobCommit, PlanInput{Config: &cfg}), contextStatus: vm.CurrentStatus}
	p.setApproval(commitEffects())
	if req.DryRun {
		return &Started{Plan: p}, nil
	}
	if err := p.authorize(who, req.Confirm); err != nil {
		return &Started{Plan: p}, err
	}
	job, err := e.cfg.Runner.Start(ctx, store.NewJob{Type: JobCommit, ExternalID: fmt.Sprintf("commit-%s-%d", vm.VMName,
		e.cfg.Now().UnixNano()), FailoverType: fo.FailoverType, ContextID: vm.ContextID, ParentID: fo.JobID,
		Queue: queue.QueueCritical, Actor: actor, Steps: p.Steps, ContextStatus: p.contextStatus},
		func(tx pgx.Tx, job *store.Job) error {
			return e.recordDecisions(ctx, tx, actor, job, map[string]map[string]any{"commit": {"failover_job_id": fo.JobID},
				"approval": approvalDecision(p, req.Confirm)})
		})
	if err != nil {
		return &Started{Plan: p}, err
	}
	return &Started{Job: job, Plan: p}, nil
}

// Retry resumes a failed failover, rollback or commit at its failed step.
// It needs the role the job's operation needs (no new confirm: the job
// was approved when it started).
func (e *Engine) Retry(ctx context.Context, jobID string, who Actor) (*store.Job, error) {
	actor := who.Name
	if err := e.authorizeRetry(ctx, jobID, who); err != nil {
		return nil, err
	}
	if fo, err := e.store.GetFailoverJob(ctx, jobID); err == nil && fo.Status != store.FailoverFailed {
		return nil, errs.New(errs.FailedPrecondition, "failover %s is %s; only a failed failover can be retried", fo.ExternalJobID, fo.Status)
	} else if err != nil && !errs.Is(err, errs.NotFound) {
		return nil, err
	}
	job, err := e.cfg.Runner.Resume(ctx, jobID)
	if err != nil {
		return nil, err
	}
	if job.Type == JobFailover {
		_ = e.store.SetFailoverStatus(ctx, job.ID, store.FailoverRunning)
	}
	if err := e.store.RecordDecision(ctx, nil, store.Decision{Decision: "retry", Actor: actor, ContextID: job.ContextID,
		JobID: job.ID, ExternalJobID: job.ExternalID, Choice: map[string]any{"resume_at": job.CurrentStep, "run": job.RunNo}}); err != nil {
		e.log.WarnContext(ctx, "could not record retry decision", "error", err, "job_id", job.ID)
	}
	return job, nil
}

// authorizeRetry checks that who may run the job's operation again.
func (e *Engine) authorizeRetry(ctx context.Context, jobID string, who Actor) error {
	j, err := e.store.GetJob(ctx, jobID)
	if err != nil {
		return err
	}
	return e.authorizeJob(ctx, j, who, "retrying")
}

// authorizeJob checks that who has the role the job's operation needs
// (its effects, as approvalFor weighs them), for verb (retrying,
// cancelling).
func (e *Engine) authorizeJob(ctx context.Context, j *store.Job, who Actor, verb string) error {
	var fx Effects
	switch j.Type {
	case JobFailover:
		fo, err := e.store.GetFailoverJob(ctx, j.ID)
		if err != nil {
			return err
		}
		var cfg Config
		if err := json.Unmarshal(fo.Config, &cfg); err != nil {
			return fmt.Errorf("reading failover %s's config: %w", fo.ExternalJobID, err)
		}
		fx = failoverEffects(&cfg)
	case JobRollback:
		var opts RollbackOptions
		_ = json.Unmarshal(j.Params, &opts)
		fx = rollbackEffects(Type(j.FailoverType), opts)
	case JobCommit:
		fx = commitEffects()
	}
	need := approvalFor(fx)
	if !who.Role.Allows(need.Role) {
		return errs.New(errs.PermissionDenied, "%s %s job %s (%s) needs the %s role; %s is %s", verb, j.Type, j.ExternalID,
			strings.Join(need.Effects, ", "), need.Role, who.Name, who.Role)
	}
	return nil
}
