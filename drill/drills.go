package drill

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"time"

	"github.com/ossea/unifiedfailover/failover"
	"github.com/ossea/unifiedfailover/metrics"
	"github.com/ossea/unifiedfailover/store"
)

// Config configures the drill runner.
type Config struct {
	// Store is the product's database. Required.
	Store *store.Store
	// Engine starts the per-VM failovers and rollbacks. Required.
	Engine *failover.Engine
	// Logger defaults to slog.Default().
	Logger *slog.Logger
	// Metrics defaults to none.
	Metrics *metrics.Metrics
	// PollInterval is how often a drill looks at the jobs it waits on.
	// Defaults to 1s.
	PollInterval time.Duration
	// Now defaults to time.Now.
	Now func() time.Time
}

// WithDefaults fills the zero fields.
func (c Config) WithDefaults() Config {
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.PollInterval <= 0 {
		c.PollInterval = time.Second
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return c
}

func (c Config) validate() error {
	if c.Store == nil || c.Engine == nil {
		return fmt.Errorf("drill: Store and Engine are required")
	}
	return nil
}

// Drills runs drill jobs: its chain is package tasks' (tasks.Register).
type Drills struct {
	cfg   Config
	store *store.Store
	eng   *failover.Engine
	log   *slog.Logger
}

// New returns the drill runner.
func New(cfg Config) (*Drills, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	return &Drills{cfg: cfg, store: cfg.Store, eng: cfg.Engine, log: cfg.Logger}, nil
}

// Settings returns the drill runner's configuration, defaults filled: what
// the drill chain's steps (package tasks) work with.
func (d *Drills) Settings() Config { return d.cfg }

// MaxHold is the longest hold a schedule may have (Validate refuses a
// longer one).
const MaxHold = maxHold

// End writes the run's report and ends it, failed with cause when cause is
// given; ended is false when the run had ended already. The drill chain's
// report step and failure hook end a run with it, and Settle.
func (d *Drills) End(ctx context.Context, dr *store.DrillRun, cause string) (rep *Report, ended bool, err error) {
	rep, err = BuildReport(ctx, d.store, dr)
	if err != nil {
		return nil, false, err
	}
	if cause != "" {
		rep.Status, rep.Error = store.DrillFailed, cause
	}
	raw, err := json.Marshal(rep)
	if err != nil {
		return nil, false, fmt.Errorf("encoding the drill report: %w", err)
	}
	ended, err = d.store.FinishDrillRun(ctx, dr.ID, dr.JobID, rep.Status, raw, rep.Error)
	if err != nil {
		return nil, false, err
	}
	if ended {
		d.observe(rep)
	}
	return rep, ended, nil
}

func (d *Drills) observe(rep *Report) {
	m := d.cfg.Metrics
	if m == nil || m.DrillsTotal == nil {
		return
	}
	m.DrillsTotal.WithLabelValues(string(rep.Status)).Inc()
	m.DrillVMsSkipped.Add(float64(rep.Totals.Skipped))
	for _, v := range rep.VMs {
		if v.RTOSeconds != nil {
			m.DrillRTO.Observe(*v.RTOSeconds)
		}
	}
}

// RollBackDrilled starts (does not wait on) the rollback of every VM of a
// run that the drill failed over and has not rolled back yet, and records
// it on the VM, or the reason it did not start: when a drill step fails
// (the chain's failure hook), and in Settle.
func (d *Drills) RollBackDrilled(ctx context.Context, log *slog.Logger, dr *store.DrillRun) {
	for i := range dr.VMs {
		v := &dr.VMs[i]
		if !NeedsRollback(v) || v.RollbackJobID != "" {
			continue
		}
		st, err := d.eng.StartRollback(ctx, failover.RollbackRequest{ContextID: v.ContextID,
			Reason: fmt.Sprintf("DR drill %s, run %s failed: cleaning up", dr.ScheduleName, dr.ID)}, failover.System(Actor(dr.ScheduleName)))
		if err != nil {
			log.ErrorContext(ctx, "could not start the rollback of a drilled VM", "context_id", v.ContextID, "error", err)
			v.Error = joinErr(v.Error, "the rollback did not start: "+err.Error())
		} else {
			v.RollbackJobID, v.State = st.Job.ID, store.DrillVMRollingBack
		}
		if err := d.store.UpdateDrillRunVM(context.WithoutCancel(ctx), v); err != nil {
			log.ErrorContext(ctx, "could not record a drilled VM", "context_id", v.ContextID, "error", err)
		}
	}
}

// NeedsRollback reports whether a VM of a run was failed over by the drill
// (its failover started, whatever its outcome) and not rolled back yet.
func NeedsRollback(v *store.DrillRunVM) bool {
	if v.FailoverJobID == "" {
		return false
	}
	switch v.State {
	case store.DrillVMFailingOver, store.DrillVMFailedOver, store.DrillVMFailoverFailed, store.DrillVMRollingBack:
		return true
	}
	return false
}

func joinErr(a, b string) string {
	if a == "" {
		return b
	}
	return a + "; " + b
}

// NeverStartedAfter is how long a run may wait for its drill job to start
// before Settle ends it: past the retries of the tick's task.
const NeverStartedAfter = 30 * time.Minute

// supersededAfter is how long a run without a job must be old before a
// later tick may end it: a start takes milliseconds; one still under way
// after this is retrying against an outage.
const supersededAfter = time.Minute

// Settle ends, failed, a run that can no longer end by itself, and says
// whether it did:
//   - a run whose drill job never started (the start failed, and the tick's
//     task gave up or was lost), once NeverStartedAfter has passed since it
//     was created, or a minute when superseded (a later tick of its schedule
//     is due);
//   - a run whose drill job ended without ending the run (the job was
//     cancelled, or failed before its first step ran): the VMs it failed
//     over are rolled back, as when a drill step fails.
//
// Without this, such a run stays active for ever, and every later tick of
// its schedule is skipped as overlapping it. A run whose job is active is
// left alone.
func (d *Drills) Settle(ctx context.Context, dr *store.DrillRun, superseded bool) (bool, error) {
	var cause string
	if dr.JobID == "" {
		age := d.cfg.Now().Sub(dr.CreatedAt)
		switch {
		case superseded && age >= supersededAfter:
			cause = "its drill job never started; a later tick of the schedule superseded it"
		case age >= NeverStartedAfter:
			cause = fmt.Sprintf("its drill job never started within %s", NeverStartedAfter)
		default:
			return false, nil
		}
	} else {
		job, err := d.store.GetJob(ctx, dr.JobID)
		if err != nil {
			return false, err
		}
		if job.Status.Active() {
			return false, nil
		}
		cause = fmt.Sprintf("its drill job %s ended %s without ending the run", job.ExternalID, job.Status)
		if job.Error != "" {
			cause += ": " + job.Error
		}
	}
	full, err := d.store.GetDrillRun(ctx, dr.ID)
	if err != nil {
		return false, err
	}
	log := d.log.With("run_id", dr.ID, "schedule", dr.ScheduleName, "job_id", dr.JobID)
	d.RollBackDrilled(ctx, log, full)
	_, ended, err := d.End(ctx, full, cause)
	if ended {
		log.WarnContext(ctx, "drill run ended by the scheduler", "cause", cause)
	}
	return ended, err
}
