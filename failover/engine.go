// Package failover is the unified failover engine's domain: one
// configuration resolved from the failover type and the operator's
// options, the pre-flight, the plans and the requests that start
// failovers, rollbacks and commits. The chains that run them, and their
// step handlers, are in package tasks (tasks/chain.go lists the steps top
// to bottom).
package failover

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/hibiken/asynq"

	"github.com/ossea/unifiedfailover/api/apiv1"
	"github.com/ossea/unifiedfailover/cloudstack"
	"github.com/ossea/unifiedfailover/errs"
	"github.com/ossea/unifiedfailover/metrics"
	"github.com/ossea/unifiedfailover/queue"
	"github.com/ossea/unifiedfailover/store"
	"github.com/ossea/unifiedfailover/virtio"
	"github.com/ossea/unifiedfailover/vsphere"
)

// EngineConfig configures the engine.
type EngineConfig struct {
	// Store is the product's database. Required.
	Store *store.Store
	// Runner starts jobs. Required.
	Runner *queue.Runner
	// VCenter says how to reach vCenter. Required for live failovers,
	// registration and final sync.
	VCenter vsphere.Config
	// CloudStack is the CloudStack client. Required.
	CloudStack *cloudstack.Client
	// ZoneID is the zone destination VMs are deployed in. Required.
	ZoneID string
	// TemplateID is the blank template destination VMs are deployed from.
	// Required.
	TemplateID string
	// ApplianceVMID is the VM replica volumes are attached to between
	// failovers. Required.
	ApplianceVMID string
	// Virtio configures VirtIO injection into the boot replica of Windows
	// guests (package virtio: the command, defaulting to
	// virt-v2v-in-place, run on the replica's device on the appliance, at
	// most Concurrency at once per process).
	Virtio virtio.Config
	// Replicas say how a short-form registration finds each disk's replica
	// volume and NBD exports (FAILOVER_REPLICA_VOLUME_NAME,
	// FAILOVER_SOURCE_NBD_URI, FAILOVER_REPLICA_NBD_URI). Defaults to
	// finding replicas by DefaultReplicaVolumeName, with no export
	// templates.
	Replicas ReplicaRules
	// Logger defaults to slog.Default().
	Logger *slog.Logger
	// Metrics defaults to none.
	Metrics *metrics.Metrics
	// Timers enqueues timer tasks (auto-rollbacks of time-boxed test
	// failovers). Without it the scheduler's sweep alone starts them.
	Timers *asynq.Client
	// Planner lists the steps of a job with their skip reasons when the
	// job is planned: the chains' tables, which are in package tasks
	// (tasks.PlanSteps). Required.
	Planner Planner
	// RPOTarget is the RPO a VM should stay within unless it has a target
	// of its own (FAILOVER_RPO_TARGET). Defaults to store.DefaultRPOTarget.
	RPOTarget time.Duration
	// Now defaults to time.Now.
	Now func() time.Time
}

// Job types of the engine.
const (
	JobFailover = "failover"
	JobRollback = "rollback"
	JobCommit   = "commit"
)

// StepVirtio is the failover chain's VirtIO injection step (tasks/chain.go
// names it; pre-flight checks that a live worker can run it).
const StepVirtio = "virtio-injection"

// Planner lists the steps a job of type jobType (JobFailover, JobRollback
// or JobCommit) will run, in order, each skipped one with the reason. The
// engine stores the list with the job when it creates it, and shows it in
// plans. It panics on a job type it has no chain for.
type Planner func(jobType string, in PlanInput) []store.PlannedStep

// PlanInput is what a chain's skip conditions look at: the resolved
// config of the failover (for a rollback or a commit, of the failover it
// undoes or seals) and a rollback's options.
type PlanInput struct {
	Config   *Config
	Rollback RollbackOptions
}

// WithDefaults fills the zero fields.
func (c EngineConfig) WithDefaults() EngineConfig {
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	c.Replicas = c.Replicas.WithDefaults()
	if c.RPOTarget <= 0 {
		c.RPOTarget = store.DefaultRPOTarget
	}
	return c
}

func (c EngineConfig) validate() error {
	switch {
	case c.Store == nil || c.Runner == nil:
		return fmt.Errorf("failover engine: Store and Runner are required")
	case c.Planner == nil:
		return fmt.Errorf("failover engine: a Planner is required (tasks.PlanSteps)")
	case c.CloudStack == nil:
		return fmt.Errorf("failover engine: a CloudStack client is required (FAILOVER_CLOUDSTACK_URL and keys)")
	case c.ZoneID == "" || c.TemplateID == "" || c.ApplianceVMID == "":
		return fmt.Errorf("failover engine: FAILOVER_CLOUDSTACK_ZONE_ID, FAILOVER_CLOUDSTACK_TEMPLATE_ID and FAILOVER_APPLIANCE_VM_ID are required")
	}
	if err := c.Replicas.validate(); err != nil {
		return fmt.Errorf("failover engine: %w", err)
	}
	return nil
}

// Engine runs failovers, rollbacks and commits.
type Engine struct {
	cfg   EngineConfig
	store *store.Store
	cs    *cloudstack.Client
	vc    *vsphere.Sessions // nil without vCenter
	log   *slog.Logger
	inj   *virtio.Injector
}

// New returns an engine. Its chains are package tasks' (tasks.Register).
func New(cfg EngineConfig) (*Engine, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	inj, err := virtio.New(cfg.Virtio)
	if err != nil {
		return nil, fmt.Errorf("failover engine: %w", err)
	}
	e := &Engine{cfg: cfg, store: cfg.Store, cs: cfg.CloudStack, log: cfg.Logger, inj: inj}
	if cfg.VCenter.URL != "" {
		e.vc = vsphere.NewSessions(cfg.VCenter)
	}
	return e, nil
}

// RPOTarget is the RPO a VM without a target of its own should stay
// within (FAILOVER_RPO_TARGET).
func (e *Engine) RPOTarget() time.Duration { return e.cfg.RPOTarget }

// Replication is a VM's replication health now, against its own target
// or the engine's default: what pre-flight, the API and the RPO metric
// read.
func (e *Engine) Replication(vm *store.VMContext) store.Replication {
	return vm.Replication(e.cfg.Now(), e.cfg.RPOTarget)
}

// VCenter returns the process's vCenter session (vsphere.Sessions: one
// login shared by every step, replaced when vCenter ends it).
func (e *Engine) VCenter(ctx context.Context) (*vsphere.Client, error) {
	if e.vc == nil {
		return nil, errs.New(errs.FailedPrecondition, "vCenter is not configured (FAILOVER_VCENTER_URL)")
	}
	return e.vc.Get(ctx)
}

// Close logs the engine's vCenter session out.
func (e *Engine) Close(ctx context.Context) error {
	if e.vc == nil {
		return nil
	}
	return e.vc.Close(ctx)
}

// RollbackOptions are a rollback's options, stored as the rollback job's
// params.
type RollbackOptions = apiv1.RollbackOptions

// Settings returns the engine's configuration, defaults filled: what the
// step handlers (package tasks) deploy with and talk to.
func (e *Engine) Settings() EngineConfig { return e.cfg }

// Injector returns the engine's VirtIO injector (EngineConfig.Virtio),
// shared by every step of the process so its concurrency bound holds.
func (e *Engine) Injector() *virtio.Injector { return e.inj }

// planSteps lists the steps of a job with their skip reasons
// (EngineConfig.Planner).
func (e *Engine) planSteps(jobType string, in PlanInput) []store.PlannedStep {
	return e.cfg.Planner(jobType, in)
}
