package tasks

import (
	"context"
	"time"

	"github.com/ossea/unifiedfailover/failover"
	"github.com/ossea/unifiedfailover/queue"
	"github.com/ossea/unifiedfailover/store"
)

// Renaming or removing a step (of any chain: these, the drill's in
// drill.go, the probe's): a job stores its planned step names when it
// starts, so a job in flight across an upgrade still names the old step.
// The runner ends such a job failed at that step, saying the step is gone
// (queue.Runner.advance; TestAJobWhoseStepIsGoneEndsFailed); the operator
// rolls the VM back. So rename or remove a step only when no job of its
// chain is active, or keep the old name as an alias step until they are
// done.
//
// The chains of the failover engine (failover, rollback and commit), top
// to bottom. A new step goes in its place in one of these tables, its
// handler in the steps_*.go file of its part. Each step is one queued
// task; when it succeeds, the next one is enqueued. A step's skip says,
// from the resolved config (or the rollback's options), why the step does
// not run for this job; a skipped step is recorded as skipped, never left
// out. Every handler reads the real state before acting, so a retry or a
// re-run after a crash never does the work twice (taskstest runs one step
// to check it).

// Retry policies by what a step talks to.
var (
	retryCloud    = queue.RetryPolicy{MaxAttempts: 6, Backoff: time.Second, MaxBackoff: 30 * time.Second}
	retryVCenter  = queue.RetryPolicy{MaxAttempts: 6, Backoff: time.Second, MaxBackoff: 30 * time.Second}
	retrySync     = queue.RetryPolicy{MaxAttempts: 4, Backoff: 2 * time.Second, MaxBackoff: time.Minute}
	retryDatabase = queue.RetryPolicy{MaxAttempts: 8, Backoff: 500 * time.Millisecond, MaxBackoff: 10 * time.Second}
)

// step declares one step of a chain.
type step struct {
	name    string
	skip    func(p *failover.PlanInput) string
	run     func(s *stepEnv, ctx context.Context) error
	retry   queue.RetryPolicy
	timeout time.Duration
}

// failoverChain: test and live failovers.
var failoverChain = []step{
	// Never skipped: skip_validation skips the soft checks only; the hard
	// guards (status, active job, destination name, replicas) always run.
	{name: "validation", run: (*stepEnv).validate, retry: retryCloud, timeout: 5 * time.Minute},
	{name: "source-power-off", run: (*stepEnv).powerOffSource, retry: retryVCenter, timeout: 3 * time.Hour,
		skip: func(p *failover.PlanInput) string {
			return reasonIf(!p.Config.PowerOffSource, "the source VM keeps running")
		}},
	{name: "final-sync", run: (*stepEnv).finalSync, retry: retrySync, timeout: 24 * time.Hour,
		skip: func(p *failover.PlanInput) string {
			return reasonIf(!p.Config.PerformFinalSync, "no final sync requested")
		}},
	// The final sync writes through the appliance; from here on the
	// replicas are detached, so the rollback snapshots involve no running
	// instance (KVM refuses those unless kvm.snapshot.enabled) and never
	// contend for the appliance.
	{name: "detach-replicas", run: (*stepEnv).detachFromAppliance, retry: retryCloud, timeout: 30 * time.Minute},
	// Each snapshot is waited for until BackedUp, its wait scaled by the
	// volume's size.
	{name: "snapshot", run: (*stepEnv).snapshotReplicas, retry: retryCloud, timeout: 24 * time.Hour,
		skip: func(p *failover.PlanInput) string {
			return reasonIf(p.Config.SnapshotType == failover.SnapshotNone, "snapshots turned off")
		}},
	// After the snapshot that protects it: the boot replica goes back on
	// the appliance for the tool, and comes off again.
	// Its CloudStack calls (attach, detach) are retried as any step's; a
	// failure of the tool itself is permanent, never retried.
	// Pre-flight fails when it runs and no live worker reports the VirtIO
	// command (failover.StepVirtio, the worker-capabilities check).
	{name: failover.StepVirtio, run: (*stepEnv).injectVirtio, retry: retryCloud, timeout: 2 * time.Hour,
		skip: func(p *failover.PlanInput) string {
			if p.Config.OSType != "windows" {
				return "not a Windows guest"
			}
			return reasonIf(p.Config.SkipVirtio, "skipped on the operator's request")
		}},
	// Deployed stopped, one NIC per source NIC in order with its MAC, each
	// on its own network: CloudStack gives a VM one NIC per network (the
	// deploy's network map merges them, addNicToVirtualMachine refuses a
	// second), so the pre-flight refuses a layout that shares one.
	{name: "vm-creation", run: (*stepEnv).createVM, retry: retryCloud, timeout: 30 * time.Minute},
	// The template's ROOT volume detached and deleted, the boot replica
	// attached at device 0, the others in disk order.
	{name: "volume-operations", run: (*stepEnv).moveVolumesToVM, retry: retryCloud, timeout: 30 * time.Minute},
	{name: "vm-startup", run: (*stepEnv).startVM, retry: retryCloud, timeout: 30 * time.Minute},
	{name: "status-update", run: (*stepEnv).finishFailover, retry: retryDatabase, timeout: time.Minute},
}

// rollbackChain: undo a test or live failover, finished or failed; each
// step does what is needed given how far the failover got.
var rollbackChain = []step{
	// A graceful stop; forced only on force_cleanup, and recorded.
	{name: "stop-destination-vm", run: (*stepEnv).stopDestinationVM, retry: retryCloud, timeout: 30 * time.Minute},
	{name: "detach-volumes", run: (*stepEnv).detachReplicas, retry: retryCloud, timeout: 30 * time.Minute},
	// Refused while any replica is still attached: expunging destroys the
	// VM's ROOT-typed volumes.
	{name: "destroy-destination-vm", run: (*stepEnv).destroyDestinationVM, retry: retryCloud, timeout: 30 * time.Minute},
	{name: "revert-snapshots", run: (*stepEnv).revertSnapshots, retry: retryCloud, timeout: time.Hour},
	// Each replica back at the appliance device id it had at registration.
	{name: "reattach-volumes", run: (*stepEnv).reattachToAppliance, retry: retryCloud, timeout: 30 * time.Minute},
	{name: "delete-snapshots", run: (*stepEnv).deleteSnapshots, retry: retryCloud, timeout: 30 * time.Minute},
	{name: "power-on-source", run: (*stepEnv).powerOnSource, retry: retryVCenter, timeout: 30 * time.Minute,
		skip: func(p *failover.PlanInput) string {
			return reasonIf(!p.Rollback.PowerOnSource, "power_on_source is off")
		}},
	{name: "status-update", run: (*stepEnv).finishRollback, retry: retryDatabase, timeout: time.Minute},
}

// commitChain: seal a live failover; the source stays off.
var commitChain = []step{
	{name: "delete-snapshots", run: (*stepEnv).deleteSnapshots, retry: retryCloud, timeout: 30 * time.Minute},
	{name: "status-update", run: (*stepEnv).finishCommit, retry: retryDatabase, timeout: time.Minute},
}

func reasonIf(cond bool, reason string) string {
	if cond {
		return reason
	}
	return ""
}

// chains are the engine's step tables by job type.
var chains = map[string][]step{
	failover.JobFailover: failoverChain,
	failover.JobRollback: rollbackChain,
	failover.JobCommit:   commitChain,
}

// PlanSteps lists the steps of a job of the engine's chains with their
// skip reasons: the engine's failover.Planner (EngineConfig.Planner). It
// panics on a job type that is not one of the engine's.
func PlanSteps(jobType string, in failover.PlanInput) []store.PlannedStep {
	chain, ok := chains[jobType]
	if !ok {
		panic("tasks: no chain for job type " + jobType)
	}
	return planSteps(chain, &in)
}

// planSteps lists a chain's steps for a job, with skip reasons.
func planSteps(chain []step, p *failover.PlanInput) []store.PlannedStep {
	out := make([]store.PlannedStep, len(chain))
	for i, s := range chain {
		out[i] = store.PlannedStep{Name: s.name}
		if s.skip != nil {
			out[i].SkipReason = s.skip(p)
		}
	}
	return out
}

// Engine returns the failover engine's chains for the runner: failover,
// rollback and commit.
func Engine(eng *failover.Engine) []*queue.Chain {
	e := newEngine(eng)
	build := func(typ string, steps []step) *queue.Chain {
		c := &queue.Chain{Type: typ, OnFailed: e.onFailed, Load: loadFailover}
		for _, s := range steps {
			c.Steps = append(c.Steps, queue.Step{Name: s.name, Retry: s.retry, Timeout: s.timeout, Run: e.handler(s.run)})
		}
		return c
	}
	fo := build(failover.JobFailover, failoverChain)
	fo.OnCompleted = e.armAutoRollback // time-boxed test failovers (autorollback.go)
	return []*queue.Chain{
		fo,
		build(failover.JobRollback, rollbackChain),
		build(failover.JobCommit, commitChain),
	}
}

// handler adapts a step function to the runner: it builds the step's
// environment from what the runner read from Postgres with the step's
// begin (loadFailover).
func (e *engine) handler(fn func(s *stepEnv, ctx context.Context) error) queue.StepFunc {
	return func(ctx context.Context, run *queue.StepRun) error {
		env, err := e.env(run)
		if err != nil {
			return err
		}
		return fn(env, ctx)
	}
}
