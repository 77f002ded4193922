package queue

import (
	"context"
	"log/slog"
	"math/rand/v2"
	"time"

	"github.com/ossea/unifiedfailover/store"
)

// RetryPolicy is how a step is retried on transient errors.
type RetryPolicy struct {
	// MaxAttempts is how many times the step may run in all. Defaults to 5.
	MaxAttempts int
	// Backoff is the delay before the first retry; it doubles each time.
	// Defaults to 2s.
	Backoff time.Duration
	// MaxBackoff caps the delay. Defaults to 1m.
	MaxBackoff time.Duration
	// Jitter spreads each delay uniformly over ±Jitter of itself, so VMs
	// that failed together do not retry in lockstep. Defaults to 0.2
	// (±20%); a negative value turns it off.
	Jitter float64
	// Rand returns a number in [0, 1) for the jitter. Defaults to
	// math/rand/v2's Float64; tests give a fixed one.
	Rand func() float64
}

// WithDefaults returns the policy with zero fields set to their defaults.
func (p RetryPolicy) WithDefaults() RetryPolicy {
	if p.MaxAttempts <= 0 {
		p.MaxAttempts = 5
	}
	if p.Backoff <= 0 {
		p.Backoff = 2 * time.Second
	}
	if p.MaxBackoff <= 0 {
		p.MaxBackoff = time.Minute
	}
	if p.Jitter == 0 {
		p.Jitter = 0.2
	}
	if p.Rand == nil {
		p.Rand = rand.Float64
	}
	return p
}

// Delay is the wait before retry number n (1 for the first retry): the
// backoff doubled n-1 times, capped at MaxBackoff, then jittered.
func (p RetryPolicy) Delay(n int) time.Duration {
	p = p.WithDefaults()
	d := p.Backoff
	for i := 1; i < n && d < p.MaxBackoff; i++ {
		d *= 2
	}
	d = min(d, p.MaxBackoff)
	if p.Jitter > 0 {
		d += time.Duration((p.Rand()*2 - 1) * p.Jitter * float64(d))
	}
	return d
}

// StepFunc does the work of one step. It must be idempotent: it reads the
// real state before acting, so running it again after a crash or a retry
// is harmless. Errors are classified with package errs: transient errors
// are retried under the step's policy, any other error fails the job.
type StepFunc func(ctx context.Context, run *StepRun) error

// Step is one step of a chain: its name, handler and policies.
type Step struct {
	Name  string
	Run   StepFunc
	Retry RetryPolicy
	// Timeout bounds one attempt. Defaults to 10m.
	Timeout time.Duration
}

// Chain is the ordered steps of one kind of job. Which of them run for a
// given job is decided when the job is planned (store.PlannedStep); the
// chain supplies handlers and policies.
type Chain struct {
	// Type is the job type, for example "failover"; task types are
	// "<type>:<step>".
	Type  string
	Steps []Step
	// OnFailed, when set, runs once when a step finally fails, after the
	// job is marked failed (for example to mark the VM context
	// cleanup_required).
	OnFailed func(ctx context.Context, run *StepRun, cause error) error
	// OnCompleted, when set, runs once after the last step, before the job
	// is marked completed.
	OnCompleted func(ctx context.Context, job *store.Job) error
	// Load, when set, gives the reads of what every step of a job starts
	// from; the runner sends them in the round trip that begins the step.
	// Its second result, called once the step has begun, makes of them the
	// step's StepRun.Loaded, or an error that fails the attempt as the
	// step's own would.
	Load func(jobID string) ([]store.Read, func() (any, error))
}

// Planned returns every step planned to run (none skipped).
func (c *Chain) Planned() []store.PlannedStep {
	out := make([]store.PlannedStep, len(c.Steps))
	for i, s := range c.Steps {
		out[i] = store.PlannedStep{Name: s.Name}
	}
	return out
}

func (c *Chain) step(name string) *Step {
	for i := range c.Steps {
		if c.Steps[i].Name == name {
			return &c.Steps[i]
		}
	}
	return nil
}

// StepRun is what a step handler gets: the job as it is now, the step,
// the attempt number, a logger carrying the job's ids, and ways to record
// events and progress.
type StepRun struct {
	Job     *store.Job
	Step    *store.Step
	Attempt int
	Log     *slog.Logger
	// Loaded is what the chain's Load read with the step's begin (nil
	// without Load).
	Loaded any
	store  *store.Store
	// closing holds the events given to Closing, recorded when the
	// attempt's outcome is.
	closing []store.Event
}

// Event records a structured event in the job's log (and logs it).
func (r *StepRun) Event(ctx context.Context, level slog.Level, msg string, attrs map[string]any) {
	if err := r.store.AddEvent(ctx, r.NewEvent(ctx, level, msg, attrs)); err != nil {
		r.Log.Warn("could not record job event", "error", err)
	}
}

// Closing logs an event now and records it in the job's log with the
// step's completion, in the same transaction and round trip: for the event
// a step ends with, saying what it achieved. Should the attempt fail after
// all, the event is recorded before the failure.
func (r *StepRun) Closing(ctx context.Context, level slog.Level, msg string, attrs map[string]any) {
	r.closing = append(r.closing, r.NewEvent(ctx, level, msg, attrs))
}

// NewEvent logs an event and returns it for the job's log, for a store
// call that records it together with the change it describes.
func (r *StepRun) NewEvent(ctx context.Context, level slog.Level, msg string, attrs map[string]any) store.Event {
	args := make([]any, 0, 2*len(attrs))
	for k, v := range attrs {
		args = append(args, k, v)
	}
	r.Log.Log(ctx, level, msg, args...)
	return store.Event{JobID: r.Job.ID, ExternalJobID: r.Job.ExternalID,
		Step: r.Step.Name, Level: levelName(level), Message: msg, Attrs: attrs}
}

// Progress records byte progress of the step.
func (r *StepRun) Progress(ctx context.Context, p store.Progress) error {
	return r.store.SetStepProgress(ctx, r.Job.ID, r.Step.Seq, p)
}

func levelName(l slog.Level) string {
	switch {
	case l >= slog.LevelError:
		return "error"
	case l >= slog.LevelWarn:
		return "warn"
	case l >= slog.LevelInfo:
		return "info"
	default:
		return "debug"
	}
}
