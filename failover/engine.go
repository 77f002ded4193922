// Package failover is the unified failover engine: one configuration
// resolved from the failover type and the operator's options, run as a
// chain of idempotent steps (chain.go lists them top to bottom), and the
// rollback and commit chains that undo or seal a failover.
package failover

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"time"

	"github.com/ossea/unifiedfailover/api/apiv1"

	"github.com/hibiken/asynq"

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
	// Logger defaults to slog.Default().
	Logger *slog.Logger
	// Metrics defaults to none.
	Metrics *metrics.Metrics
	// Timers enqueues timer tasks (auto-rollbacks of time-boxed test
	// failovers). Without it the scheduler's sweep alone starts them.
	Timers *asynq.Client
	// Now defaults to time.Now.
	Now func() time.Time
}

// WithDefaults fills the zero fields.
func (c EngineConfig) WithDefaults() EngineConfig {
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return c
}

func (c EngineConfig) validate() error {
	switch {
	case c.Store == nil || c.Runner == nil:
		return fmt.Errorf("failover engine: Store and Runner are required")
	case c.CloudStack == nil:
		return fmt.Errorf("failover engine: a CloudStack client is required (FAILOVER_CLOUDSTACK_URL and keys)")
	case c.ZoneID == "" || c.TemplateID == "" || c.ApplianceVMID == "":
		return fmt.Errorf("failover engine: FAILOVER_CLOUDSTACK_ZONE_ID, FAILOVER_CLOUDSTACK_TEMPLATE_ID and FAILOVER_APPLIANCE_VM_ID are required")
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

// New returns an engine. Register its chains with the runner (Chains).
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

// vcenter returns the process's vCenter session (vsphere.Sessions: one
// login shared by every step, replaced when vCenter ends it).
func (e *Engine) vcenter(ctx context.Context) (*vsphere.Client, error) {
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

// stepEnv is what a failover, rollback or commit step works with: the
// engine, the step run, the failover being acted on (for a rollback or a
// commit, the failover it undoes or seals), its config, and the VM context.
type stepEnv struct {
	*queue.StepRun
	e        *Engine
	failover *store.FailoverJob
	cfg      *Config
	vm       *store.VMContext
	rollback RollbackOptions
}

// loaded is what every step of a failover, rollback or commit starts
// from: the failover acted on and its VM context.
type loaded struct {
	failover *store.FailoverJob
	vm       *store.VMContext
}

// loadFailover is the chains' Load: the failover a job is or belongs to,
// and its VM context, read from Postgres with the step's begin (never from
// the task payload).
func loadFailover(jobID string) ([]store.Read, func() (any, error)) {
	reads, result := store.FailoverOfJob(jobID)
	return reads, func() (any, error) {
		fo, vm, err := result()
		if err != nil {
			return nil, err
		}
		return &loaded{failover: fo, vm: vm}, nil
	}
}

// env builds a step's environment from what loadFailover read.
func (e *Engine) env(run *queue.StepRun) (*stepEnv, error) {
	l, ok := run.Loaded.(*loaded)
	if !ok {
		return nil, errs.New(errs.Internal, "step %s of job %s: nothing loaded", run.Step.Name, run.Job.ID)
	}
	fo, vm := l.failover, l.vm
	var cfg Config
	if err := json.Unmarshal(fo.Config, &cfg); err != nil {
		return nil, errs.Wrap(errs.Internal, err, "decoding the config of failover %s", fo.JobID)
	}
	env := &stepEnv{StepRun: run, e: e, failover: fo, cfg: &cfg, vm: vm}
	if run.Job.Type == JobRollback && len(run.Job.Params) > 0 {
		if err := json.Unmarshal(run.Job.Params, &env.rollback); err != nil {
			return nil, errs.Wrap(errs.Internal, err, "decoding rollback options of %s", run.Job.ID)
		}
	}
	return env, nil
}

// event records a step event with attributes given as key, value pairs.
func (s *stepEnv) event(ctx context.Context, msg string, kv ...any) {
	s.Event(ctx, slog.LevelInfo, msg, kvAttrs(kv))
}

// closing logs the event a step ends with; it is recorded with the step's
// completion (queue.StepRun.Closing).
func (s *stepEnv) closing(ctx context.Context, msg string, kv ...any) {
	s.Closing(ctx, slog.LevelInfo, msg, kvAttrs(kv))
}

// record logs a step event and returns it for a store call that records it
// with the change it describes (one transaction, one round trip).
func (s *stepEnv) record(ctx context.Context, msg string, kv ...any) store.Event {
	return s.NewEvent(ctx, slog.LevelInfo, msg, kvAttrs(kv))
}

func kvAttrs(kv []any) map[string]any {
	attrs := map[string]any{}
	for i := 0; i+1 < len(kv); i += 2 {
		attrs[fmt.Sprint(kv[i])] = kv[i+1]
	}
	return attrs
}
