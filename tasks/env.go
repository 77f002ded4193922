package tasks

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"

	"github.com/ossea/unifiedfailover/cloudstack"
	"github.com/ossea/unifiedfailover/errs"
	"github.com/ossea/unifiedfailover/failover"
	"github.com/ossea/unifiedfailover/queue"
	"github.com/ossea/unifiedfailover/store"
	"github.com/ossea/unifiedfailover/virtio"
)

// engine is what the failover, rollback and commit handlers work with:
// the failover engine (its pre-flight, its vCenter session) and what it
// was configured with.
type engine struct {
	*failover.Engine
	cfg   failover.EngineConfig
	store *store.Store
	cs    *cloudstack.Client
	log   *slog.Logger
	inj   *virtio.Injector
}

func newEngine(e *failover.Engine) *engine {
	cfg := e.Settings()
	return &engine{Engine: e, cfg: cfg, store: cfg.Store, cs: cfg.CloudStack, log: cfg.Logger, inj: e.Injector()}
}

// stepEnv is what a failover, rollback or commit step works with: the
// engine, the step run, the failover being acted on (for a rollback or a
// commit, the failover it undoes or seals), its config, and the VM context.
type stepEnv struct {
	*queue.StepRun
	e        *engine
	failover *store.FailoverJob
	cfg      *failover.Config
	vm       *store.VMContext
	rollback failover.RollbackOptions
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
func (e *engine) env(run *queue.StepRun) (*stepEnv, error) {
	l, ok := run.Loaded.(*loaded)
	if !ok {
		return nil, errs.New(errs.Internal, "step %s of job %s: nothing loaded", run.Step.Name, run.Job.ID)
	}
	fo, vm := l.failover, l.vm
	var cfg failover.Config
	if err := json.Unmarshal(fo.Config, &cfg); err != nil {
		return nil, errs.Wrap(errs.Internal, err, "decoding the config of failover %s", fo.JobID)
	}
	env := &stepEnv{StepRun: run, e: e, failover: fo, cfg: &cfg, vm: vm}
	if run.Job.Type == failover.JobRollback && len(run.Job.Params) > 0 {
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
