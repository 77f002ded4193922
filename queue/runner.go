package queue

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"time"

	"github.com/hibiken/asynq"
	"github.com/jackc/pgx/v5"

	"github.com/ossea/unifiedfailover/calltime"
	"github.com/ossea/unifiedfailover/errs"
	"github.com/ossea/unifiedfailover/metrics"
	"github.com/ossea/unifiedfailover/store"
)

// Runner starts jobs and runs their steps. The API process uses it to
// start and resume jobs; the worker process serves its Mux. Both register
// the same chains.
type Runner struct {
	store   *store.Store
	client  *asynq.Client
	log     *slog.Logger
	metrics *metrics.Metrics
	chains  map[string]*Chain
	byTask  map[string]taskRef
	// insp interrupts a running step (UseInspector); nil: a cancel takes
	// effect at the next step.
	insp *asynq.Inspector
	// tasks are handlers of task types that are not a chain's steps (the
	// plan runner's ticks, Handle); sweeps are repairs the sweeper runs
	// besides its own (OnSweep).
	tasks  map[string]asynq.Handler
	sweeps []func(context.Context) (int, error)
}

// UseInspector lets the runner interrupt a running step of a cancelled
// job (asynq's CancelProcessing: the worker running it cancels the step's
// context).
func (r *Runner) UseInspector(insp *asynq.Inspector) { r.insp = insp }

// InterruptSteps asks the worker running a step of job, if any, to cancel
// that step's context: a long wait (a guest shutdown, a final sync, an
// async CloudStack job) ends now instead of at its end. Best effort: the
// job's status already keeps any worker from beginning another step.
func (r *Runner) InterruptSteps(ctx context.Context, job *store.Job) {
	if r.insp == nil {
		return
	}
	for _, st := range job.Steps {
		if st.Status == store.StepRunning || st.Status == store.StepRetrying || st.Status == store.StepFailed {
			id := stepTaskID(job.ID, st.Seq, job.RunNo)
			if err := r.insp.CancelProcessing(id); err != nil {
				r.log.WarnContext(ctx, "could not interrupt a cancelled job's step", "job_id", job.ID, "step", st.Name, "error", err)
			}
		}
	}
}

type taskRef struct {
	chain *Chain
	step  *Step
}

// NewRunner returns a runner over the store and an asynq client. m may be
// nil.
func NewRunner(st *store.Store, client *asynq.Client, log *slog.Logger, m *metrics.Metrics) *Runner {
	return &Runner{store: st, client: client, log: log, metrics: m,
		chains: map[string]*Chain{}, byTask: map[string]taskRef{}, tasks: map[string]asynq.Handler{}}
}

// Handle adds a handler of a task type that is not a chain's step (the
// plan runner's plan-advance ticks); the worker's Mux serves it. It panics
// on a duplicate.
func (r *Runner) Handle(taskType string, h asynq.Handler) {
	if _, dup := r.tasks[taskType]; dup {
		panic("queue: task type " + taskType + " handled twice")
	}
	r.tasks[taskType] = h
}

// OnSweep adds a repair the sweeper runs each time it sweeps: fn restores
// what Redis lost of a task type of Handle, and says how many it repaired.
func (r *Runner) OnSweep(fn func(context.Context) (int, error)) { r.sweeps = append(r.sweeps, fn) }

// Enqueue enqueues a task of a type of Handle. A task id that is taken
// (the task is still queued, scheduled or running) is not an error: the
// duplicate collapses into it.
func (r *Runner) Enqueue(ctx context.Context, t *asynq.Task, opts ...asynq.Option) error {
	_, err := r.client.EnqueueContext(ctx, t, opts...)
	if errors.Is(err, asynq.ErrTaskIDConflict) || errors.Is(err, asynq.ErrDuplicateTask) {
		return nil
	}
	if err != nil {
		return errs.Transient(err, "enqueueing task %s", t.Type())
	}
	return nil
}

// Register adds a chain. It panics on a duplicate, as http.ServeMux does.
func (r *Runner) Register(c *Chain) {
	if _, dup := r.chains[c.Type]; dup {
		panic("queue: chain " + c.Type + " registered twice")
	}
	r.chains[c.Type] = c
	for i := range c.Steps {
		r.byTask[TaskType(c.Type, c.Steps[i].Name)] = taskRef{chain: c, step: &c.Steps[i]}
	}
}

// Chain returns the registered chain of a job type, or nil.
func (r *Runner) Chain(jobType string) *Chain { return r.chains[jobType] }

// Store returns the runner's store.
func (r *Runner) Store() *store.Store { return r.store }

// Start creates a job with its planned steps (with, when not nil, runs in
// the same transaction) and enqueues its first step. The VM's lock is the
// job row itself: a VM with an active job gets Conflict naming it. If the
// first step cannot be enqueued, the job is ended failed so the VM is not
// left locked, and the error is returned.
func (r *Runner) Start(ctx context.Context, nj store.NewJob, with func(pgx.Tx, *store.Job) error) (*store.Job, error) {
	c := r.chains[nj.Type]
	if c == nil {
		return nil, errs.New(errs.InvalidArgument, "no chain for job type %q", nj.Type)
	}
	if nj.Queue == "" {
		nj.Queue = QueueDefault
	}
	if len(nj.Steps) == 0 {
		nj.Steps = c.Planned()
	}
	for _, ps := range nj.Steps {
		if c.step(ps.Name) == nil {
			return nil, errs.New(errs.InvalidArgument, "chain %s has no step %q", c.Type, ps.Name)
		}
	}
	job, err := r.store.CreateJob(ctx, nj, with)
	if err != nil {
		return nil, err
	}
	if err := r.advance(ctx, job); err != nil {
		_, _ = r.store.EndJob(context.WithoutCancel(ctx), job.ID, store.JobFailed, "could not enqueue first step: "+err.Error())
		return nil, err
	}
	return r.store.GetJob(ctx, job.ID)
}

// Resume retries a failed job from its failed step.
func (r *Runner) Resume(ctx context.Context, jobID string) (*store.Job, error) {
	job, err := r.store.ResumeJob(ctx, jobID)
	if err != nil {
		return nil, err
	}
	if r.chains[job.Type] == nil {
		return nil, errs.New(errs.FailedPrecondition, "no chain for job type %q", job.Type)
	}
	if err := r.advance(ctx, job); err != nil {
		return nil, err
	}
	return r.store.GetJob(ctx, job.ID)
}

// Reenqueue enqueues the current step of an active job again. The task id
// makes it a no-op when the step's task still exists; it restores a task
// that was lost (for example with a Redis that lost its data).
func (r *Runner) Reenqueue(ctx context.Context, jobID string) error {
	job, err := r.store.GetJob(ctx, jobID)
	if err != nil {
		return err
	}
	if !job.Status.Active() {
		return nil
	}
	return r.advance(ctx, job)
}

// advance enqueues the first step of job that is not done, or ends the job
// completed when every step is done.
func (r *Runner) advance(ctx context.Context, job *store.Job) error {
	c := r.chains[job.Type]
	for i := range job.Steps {
		st := &job.Steps[i]
		if st.Status.Done() {
			continue
		}
		step := c.step(st.Name)
		if step == nil {
			// Renamed or removed while the job was in flight: the job
			// cannot go on; it ends failed, saying so.
			cause := fmt.Sprintf("the %s chain has no step %q any more (renamed or removed while this job was in flight); "+
				"roll the VM back, or retry with a build that has the step", c.Type, st.Name)
			r.log.ErrorContext(ctx, "ending a job whose step is gone", "job_id", job.ID, "step", st.Name)
			return r.failJob(ctx, job, st, cause)
		}
		return r.enqueue(ctx, job, c, step, st.Seq)
	}
	if c.OnCompleted != nil {
		if err := c.OnCompleted(ctx, job); err != nil {
			return fmt.Errorf("completing job %s: %w", job.ID, err)
		}
	}
	ended, err := r.store.EndJob(ctx, job.ID, store.JobCompleted, "")
	if err != nil {
		return err
	}
	if ended {
		r.observeJobEnd(job, store.JobCompleted)
		r.log.InfoContext(ctx, "job completed", "job_id", job.ID, "external_job_id", job.ExternalID,
			"context_id", job.ContextID, "job_type", job.Type)
	}
	return nil
}

func (r *Runner) enqueue(ctx context.Context, job *store.Job, c *Chain, step *Step, seq int) error {
	payload, err := json.Marshal(StepPayload{JobID: job.ID, Seq: seq, Run: job.RunNo})
	if err != nil {
		return fmt.Errorf("encoding step payload: %w", err)
	}
	pol := step.Retry.WithDefaults()
	timeout := step.Timeout
	if timeout <= 0 {
		timeout = 10 * time.Minute
	}
	task := asynq.NewTask(TaskType(c.Type, step.Name), payload)
	_, err = r.client.EnqueueContext(ctx, task,
		asynq.Queue(job.Queue),
		asynq.TaskID(stepTaskID(job.ID, seq, job.RunNo)),
		asynq.MaxRetry(pol.MaxAttempts-1),
		asynq.Timeout(timeout))
	if errors.Is(err, asynq.ErrTaskIDConflict) {
		return nil // already enqueued (or running): exactly one task per step and run
	}
	if err != nil {
		return errs.Transient(err, "enqueueing step %s of job %s", step.Name, job.ID)
	}
	return nil
}

// RetryDelay is the server's RetryDelayFunc: each step's own backoff.
func (r *Runner) RetryDelay(n int, err error, t *asynq.Task) time.Duration {
	if ref, ok := r.byTask[t.Type()]; ok {
		return ref.step.Retry.Delay(n)
	}
	return RetryPolicy{}.Delay(n)
}

// Mux returns an asynq handler for every step of every registered chain.
func (r *Runner) Mux() *asynq.ServeMux {
	mux := asynq.NewServeMux()
	for typ := range r.byTask {
		mux.Handle(typ, r)
	}
	for typ, h := range r.tasks {
		mux.Handle(typ, h)
	}
	return mux
}

// ProcessTask runs one step task: it reads the job, skips work that is
// already done, runs the step (a panic becomes a failed attempt), records
// the attempt, and enqueues the next step or ends the job.
func (r *Runner) ProcessTask(ctx context.Context, t *asynq.Task) error {
	ref, ok := r.byTask[t.Type()]
	if !ok {
		return fmt.Errorf("no step for task type %q: %w", t.Type(), asynq.SkipRetry)
	}
	var p StepPayload
	if err := json.Unmarshal(t.Payload(), &p); err != nil {
		return fmt.Errorf("decoding %s payload: %v: %w", t.Type(), err, asynq.SkipRetry)
	}
	job, begun, loaded, err := r.begin(ctx, ref, p)
	if errs.Is(err, errs.NotFound) {
		r.log.WarnContext(ctx, "dropping step task of unknown job", "job_id", p.JobID, "step", ref.step.Name)
		return nil
	}
	if err != nil {
		return err // database trouble: let asynq retry
	}
	if !begun {
		log := r.stepLog(job, ref)
		switch {
		case job.RunNo != p.Run || !job.Status.Active():
			log.InfoContext(ctx, "dropping stale step task", "task_run", p.Run, "job_run", job.RunNo, "job_status", job.Status)
			return nil
		case p.Seq < 0 || p.Seq >= len(job.Steps) || job.Steps[p.Seq].Name != ref.step.Name:
			return fmt.Errorf("job %s has no step %d named %s: %w", job.ID, p.Seq, ref.step.Name, asynq.SkipRetry)
		case job.Steps[p.Seq].Status.Done():
			log.InfoContext(ctx, "step already done; advancing")
			return r.advance(ctx, job)
		default:
			return fmt.Errorf("step %s of active job %s is %s: %w", ref.step.Name, job.ID, job.Steps[p.Seq].Status, asynq.SkipRetry)
		}
	}
	ctx = calltime.With(ctx) // the step's time in outside calls, recorded with the attempt
	run, began, err := r.attempt(ctx, ref, job, p.Seq, loaded)
	if err == nil {
		if err := r.complete(ctx, run, began); err != nil {
			return err
		}
		return r.advance(ctx, job)
	}
	return r.stepFailed(ctx, ref, run, err)
}

// begin begins a step task's step: one statement begins the step when it
// may run, with the reads of the chain's Load, and returns the job either
// way; when it did not begin, the job says why.
func (r *Runner) begin(ctx context.Context, ref taskRef, p StepPayload) (*store.Job, bool, func() (any, error), error) {
	var reads []store.Read
	var loaded func() (any, error)
	if ref.chain.Load != nil {
		reads, loaded = ref.chain.Load(p.JobID)
	}
	job, begun, err := r.store.BeginStep(ctx, p.JobID, p.Seq, p.Run, ref.step.Name, reads...)
	return job, begun, loaded, err
}

func (r *Runner) stepLog(job *store.Job, ref taskRef) *slog.Logger {
	return r.log.With("job_id", job.ID, "external_job_id", job.ExternalID, "context_id", job.ContextID,
		"job_type", job.Type, "step", ref.step.Name)
}

// attempt runs one attempt of a begun step: the StepRun, what the chain's
// Load read, the handler (a panic becomes a failed attempt), and the
// step's duration metric. It returns the run, when the attempt began, and
// the attempt's error.
func (r *Runner) attempt(ctx context.Context, ref taskRef, job *store.Job, seq int, loaded func() (any, error)) (*StepRun, time.Time, error) {
	st := &job.Steps[seq]
	run := &StepRun{Job: job, Step: st, Attempt: st.Attempts, store: r.store,
		Log: r.stepLog(job, ref).With("attempt", st.Attempts)}
	run.Log.InfoContext(ctx, "step started")
	began := time.Now()
	var err error
	if loaded != nil {
		run.Loaded, err = loaded()
	}
	if err == nil {
		err = safeRun(ctx, ref.step.Run, run)
	}
	if r.metrics != nil {
		r.metrics.StepDuration.WithLabelValues(ref.step.Name, job.Type, metrics.FailoverType(job.FailoverType)).Observe(time.Since(began).Seconds())
	}
	return run, began, err
}

// complete records a step attempt that succeeded, with the events it
// closed with.
func (r *Runner) complete(ctx context.Context, run *StepRun, began time.Time) error {
	if err := r.store.CompleteStep(ctx, run.Job.ID, run.Step.Seq, calltime.Total(ctx), run.closing...); err != nil {
		return err
	}
	run.Log.InfoContext(ctx, "step completed", "duration_ms", time.Since(began).Milliseconds())
	run.Job.Steps[run.Step.Seq].Status = store.StepCompleted
	return nil
}

// RunStepOptions are the options of RunStep.
type RunStepOptions struct {
	// Unrecorded records no outcome: the step begins and its handler runs,
	// as in a worker that died the moment the handler returned. The step
	// stays running, and RunStep runs it again as asynq redelivers such a
	// task.
	Unrecorded bool
}

// RunStep runs one step of an active job now, in the calling goroutine,
// as a worker runs the step's task (ProcessTask): the step begins in the
// store with its chain's Load reads, its handler gets the StepRun a worker
// gives it, and the outcome is recorded as on a task's last attempt: the
// step completed, or failed (with the chain's OnFailed, and the job
// failed). Unlike a task, it enqueues no next step and never ends the job
// completed. It returns the handler's error (or its Load's), or why the
// step could not begin (a job not active, a step done or not in the
// chain). For tests: package tasks/taskstest.
func (r *Runner) RunStep(ctx context.Context, jobID, step string, opt RunStepOptions) error {
	job, err := r.store.GetJob(ctx, jobID)
	if err != nil {
		return err
	}
	c := r.chains[job.Type]
	if c == nil {
		return errs.New(errs.FailedPrecondition, "no chain for job type %q", job.Type)
	}
	ref := taskRef{chain: c, step: c.step(step)}
	planned := job.Step(step)
	if ref.step == nil || planned == nil {
		return errs.New(errs.InvalidArgument, "job %s of chain %s has no step %q", job.ID, c.Type, step)
	}
	job, begun, loaded, err := r.begin(ctx, ref, StepPayload{JobID: job.ID, Seq: planned.Seq, Run: job.RunNo})
	if err != nil {
		return err
	}
	if !begun {
		return errs.New(errs.FailedPrecondition, "step %s of job %s did not begin: the job is %s, the step %s",
			step, job.ID, job.Status, job.Steps[planned.Seq].Status)
	}
	ctx = calltime.With(ctx)
	run, began, cause := r.attempt(ctx, ref, job, planned.Seq, loaded)
	switch {
	case opt.Unrecorded:
		return cause
	case cause == nil:
		return r.complete(ctx, run, began)
	}
	if err := r.stepFailed(ctx, ref, run, cause); err != nil && !errors.Is(err, asynq.SkipRetry) && !errors.Is(err, cause) {
		return errors.Join(cause, err)
	}
	return cause
}

func (r *Runner) stepFailed(ctx context.Context, ref taskRef, run *StepRun, cause error) error {
	// A cancelled job's step stops here, whatever stopped it (its
	// context, cancelled by the cancel, or anything else): never retried.
	if j, err := r.store.GetJob(context.WithoutCancel(ctx), run.Job.ID); err == nil && j.Status == store.JobCancelled {
		if err := r.store.MarkStepCancelled(context.WithoutCancel(ctx), run.Job.ID, run.Step.Seq); err != nil {
			run.Log.WarnContext(ctx, "could not record the cancelled step", "error", err)
		}
		run.Log.InfoContext(ctx, "step stopped: the job was cancelled", "error", cause)
		return fmt.Errorf("step %s of cancelled job %s: %v: %w", run.Step.Name, run.Job.ID, cause, asynq.SkipRetry)
	}
	class := errs.Class(cause)
	for _, ev := range run.closing {
		if err := r.store.AddEvent(context.WithoutCancel(ctx), ev); err != nil {
			run.Log.WarnContext(ctx, "could not record job event", "error", err)
		}
	}
	if r.metrics != nil {
		r.metrics.StepFailures.WithLabelValues(ref.step.Name, metrics.FailoverType(run.Job.FailoverType), class).Inc()
	}
	// The worker is shutting down: asynq puts the task back without
	// spending a retry; the step stays as it is.
	if ctx.Err() != nil && errors.Is(cause, context.Canceled) {
		bg := context.WithoutCancel(ctx)
		_ = r.store.RetryStep(bg, run.Job.ID, run.Step.Seq, cause.Error(), "interrupted", calltime.Total(ctx))
		return cause
	}
	retried, _ := asynq.GetRetryCount(ctx)
	maxRetry, _ := asynq.GetMaxRetry(ctx)
	bg, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	if errs.IsTransient(cause) && retried < maxRetry {
		run.Log.WarnContext(ctx, "step attempt failed; will retry", "error", cause, "class", class,
			"retry", retried+1, "max_retry", maxRetry)
		if err := r.store.RetryStep(bg, run.Job.ID, run.Step.Seq, cause.Error(), class, calltime.Total(ctx)); err != nil {
			run.Log.ErrorContext(ctx, "could not record step retry", "error", err)
		}
		return cause
	}
	run.Log.ErrorContext(ctx, "step failed", "error", cause, "class", class)
	// The hook runs first, so whoever sees the job failed also sees what
	// the hook records (for example the VM context cleanup_required).
	if ref.chain.OnFailed != nil {
		if err := ref.chain.OnFailed(bg, run, cause); err != nil {
			run.Log.ErrorContext(ctx, "failure hook failed", "error", err)
		}
	}
	run.Event(bg, slog.LevelError, "step failed: "+cause.Error(), map[string]any{"class": class, "attempt": run.Attempt})
	if err := r.store.FailStep(bg, run.Job.ID, run.Step.Seq, cause.Error(), class, calltime.Total(ctx)); err != nil {
		// The failure is not recorded: let asynq run the step again rather
		// than lose the record.
		return errs.Transient(err, "recording failure of step %s", run.Step.Name)
	}
	r.observeJobEnd(run.Job, store.JobFailed)
	return fmt.Errorf("step %s of job %s: %v: %w", run.Step.Name, run.Job.ID, cause, asynq.SkipRetry)
}

func (r *Runner) observeJobEnd(job *store.Job, outcome store.JobStatus) {
	if r.metrics == nil {
		return
	}
	ft := metrics.FailoverType(job.FailoverType)
	r.metrics.JobsTotal.WithLabelValues(job.Type, ft, string(outcome)).Inc()
	r.metrics.JobDuration.WithLabelValues(job.Type, ft).Observe(time.Since(job.CreatedAt).Seconds())
}

// safeRun runs a step, turning a panic into a permanent error.
func safeRun(ctx context.Context, fn StepFunc, run *StepRun) (err error) {
	defer func() {
		if p := recover(); p != nil {
			run.Log.ErrorContext(ctx, "step panicked", "panic", p, "stack", string(debug.Stack()))
			err = errs.New(errs.Internal, "step %s panicked: %v", run.Step.Name, p)
		}
	}()
	return fn(ctx, run)
}
