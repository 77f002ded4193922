package drill

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/hibiken/asynq"

	"github.com/ossea/unifiedfailover/errs"
	"github.com/ossea/unifiedfailover/failover"
	"github.com/ossea/unifiedfailover/queue"
	"github.com/ossea/unifiedfailover/store"
)

// TaskTick is the asynq task type of a schedule's tick.
const TaskTick = "drill:tick"

// tickPayload is the payload of a tick task.
type tickPayload struct {
	ScheduleID string    `json:"schedule_id"`
	Tick       time.Time `json:"tick"`
}

// TickTaskID is the asynq task id of a schedule's tick: two schedulers
// enqueueing the same tick collide on it (asynq refuses the second).
func TickTaskID(scheduleID string, tick time.Time) string {
	return fmt.Sprintf("drill-tick:%s:%d", scheduleID, tick.Unix())
}

// SchedulerConfig configures the scheduler process's part.
type SchedulerConfig struct {
	// Store is the product's database. Required.
	Store *store.Store
	// Runner starts drill jobs. Required.
	Runner *queue.Runner
	// Redis is the queue's Redis. Required.
	Redis queue.RedisConfig
	// Engine runs auto-rollbacks of time-boxed test failovers; nil turns
	// them off.
	Engine *failover.Engine
	// Drills ends runs that can no longer end by themselves (Drills.Settle),
	// in the sweep and when a later tick finds one in its way; nil leaves
	// them be.
	Drills *Drills
	// Logger defaults to slog.Default().
	Logger *slog.Logger
	// SyncInterval is how often the schedules are read from Postgres (a
	// change applies within it) and overdue auto-rollbacks are swept.
	// Defaults to 5s.
	SyncInterval time.Duration
	// Grace is how long after its time a tick's entry stays registered, so
	// a sync never removes it before it fired. Defaults to 30s.
	Grace time.Duration
	// Now defaults to time.Now.
	Now func() time.Time
}

// WithDefaults fills the zero fields.
func (c SchedulerConfig) WithDefaults() SchedulerConfig {
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.SyncInterval <= 0 {
		c.SyncInterval = 5 * time.Second
	}
	if c.Grace <= 0 {
		c.Grace = 30 * time.Second
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return c
}

func (c SchedulerConfig) validate() error {
	if c.Store == nil || c.Runner == nil {
		return fmt.Errorf("drill scheduler: Store and Runner are required")
	}
	if c.SyncInterval > c.Grace || c.Grace >= time.Minute {
		return fmt.Errorf("drill scheduler: the sync interval (%s) must not exceed the grace (%s), and the grace must be under a minute", c.SyncInterval, c.Grace)
	}
	return nil
}

// Scheduler turns schedules into drill runs with asynq's periodic-task
// machinery fed from Postgres, runs the timer queue (ticks and
// auto-rollbacks), and sweeps Postgres for overdue auto-rollbacks.
//
// asynq's scheduler enqueues the same task, with the same options, at every
// activation of a cron spec, so a per-tick task id cannot ride on the
// schedule's own spec. The provider therefore registers one entry per
// upcoming tick: a spec that fires at exactly that minute (in UTC), whose
// task carries the tick and a task id made from schedule id and tick. It
// plans the ticks of the next two sync intervals and keeps each entry for a
// grace period after its time, so the entry is registered before it is due
// and never removed before it fired. Every scheduler process plans the same
// entries; asynq refuses all but the first enqueue of a tick's task id,
// and the run is unique on (schedule, tick) in Postgres as well.
type Scheduler struct {
	cfg SchedulerConfig
	log *slog.Logger
}

// NewScheduler returns a scheduler.
func NewScheduler(cfg SchedulerConfig) (*Scheduler, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	return &Scheduler{cfg: cfg, log: cfg.Logger}, nil
}

// GetConfigs implements asynq.PeriodicTaskConfigProvider: one entry per
// upcoming tick of every enabled schedule.
func (s *Scheduler) GetConfigs() ([]*asynq.PeriodicTaskConfig, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return s.configs(ctx, s.cfg.Now())
}

func (s *Scheduler) configs(ctx context.Context, now time.Time) ([]*asynq.PeriodicTaskConfig, error) {
	schedules, err := s.cfg.Store.ListDrillSchedules(ctx, true)
	if err != nil {
		return nil, err
	}
	var out []*asynq.PeriodicTaskConfig
	for _, sc := range schedules {
		ticks, err := NextTicks(sc, now.Add(-s.cfg.Grace), now.Add(2*s.cfg.SyncInterval+time.Minute))
		if err != nil {
			s.log.Warn("drill schedule does not parse; not scheduled", "schedule_id", sc.ID, "error", err)
			continue
		}
		for _, t := range ticks {
			out = append(out, TickConfig(sc.ID, t))
		}
	}
	return out, nil
}

// TickConfig is the periodic-task entry of one tick of a schedule: a spec
// firing at that minute, the tick's task and its task id.
func TickConfig(scheduleID string, tick time.Time) *asynq.PeriodicTaskConfig {
	t := tick.UTC()
	payload, _ := json.Marshal(tickPayload{ScheduleID: scheduleID, Tick: t})
	return &asynq.PeriodicTaskConfig{
		Cronspec: fmt.Sprintf("CRON_TZ=UTC %d %d %d %d *", t.Minute(), t.Hour(), t.Day(), int(t.Month())),
		Task:     asynq.NewTask(TaskTick, payload),
		// Retention keeps the finished task, and with it its id, for a day:
		// a slower scheduler's enqueue of the same tick is refused.
		Opts: []asynq.Option{asynq.Queue(failover.TimerQueue), asynq.TaskID(TickTaskID(scheduleID, t)),
			asynq.MaxRetry(10), asynq.Timeout(2 * time.Minute), asynq.Retention(24 * time.Hour)},
	}
}

// Run runs the periodic-task manager, the timer queue's server and the
// auto-rollback sweep until ctx is done.
func (s *Scheduler) Run(ctx context.Context) error {
	conn := s.cfg.Redis.ConnOpt()
	alog := queue.SlogLogger(s.log.With("component", "asynq"))
	mgr, err := asynq.NewPeriodicTaskManager(asynq.PeriodicTaskManagerOpts{
		PeriodicTaskConfigProvider: s, RedisConnOpt: conn, SyncInterval: s.cfg.SyncInterval,
		SchedulerOpts: &asynq.SchedulerOpts{Logger: alog, LogLevel: asynq.WarnLevel, Location: time.UTC,
			PostEnqueueFunc: func(info *asynq.TaskInfo, err error) {
				switch {
				case errors.Is(err, asynq.ErrTaskIDConflict):
					s.log.Info("drill tick already enqueued by another scheduler")
				case err != nil:
					s.log.Error("could not enqueue a drill tick", "error", err)
				default:
					s.log.Info("drill tick enqueued", "task_id", info.ID)
				}
			}},
	})
	if err != nil {
		return fmt.Errorf("creating the periodic task manager: %w", err)
	}
	srv := asynq.NewServer(conn, asynq.Config{Concurrency: 4, Queues: map[string]int{failover.TimerQueue: 1},
		TaskCheckInterval: 200 * time.Millisecond, DelayedTaskCheckInterval: time.Second, ShutdownTimeout: 10 * time.Second,
		Logger: alog, LogLevel: asynq.WarnLevel,
		RetryDelayFunc: func(n int, _ error, _ *asynq.Task) time.Duration {
			return queue.RetryPolicy{Backoff: 2 * time.Second, MaxBackoff: time.Minute}.Delay(n)
		}})
	mux := asynq.NewServeMux()
	mux.HandleFunc(TaskTick, s.processTick)
	if s.cfg.Engine != nil {
		mux.Handle(failover.TaskAutoRollback, s.cfg.Engine)
	}
	if err := srv.Start(mux); err != nil {
		return fmt.Errorf("starting the timer queue server: %w", err)
	}
	defer srv.Shutdown()
	if err := mgr.Start(); err != nil {
		return fmt.Errorf("starting the periodic task manager: %w", err)
	}
	defer mgr.Shutdown()
	s.log.Info("drill scheduler running", "sync_interval", s.cfg.SyncInterval)
	t := time.NewTicker(s.cfg.SyncInterval)
	defer t.Stop()
	for {
		s.sweep(ctx)
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// sweep starts the rollbacks of time-boxed failovers that are overdue (a
// timer task lost with Redis's data, or due while no scheduler ran), and
// ends the drill runs that can no longer end by themselves.
func (s *Scheduler) sweep(ctx context.Context) {
	sctx, cancel := context.WithTimeout(ctx, s.cfg.SyncInterval+30*time.Second)
	defer cancel()
	if s.cfg.Engine != nil {
		n, err := s.cfg.Engine.SweepAutoRollbacks(sctx)
		if err != nil && ctx.Err() == nil {
			s.log.Warn("sweeping auto-rollbacks", "error", err)
		}
		if n > 0 {
			s.log.Info("auto-rollbacks started by the sweep", "count", n)
		}
	}
	if s.cfg.Drills == nil {
		return
	}
	runs, err := s.cfg.Store.ActiveDrillRuns(sctx)
	if err != nil {
		if ctx.Err() == nil {
			s.log.Warn("listing active drill runs", "error", err)
		}
		return
	}
	for _, r := range runs {
		if _, err := s.cfg.Drills.Settle(sctx, r, false); err != nil && ctx.Err() == nil {
			s.log.Warn("settling a drill run", "run_id", r.ID, "error", err)
		}
	}
}

// processTick turns a tick into a run and starts its drill job. A tick of a
// schedule that was deleted or disabled meanwhile is dropped, and so is a
// tick while an earlier run of the schedule still runs (drills of one
// schedule never overlap).
func (s *Scheduler) processTick(ctx context.Context, t *asynq.Task) error {
	var p tickPayload
	if err := json.Unmarshal(t.Payload(), &p); err != nil || p.ScheduleID == "" {
		return fmt.Errorf("decoding %s payload: %v: %w", t.Type(), err, asynq.SkipRetry)
	}
	log := s.log.With("schedule_id", p.ScheduleID, "tick", p.Tick)
	sc, err := s.cfg.Store.GetDrillSchedule(ctx, p.ScheduleID)
	if errs.Is(err, errs.NotFound) {
		log.Info("drill tick of a deleted schedule dropped")
		return nil
	}
	if err != nil {
		return err
	}
	if !sc.Enabled {
		log.Info("drill tick of a disabled schedule dropped", "schedule", sc.Name)
		return nil
	}
	if active, err := s.cfg.Store.ActiveDrillRun(ctx, sc.ID); err == nil && !active.Tick.Equal(p.Tick) {
		settled := false
		if s.cfg.Drills != nil {
			if settled, err = s.cfg.Drills.Settle(ctx, active, active.Tick.Before(p.Tick)); err != nil {
				return err
			}
		}
		if !settled {
			log.Warn("drill tick skipped: the previous run is still running", "schedule", sc.Name, "active_run_id", active.ID)
			return nil
		}
		log.Warn("the previous drill run could no longer end and was ended failed", "schedule", sc.Name, "run_id", active.ID)
	} else if err != nil && !errs.Is(err, errs.NotFound) {
		return err
	}
	run, started, err := StartRun(ctx, s.cfg.Store, s.cfg.Runner, sc, p.Tick, TriggerSchedule, "scheduler")
	if err != nil {
		return err
	}
	if started {
		log.Info("drill run started", "schedule", sc.Name, "run_id", run.ID, "job_id", run.JobID)
	} else {
		log.Info("drill run of this tick exists already", "schedule", sc.Name, "run_id", run.ID, "job_id", run.JobID)
	}
	return nil
}
