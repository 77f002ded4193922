// Package taskstest runs one step handler of the product's chains without
// a queue, in the spirit of rivertest.Worker: a job created in a real
// store, one of its steps run as a worker runs its task (the chain's Load,
// the same StepRun, the outcome recorded in the store), and no next step
// enqueued. Start builds what it runs against: the lab (vcsim, the
// CloudStack simulator, nbdkit exports), a store in a schema of the test's
// own, a private Redis, a runner with every chain (tasks.Register) and the
// failover engine, with no worker serving the queues.
package taskstest

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/ossea/unifiedfailover/auth"
	"github.com/ossea/unifiedfailover/cloudstack"
	"github.com/ossea/unifiedfailover/drill"
	"github.com/ossea/unifiedfailover/failover"
	"github.com/ossea/unifiedfailover/lab"
	"github.com/ossea/unifiedfailover/queue"
	"github.com/ossea/unifiedfailover/store"
	"github.com/ossea/unifiedfailover/tasks"
	"github.com/ossea/unifiedfailover/testsvc"
	"github.com/ossea/unifiedfailover/virtio"
	"github.com/ossea/unifiedfailover/vsphere"
)

// Worker runs single steps of the chains registered with its runner.
type Worker struct {
	runner *queue.Runner
}

// NewWorker returns a worker over a runner and the chains registered with
// it (tasks.Register).
func NewWorker(r *queue.Runner) *Worker { return &Worker{runner: r} }

// Work runs step of job as a worker runs the step's task, on its last
// attempt (queue.Runner.RunStep): the step begins, its handler runs, and
// the step is recorded completed, or failed with the job (the chain's
// OnFailed runs). No next step is enqueued. It returns the handler's
// error, or why the step could not begin.
func (w *Worker) Work(ctx context.Context, jobID, step string) error {
	return w.runner.RunStep(ctx, jobID, step, queue.RunStepOptions{})
}

// WorkUnrecorded runs step of job as a worker that died the moment the
// handler returned: the step begins and its handler runs, and nothing
// else is recorded. The step stays running; Work runs it again, as asynq
// redelivers the task of a worker that died.
func (w *Worker) WorkUnrecorded(ctx context.Context, jobID, step string) error {
	return w.runner.RunStep(ctx, jobID, step, queue.RunStepOptions{Unrecorded: true})
}

// Env is what steps run against: the lab, the store, a runner with every
// chain registered, the engine and drill runner, and a Worker.
type Env struct {
	Ctx    context.Context
	Lab    *lab.Lab
	Store  *store.Store
	Runner *queue.Runner
	Engine *failover.Engine
	Drills *drill.Drills
	Worker *Worker
	// Contexts are the lab VMs' context ids by VM name: Start registers
	// every lab VM.
	Contexts map[string]string
}

// Start builds an Env on a lab of cfg, registering every lab VM. Jobs
// started on it (Engine.StartFailover, …) stay at their first step, their
// task enqueued in a Redis no worker serves, until Worker runs a step.
// Everything stops when the test ends. It needs Postgres, Redis and
// nbdkit: call it from tests that testing.Short skips.
func Start(t testing.TB, cfg lab.Config) *Env {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	t.Cleanup(cancel)
	l, err := lab.Start(ctx, cfg)
	if err != nil {
		t.Fatalf("starting the lab: %v", err)
	}
	t.Cleanup(l.Close)
	st, err := store.Open(ctx, testsvc.PostgresURL(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	rd := testsvc.StartRedis(t, testsvc.RedisOptions{})
	qc := asynq.NewClient(queue.RedisConfig{Addr: rd.Addr}.ConnOpt())
	t.Cleanup(func() { qc.Close() })
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	runner := queue.NewRunner(st, qc, log, nil)
	cs, err := cloudstack.New(cloudstack.Config{URL: l.CloudStackURL, APIKey: l.CloudStackAPIKey,
		SecretKey: l.CloudStackSecretKey, ZoneID: l.ZoneID})
	if err != nil {
		t.Fatal(err)
	}
	eng, err := failover.New(failover.EngineConfig{Store: st, Runner: runner, CloudStack: cs,
		VCenter: vsphere.Config{URL: l.VCenter.URL, User: l.VCenter.User, Password: l.VCenter.Password, Insecure: true},
		ZoneID:  l.ZoneID, TemplateID: l.TemplateID, ApplianceVMID: l.ApplianceVMID,
		Virtio: virtio.Config{Command: "true", DeviceDir: l.DeviceDir}, Logger: log, Planner: tasks.PlanSteps})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = eng.Close(context.Background()) })
	drills, err := drill.New(drill.Config{Store: st, Engine: eng, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	if err := tasks.Register(runner, tasks.Deps{Store: st, Log: log, Engine: eng, Drills: drills}); err != nil {
		t.Fatal(err)
	}
	e := &Env{Ctx: ctx, Lab: l, Store: st, Runner: runner, Engine: eng, Drills: drills, Worker: NewWorker(runner),
		Contexts: map[string]string{}}
	for _, vm := range l.Manifest().VMs {
		raw, _ := json.Marshal(vm.Register)
		var req failover.RegisterRequest
		if err := json.Unmarshal(raw, &req); err != nil {
			t.Fatal(err)
		}
		c, err := eng.Register(ctx, req, failover.Actor{Name: "taskstest", Role: auth.Admin})
		if err != nil {
			t.Fatalf("registering %s: %v", vm.Name, err)
		}
		e.Contexts[vm.Name] = c.ContextID
	}
	return e
}

// Job returns a job as the store has it now.
func (e *Env) Job(t testing.TB, jobID string) *store.Job {
	t.Helper()
	j, err := e.Store.GetJob(e.Ctx, jobID)
	if err != nil {
		t.Fatal(err)
	}
	return j
}
