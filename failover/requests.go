package failover

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/ossea/unifiedfailover/errs"
	"github.com/ossea/unifiedfailover/queue"
	"github.com/ossea/unifiedfailover/store"
)

// FailoverRequest is a request to start a failover.
type FailoverRequest struct {
	ContextID    string `json:"context_id,omitempty"`
	VMName       string `json:"vm_name,omitempty"`
	FailoverType Type   `json:"failover_type"`
	Options
	// DryRun returns the plan and runs nothing.
	DryRun bool `json:"dry_run,omitempty"`
	// Confirm approves a live failover: it must be the VM's name.
	Confirm string `json:"confirm,omitempty"`
	// TestDuration time-boxes a test failover (for example "30m"): it is
	// rolled back by itself that long after it completed (autorollback.go).
	TestDuration string `json:"test_duration,omitempty"`
}

// Plan is what a failover, rollback or commit would do: shown for a dry
// run, and with a 428 when an approval is missing.
type Plan struct {
	Operation        string              `json:"operation"`
	ContextID        string              `json:"context_id"`
	VMName           string              `json:"vm_name"`
	Config           *Config             `json:"config,omitempty"`
	Rollback         *RollbackOptions    `json:"rollback_options,omitempty"`
	FailoverJobID    string              `json:"failover_job_id,omitempty"`
	Preflight        *Report             `json:"preflight,omitempty"`
	Steps            []store.PlannedStep `json:"steps"`
	ApprovalRequired bool                `json:"approval_required"`
	Approval         string              `json:"approval,omitempty"`
}

// Started is a job that was started, with its plan.
type Started struct {
	Job  *store.Job
	Plan *Plan
}

// resolveContext finds the context a request names.
func (e *Engine) resolveContext(ctx context.Context, contextID, vmName string) (*store.VMContext, error) {
	switch {
	case contextID != "":
		return e.store.GetContext(ctx, contextID)
	case vmName != "":
		return e.store.ResolveContext(ctx, vmName)
	default:
		return nil, fieldError("context_id", "context_id or vm_name is required")
	}
}

// PlanFailover resolves a failover request and runs pre-flight, changing
// nothing.
func (e *Engine) PlanFailover(ctx context.Context, req FailoverRequest) (*Plan, error) {
	vm, err := e.resolveContext(ctx, req.ContextID, req.VMName)
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
	if _, err := testDuration(req); err != nil {
		return nil, err
	}
	rep, err := e.Preflight(ctx, vm, cfg, "")
	if err != nil {
		return nil, err
	}
	p := &Plan{Operation: string(req.FailoverType) + "-failover", ContextID: vm.ContextID, VMName: vm.VMName,
		Config: cfg, Preflight: rep, Steps: planSteps(failoverChain, &plan{cfg: cfg})}
	if cfg.FailoverType == Live {
		p.ApprovalRequired = true
		p.Approval = fmt.Sprintf(`a live failover needs "confirm": %q`, vm.VMName)
	}
	return p, nil
}

// StartFailover starts a failover after pre-flight and approval. A dry
// run returns the plan with a nil job.
func (e *Engine) StartFailover(ctx context.Context, req FailoverRequest, actor string) (*Started, error) {
	p, err := e.PlanFailover(ctx, req)
	if err != nil || req.DryRun {
		return &Started{Plan: p}, err
	}
	cfg := p.Config
	if cfg.FailoverType == Live && req.Confirm != cfg.VMName {
		return &Started{Plan: p}, errs.New(errs.ApprovalRequired, "%s", p.Approval).WithDetails("plan", p)
	}
	if !cfg.SkipValidation && !p.Preflight.Passed {
		if err := e.activeJobConflict(ctx, cfg.ContextID); err != nil {
			return &Started{Plan: p}, err
		}
		return &Started{Plan: p}, errs.New(errs.FailedPrecondition, "pre-flight failed: %s",
			strings.Join(p.Preflight.Failures(), "; ")).WithDetails("preflight", p.Preflight)
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
			FailoverType: string(cfg.FailoverType), ContextID: cfg.ContextID, Queue: queueName, Actor: actor, Steps: p.Steps},
			func(tx pgx.Tx, job *store.Job) error {
				if err := store.InsertFailoverJob(ctx, tx, &store.FailoverJob{JobID: job.ID, ExternalJobID: job.ExternalID,
					ContextID: cfg.ContextID, VMID: cfg.VMwareVMID, FailoverType: string(cfg.FailoverType), Config: raw}); err != nil {
					return err
				}
				if err := e.recordTestDuration(ctx, tx, actor, job, req); err != nil {
					return err
				}
				return e.recordDecisions(ctx, tx, actor, job, decisionsForFailover(req, cfg))
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

func decisionsForFailover(req FailoverRequest, cfg *Config) map[string]map[string]any {
	d := map[string]map[string]any{
		"failover-options": {"failover_type": cfg.FailoverType, "options": req.Options, "resolved": cfg},
	}
	if cfg.FailoverType == Live {
		d["approval"] = map[string]any{"operation": "live-failover", "confirm": req.Confirm}
	}
	if cfg.SkipValidation {
		d["skip-validation"] = map[string]any{"operation": "failover"}
	}
	return d
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
type RollbackRequest struct {
	ContextID     string `json:"context_id,omitempty"`
	VMName        string `json:"vm_name,omitempty"`
	PowerOnSource *bool  `json:"power_on_source,omitempty"`
	ForceCleanup  bool   `json:"force_cleanup,omitempty"`
	Reason        string `json:"reason,omitempty"`
	DryRun        bool   `json:"dry_run,omitempty"`
	// Confirm approves the rollback of a live failover: the VM's name.
	Confirm string `json:"confirm,omitempty"`
}

// rollbackStatuses are the context statuses a rollback may start from.
var rollbackStatuses = map[store.ContextStatus]bool{store.StatusFailedOverTest: true,
	store.StatusFailedOverLive: true, store.StatusCleanupRequired: true}

// PlanRollback resolves a rollback request, changing nothing.
func (e *Engine) PlanRollback(ctx context.Context, req RollbackRequest) (*Plan, *store.FailoverJob, error) {
	vm, err := e.resolveContext(ctx, req.ContextID, req.VMName)
	if err != nil {
		return nil, nil, err
	}
	fo, err := e.store.LatestFailover(ctx, vm.ContextID, store.FailoverCompleted, store.FailoverFailed,
		store.FailoverPending, store.FailoverRunning)
	if err != nil {
		return nil, nil, errs.New(errs.FailedPrecondition, "VM %s has no failover to roll back", vm.VMName)
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
	var cfg Config
	_ = json.Unmarshal(fo.Config, &cfg)
	p := &Plan{Operation: "rollback", ContextID: vm.ContextID, VMName: vm.VMName, Config: &cfg, Rollback: &opts,
		FailoverJobID: fo.JobID, Steps: planSteps(rollbackChain, &plan{cfg: &cfg, rollback: opts})}
	if fo.FailoverType == string(Live) {
		p.ApprovalRequired = true
		p.Approval = fmt.Sprintf(`the rollback of a live failover needs "confirm": %q`, vm.VMName)
	}
	return p, fo, nil
}

// StartRollback starts a rollback of the VM's latest failover.
func (e *Engine) StartRollback(ctx context.Context, req RollbackRequest, actor string) (*Started, error) {
	p, fo, err := e.PlanRollback(ctx, req)
	if err != nil || req.DryRun {
		return &Started{Plan: p}, err
	}
	if p.ApprovalRequired && req.Confirm != p.VMName {
		return &Started{Plan: p}, errs.New(errs.ApprovalRequired, "%s", p.Approval).WithDetails("plan", p)
	}
	params, _ := json.Marshal(p.Rollback)
	job, err := e.cfg.Runner.Start(ctx, store.NewJob{Type: JobRollback, ExternalID: fmt.Sprintf("rollback-%s-%d",
		p.VMName, e.cfg.Now().UnixNano()), FailoverType: fo.FailoverType, ContextID: p.ContextID, ParentID: fo.JobID,
		Queue: queue.QueueCritical, Actor: actor, Params: params, Steps: p.Steps},
		func(tx pgx.Tx, job *store.Job) error {
			ds := map[string]map[string]any{"rollback": {"failover_job_id": fo.JobID, "options": p.Rollback}}
			if p.ApprovalRequired {
				ds["approval"] = map[string]any{"operation": "rollback-live", "confirm": req.Confirm}
			}
			return e.recordDecisions(ctx, tx, actor, job, ds)
		})
	if err != nil {
		return &Started{Plan: p}, err
	}
	return &Started{Job: job, Plan: p}, nil
}

// StartCommit commits a completed live failover: its rollback snapshots
// are deleted and the VM context is completed.
func (e *Engine) StartCommit(ctx context.Context, failoverJobID, actor string) (*Started, error) {
	fo, err := e.store.GetFailoverJob(ctx, failoverJobID)
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
		Steps: planSteps(commitChain, &plan{cfg: &cfg})}
	job, err := e.cfg.Runner.Start(ctx, store.NewJob{Type: JobCommit, ExternalID: fmt.Sprintf("commit-%s-%d", vm.VMName,
		e.cfg.Now().UnixNano()), FailoverType: fo.FailoverType, ContextID: vm.ContextID, ParentID: fo.JobID,
		Queue: queue.QueueCritical, Actor: actor, Steps: p.Steps},
		func(tx pgx.Tx, job *store.Job) error {
			return e.recordDecisions(ctx, tx, actor, job, map[string]map[string]any{"commit": {"failover_job_id": fo.JobID}})
		})
	if err != nil {
		return &Started{Plan: p}, err
	}
	return &Started{Job: job, Plan: p}, nil
}

// Retry resumes a failed failover, rollback or commit at its failed step.
func (e *Engine) Retry(ctx context.Context, jobID, actor string) (*store.Job, error) {
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
