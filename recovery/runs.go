package recovery

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"time"

	"github.com/hibiken/asynq"

	"github.com/ossea/unifiedfailover/api/apiv1"
	"github.com/ossea/unifiedfailover/cloudstack"
	"github.com/ossea/unifiedfailover/errs"
	"github.com/ossea/unifiedfailover/failover"
	"github.com/ossea/unifiedfailover/queue"
	"github.com/ossea/unifiedfailover/store"
)

// TaskAdvance is the task type of a plan run's tick: each tick advances
// the run once (Runs.Advance) and schedules the next.
const TaskAdvance = "plan-run:advance"

// DefaultTick is the delay between two ticks of a run.
const DefaultTick = 300 * time.Millisecond

// RunsConfig is what the plan runner works with.
type RunsConfig struct {
	Store  *store.Store
	Engine *failover.Engine
	// Runner enqueues the ticks.
	Runner *queue.Runner
	Log    *slog.Logger
	// Tick is the delay between two ticks. Defaults to DefaultTick.
	Tick time.Duration
	// Now defaults to time.Now.
	Now func() time.Time
	// DialTimeout bounds one attempt of a tcp readiness check. Defaults to
	// 2s.
	DialTimeout time.Duration
}

// Runs runs recovery plans: a run is a row in Postgres advanced by
// plan-advance ticks, each a short asynq task that holds the run's lock,
// reads the members and their jobs, acts, and schedules the next tick. No
// goroutine holds a run between ticks: a dead worker's run goes on from
// what Postgres recorded at the next tick.
type Runs struct{ cfg RunsConfig }

// NewRuns returns the plan runner.
func NewRuns(cfg RunsConfig) *Runs {
	if cfg.Tick <= 0 {
		cfg.Tick = DefaultTick
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.DialTimeout <= 0 {
		cfg.DialTimeout = 2 * time.Second
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	return &Runs{cfg: cfg}
}

// Actor is the actor of the jobs a run starts.
func Actor(runID string) string { return store.PlanRunActor(runID) }

type tickPayload struct {
	RunID string `json:"run_id"`
	Tick  int64  `json:"tick"`
}

func tickTaskID(runID string, tick int64) string { return fmt.Sprintf("plan-run:%s:t%d", runID, tick) }

// schedule counts the run's next tick and enqueues it after delay. The
// tick that is not the run's latest does nothing: only one chain of ticks
// drives a run, however many were scheduled.
func (r *Runs) schedule(ctx context.Context, runID string, delay time.Duration) error {
	n, err := r.cfg.Store.NextPlanRunTick(ctx, runID)
	if err != nil {
		return err
	}
	return r.enqueue(ctx, runID, n, delay)
}

func (r *Runs) enqueue(ctx context.Context, runID string, tick int64, delay time.Duration) error {
	raw, _ := json.Marshal(tickPayload{RunID: runID, Tick: tick})
	return r.cfg.Runner.Enqueue(ctx, asynq.NewTask(TaskAdvance, raw), asynq.Queue(queue.QueueDefault),
		asynq.TaskID(tickTaskID(runID, tick)), asynq.ProcessIn(delay), asynq.MaxRetry(5), asynq.Timeout(10*time.Minute))
}

// ProcessTask runs one tick (the worker's handler of TaskAdvance). It
// never fails the task: a tick that could not advance the run schedules
// the next one later, so no tick is archived holding its id.
func (r *Runs) ProcessTask(ctx context.Context, t *asynq.Task) error {
	var p tickPayload
	if err := json.Unmarshal(t.Payload(), &p); err != nil {
		return fmt.Errorf("decoding %s payload: %v: %w", t.Type(), err, asynq.SkipRetry)
	}
	more, err := r.Advance(ctx, p.RunID, p.Tick)
	delay := r.cfg.Tick
	if err != nil {
		r.cfg.Log.WarnContext(ctx, "plan run tick failed; trying again", "run_id", p.RunID, "error", err)
		if errs.Is(err, errs.NotFound) {
			return nil
		}
		more, delay = true, max(delay, 2*time.Second)
	}
	if more {
		if err := r.schedule(context.WithoutCancel(ctx), p.RunID, delay); err != nil {
			r.cfg.Log.ErrorContext(ctx, "could not schedule the next tick of a plan run; the sweeper will", "run_id", p.RunID, "error", err)
		}
	}
	return nil
}

// Sweep enqueues again the latest tick of every unfinished run: a tick
// Redis lost is restored, one that exists collapses with it (its task id).
func (r *Runs) Sweep(ctx context.Context) (int, error) {
	ids, err := r.cfg.Store.UnfinishedPlanRuns(ctx)
	if err != nil {
		return 0, err
	}
	for _, id := range ids {
		_, tick, err := r.cfg.Store.PlanRunTick(ctx, id)
		if err != nil {
			return 0, err
		}
		if err := r.enqueue(ctx, id, tick, 0); err != nil {
			return 0, err
		}
	}
	return 0, nil
}

// Advance advances a run once under its lock: it reads the members' jobs,
// marks READY, FAILED and SKIPPED, applies the failure rules, starts the
// members the barrier, dependencies and max_parallel_vms allow, and ends
// the run when every wave is done (or, rolling back, rolls back). tick is
// the tick's number: a tick that is not the run's latest does nothing (-1
// runs whatever the latest). It says whether the run needs another tick.
func (r *Runs) Advance(ctx context.Context, runID string, tick int64) (more bool, err error) {
	err = r.cfg.Store.WithPlanRunLock(ctx, runID, func() error {
		run, cur, err := r.cfg.Store.PlanRunTick(ctx, runID)
		if err != nil {
			return err
		}
		if tick >= 0 && tick != cur {
			return nil // a stale tick: a later one drives the run
		}
		switch run.Status {
		case apiv1.RunRunning, apiv1.RunHalted:
			more, err = r.forward(ctx, run)
		case apiv1.RunCompleted, apiv1.RunFailed:
			if run.RollbackAt == nil {
				return nil
			}
			if left := run.RollbackAt.Sub(r.now()); left > 0 {
				// asynq fires a delayed task up to a second early: come back.
				return r.schedule(ctx, run.ID, left+time.Second)
			}
			// The test TTL is up: the run's copies are rolled back.
			if err := r.cfg.Store.SetPlanRunStatus(ctx, run.ID, apiv1.RunRollingBack, "test_ttl expired"); err != nil {
				return err
			}
			r.audit(ctx, run, failover.System("test-ttl"), "plan-run-rollback", map[string]any{"reason": "test_ttl expired",
				"test_ttl": run.Spec.TestTTL})
			run.Status = apiv1.RunRollingBack
			more, err = r.backward(ctx, run)
		case apiv1.RunRollingBack:
			more, err = r.backward(ctx, run)
		}
		return err
	})
	return more, err
}

// A member's view during a tick.
type tickState struct {
	run     *apiv1.PlanRun
	members map[string]*apiv1.PlanRunMember
	spec    map[string]apiv1.Member
	waves   [][]*apiv1.PlanRunMember
}

func newTickState(run *apiv1.PlanRun) *tickState {
	ts := &tickState{run: run, members: map[string]*apiv1.PlanRunMember{}, spec: map[string]apiv1.Member{},
		waves: make([][]*apiv1.PlanRunMember, len(run.Spec.Waves))}
	for i := range run.Members {
		m := &run.Members[i]
		ts.members[m.ID] = m
		if m.Wave < len(ts.waves) {
			ts.waves[m.Wave] = append(ts.waves[m.Wave], m)
		}
	}
	for _, w := range run.Spec.Waves {
		for _, m := range w.Members {
			ts.spec[m.ID] = m
		}
	}
	return ts
}

func inFlight(state string) bool {
	return state == apiv1.MemberStarting || state == apiv1.MemberFailingOver || state == apiv1.MemberChecking
}

func settled(state string) bool {
	return state == apiv1.MemberReady || state == apiv1.MemberFailed || state == apiv1.MemberSkipped
}

func (r *Runs) now() time.Time { return r.cfg.Now().UTC() }

func (r *Runs) save(ctx context.Context, run *apiv1.PlanRun, m *apiv1.PlanRunMember) error {
	return r.cfg.Store.UpdatePlanRunMember(context.WithoutCancel(ctx), run.ID, m)
}

func (r *Runs) event(ctx context.Context, run *apiv1.PlanRun, level, member, msg string, attrs map[string]any) {
	if err := r.cfg.Store.AddPlanRunEvent(context.WithoutCancel(ctx), run.ID,
		apiv1.PlanRunEvent{Level: level, MemberID: member, Message: msg, Attrs: attrs}); err != nil {
		r.cfg.Log.WarnContext(ctx, "could not record a plan run event", "run_id", run.ID, "error", err)
	}
}

// fail ends a member FAILED with reason: a warning for an optional
// member, an error for a critical one.
func (r *Runs) fail(ctx context.Context, run *apiv1.PlanRun, m *apiv1.PlanRunMember, reason string) error {
	now := r.now()
	m.State, m.Reason, m.EndedAt = apiv1.MemberFailed, reason, &now
	level := "error"
	if m.Optional {
		level, m.Warning = "warn", joinText(m.Warning, "optional member failed: "+reason)
	}
	r.event(ctx, run, level, m.ID, "member failed", map[string]any{"reason": reason, "optional": m.Optional})
	return r.save(ctx, run, m)
}

func joinText(a, b string) string {
	if a == "" {
		return b
	}
	if strings.Contains(a, b) {
		return a
	}
	return a + "; " + b
}

// forward is one tick of a running (or halted) run.
func (r *Runs) forward(ctx context.Context, run *apiv1.PlanRun) (bool, error) {
	ts := newTickState(run)
	// 1. What the in-flight members' jobs and checks say now.
	for i := range run.Members {
		m := &run.Members[i]
		if err := r.observe(ctx, ts, m); err != nil {
			return true, err
		}
	}
	maxPar := max(run.Spec.MaxParallelVMs, 1)
	busy := 0
	for _, m := range run.Members {
		if inFlight(m.State) {
			busy++
		}
	}
	// 2. The waves in order: the first one not settled is the current one.
	for w, members := range ts.waves {
		if err := r.propagate(ctx, ts, members); err != nil {
			return true, err
		}
		if cause := haltCause(run.Spec.Waves[w], members); cause != "" {
			if run.Status != apiv1.RunHalted {
				if err := r.cfg.Store.SetPlanRunStatus(ctx, run.ID, apiv1.RunHalted, cause); err != nil {
					return true, err
				}
				run.Status = apiv1.RunHalted
				r.event(ctx, run, "error", "", "run halted", map[string]any{"wave": w, "reason": cause})
			}
			return busy > 0, nil // no member starts; the ones in flight are still followed
		}
		if run.Status == apiv1.RunHalted {
			return busy > 0, nil // halted by an operator's choice pending
		}
		for _, m := range members {
			if m.State != apiv1.MemberPending || busy >= maxPar || !ts.depsAllow(m) {
				continue
			}
			if err := r.start(ctx, ts, m); err != nil {
				return true, err
			}
			if inFlight(m.State) {
				busy++
			}
		}
		for _, m := range members {
			if !settled(m.State) {
				return true, nil // the barrier: later waves wait
			}
		}
	}
	// 3. Every wave is done.
	status, reason := apiv1.RunCompleted, ""
	for _, m := range run.Members {
		if m.State == apiv1.MemberFailed && !m.Optional {
			status, reason = apiv1.RunFailed, joinText(reason, fmt.Sprintf("member %s failed: %s", m.ID, m.Reason))
		}
	}
	var rollbackAt *time.Time
	ttl, terr := time.ParseDuration(run.Spec.TestTTL)
	if terr == nil && ttl > 0 && run.Mode == apiv1.ModeTest {
		at := r.now().Add(ttl)
		rollbackAt = &at
	}
	if err := r.cfg.Store.EndPlanRun(ctx, run.ID, status, reason, rollbackAt); err != nil {
		return true, err
	}
	r.event(ctx, run, "info", "", "run "+status, map[string]any{"reason": reason})
	if rollbackAt != nil {
		at := *rollbackAt
		r.event(ctx, run, "info", "", "the test copies roll back by themselves at the end of the test TTL",
			map[string]any{"test_ttl": run.Spec.TestTTL, "rollback_at": at})
		// The timer is the row: this delayed tick fires it, and should
		// Redis lose it, the sweep does.
		if err := r.schedule(ctx, run.ID, ttl+time.Second); err != nil {
			r.cfg.Log.WarnContext(ctx, "could not schedule a test run's rollback; the sweep will", "run_id", run.ID, "error", err)
		}
	}
	return false, nil
}

// haltCause says why a halt wave stops the run: a critical member failed
// and the operator did not continue past it.
func haltCause(w apiv1.Wave, members []*apiv1.PlanRunMember) string {
	if w.OnFailure == apiv1.WaveContinue {
		return ""
	}
	for _, m := range members {
		if m.State == apiv1.MemberFailed && !m.Optional && !m.Waived {
			return fmt.Sprintf("critical member %s failed: %s", m.ID, m.Reason)
		}
	}
	return ""
}

// depsAllow: every hard dependency READY, every soft one settled.
func (ts *tickState) depsAllow(m *apiv1.PlanRunMember) bool {
	for _, d := range ts.spec[m.ID].DependsOn {
		dep := ts.members[d.Member]
		if dep == nil {
			continue
		}
		if d.Soft && !settled(dep.State) || !d.Soft && dep.State != apiv1.MemberReady {
			return false
		}
	}
	return true
}

// propagate skips the pending hard dependents of failed or skipped
// members, and warns the soft ones, until nothing changes.
func (r *Runs) propagate(ctx context.Context, ts *tickState, members []*apiv1.PlanRunMember) error {
	for changed := true; changed; {
		changed = false
		for _, m := range members {
			if m.State != apiv1.MemberPending {
				continue
			}
			for _, d := range ts.spec[m.ID].DependsOn {
				dep := ts.members[d.Member]
				if dep == nil || (dep.State != apiv1.MemberFailed && dep.State != apiv1.MemberSkipped) {
					continue
				}
				if d.Soft {
					w := fmt.Sprintf("soft dependency %s %s", dep.ID, dep.State)
					if !strings.Contains(m.Warning, w) {
						m.Warning = joinText(m.Warning, w)
						r.event(ctx, ts.run, "warn", m.ID, "soft dependency did not become ready; going on", map[string]any{"dependency": dep.ID})
						if err := r.save(ctx, ts.run, m); err != nil {
							return err
						}
					}
					continue
				}
				now := r.now()
				m.State, m.Reason, m.EndedAt = apiv1.MemberSkipped, apiv1.ReasonDependencyFailed+": "+dep.ID, &now
				r.event(ctx, ts.run, "warn", m.ID, "member skipped", map[string]any{"reason": m.Reason})
				if err := r.save(ctx, ts.run, m); err != nil {
					return err
				}
				changed = true
				break
			}
		}
	}
	return nil
}

// observe reads what an in-flight member's job and readiness check say.
func (r *Runs) observe(ctx context.Context, ts *tickState, m *apiv1.PlanRunMember) error {
	switch m.State {
	case apiv1.MemberStarting:
		return r.start(ctx, ts, m) // a tick died between recording the intent and the job
	case apiv1.MemberFailingOver:
		j, err := r.cfg.Store.GetJob(ctx, m.JobID)
		if err != nil {
			return err
		}
		if j.Status.Active() {
			return nil
		}
		if j.Status != store.JobCompleted {
			return r.fail(ctx, ts.run, m, fmt.Sprintf("test failover %s %s: %s", j.ExternalID, j.Status, j.Error))
		}
		now := r.now()
		m.State, m.JobDoneAt, m.CheckedAt = apiv1.MemberChecking, &now, nil
		r.event(ctx, ts.run, "info", m.ID, "failover completed; checking readiness", map[string]any{"job_id": j.ID})
		if err := r.save(ctx, ts.run, m); err != nil {
			return err
		}
		return r.check(ctx, ts, m)
	case apiv1.MemberChecking:
		return r.check(ctx, ts, m)
	}
	return nil
}

func durationOr(s string, def time.Duration) time.Duration {
	if d, err := time.ParseDuration(s); err == nil && d >= 0 {
		return d
	}
	return def
}

// check runs a member's readiness check once; READY after its delay, or
// FAILED readiness_timeout once its timeout from the job's end is past.
func (r *Runs) check(ctx context.Context, ts *tickState, m *apiv1.PlanRunMember) error {
	rc := ts.spec[m.ID].Readiness
	if rc == nil {
		rc = &apiv1.ReadinessCheck{Type: apiv1.ReadyRunning}
	}
	now := r.now()
	if m.CheckedAt == nil {
		ok, detail, err := r.probe(ctx, m, rc)
		if err != nil {
			return r.fail(ctx, ts.run, m, err.Error())
		}
		if !ok {
			if m.JobDoneAt != nil && now.Sub(*m.JobDoneAt) > durationOr(rc.Timeout, DefaultReadyTimeout) {
				r.event(ctx, ts.run, "error", m.ID, "readiness check timed out", map[string]any{"check": rc.Type, "last": detail})
				return r.fail(ctx, ts.run, m, apiv1.ReasonReadinessTimeout)
			}
			return nil
		}
		m.CheckedAt = &now
		if err := r.save(ctx, ts.run, m); err != nil {
			return err
		}
	}
	if now.Sub(*m.CheckedAt) < durationOr(rc.PostReadyDelay, 0) {
		return nil
	}
	m.State, m.ReadyAt, m.Reason = apiv1.MemberReady, &now, ""
	r.event(ctx, ts.run, "info", m.ID, "member ready", map[string]any{"check": rc.Type})
	return r.save(ctx, ts.run, m)
}

// probe runs one attempt of a check: whether it passed and what it saw;
// an error is a check that cannot run at all.
func (r *Runs) probe(ctx context.Context, m *apiv1.PlanRunMember, rc *apiv1.ReadinessCheck) (bool, string, error) {
	switch rc.Type {
	case apiv1.ReadyRunning, "":
		// The failover job waited for the VM to start; CloudStack must
		// still say Running.
		_, state, err := r.cfg.Engine.DestinationState(ctx, m.JobID)
		if err != nil {
			return false, err.Error(), nil
		}
		return state == cloudstack.StateRunning, state, nil
	case apiv1.ReadyTCP:
		c, err := net.DialTimeout("tcp", rc.Address, r.cfg.DialTimeout)
		if err != nil {
			return false, err.Error(), nil
		}
		_ = c.Close()
		return true, "connected", nil
	default:
		return false, "", fmt.Errorf("readiness check %q is not supported by this version", rc.Type)
	}
}

// start starts a member's test failover, idempotently: the intent is
// recorded first; a tick that died after the engine started the job finds
// it (its actor is the run's, created after the intent) rather than start
// a second one; the engine's one-job-per-VM lock refuses a second anyway.
func (r *Runs) start(ctx context.Context, ts *tickState, m *apiv1.PlanRunMember) error {
	run := ts.run
	actor := Actor(run.ID)
	if m.State == apiv1.MemberPending {
		now := r.now()
		m.State, m.StartedAt, m.Attempts, m.Reason = apiv1.MemberStarting, &now, m.Attempts+1, ""
		m.JobID, m.JobDoneAt, m.CheckedAt, m.ReadyAt, m.EndedAt = "", nil, nil, nil, nil
		if err := r.save(ctx, run, m); err != nil {
			return err
		}
		r.event(ctx, run, "info", m.ID, "member starting", map[string]any{"wave": m.Wave, "context_id": m.ContextID})
	}
	if m.JobID == "" {
		id, err := r.adopt(ctx, run, m)
		if err != nil {
			return err
		}
		m.JobID = id
	}
	if m.JobID == "" {
		st, err := r.cfg.Engine.StartFailover(ctx, failover.FailoverRequest{ContextID: m.ContextID, FailoverType: apiv1.FailoverTest},
			failover.System(actor))
		switch {
		case err != nil && errs.IsTransient(err):
			return err
		case errs.Is(err, errs.Conflict):
			return r.fail(ctx, run, m, "VM busy: "+err.Error())
		case err != nil:
			return r.fail(ctx, run, m, "the test failover did not start: "+err.Error())
		}
		m.JobID = st.Job.ID
		r.event(ctx, run, "info", m.ID, "test failover started", map[string]any{"job_id": st.Job.ID, "external_job_id": st.Job.ExternalID})
	}
	m.State = apiv1.MemberFailingOver
	return r.save(ctx, run, m)
}

// adopt returns the failover a tick that died after starting it left
// unrecorded: the newest failover of the member's VM by the run's actor,
// created after the member's intent, that no run recorded; or "".
func (r *Runs) adopt(ctx context.Context, run *apiv1.PlanRun, m *apiv1.PlanRunMember) (string, error) {
	if m.StartedAt == nil {
		return "", nil
	}
	jobs, err := r.cfg.Store.ListJobs(ctx, store.JobFilter{ContextID: m.ContextID, Type: failover.JobFailover, Limit: 10})
	if err != nil {
		return "", err
	}
	for _, j := range jobs {
		if j.Actor != Actor(run.ID) || j.CreatedAt.Before(m.StartedAt.Add(-time.Second)) {
			continue
		}
		owner, err := r.cfg.Store.PlanRunOfJob(ctx, j.ID)
		if err != nil {
			return "", err
		}
		if owner == "" {
			return j.ID, nil
		}
	}
	return "", nil
}

// needsRollback: the run made a failover of the member that is not rolled
// back, and its rollback did not fail.
func needsRollback(m *apiv1.PlanRunMember) bool {
	return m.JobID != "" && m.State != apiv1.MemberRolledBack && !rollbackFailed(m)
}

const reasonRollbackFailed = "rollback_failed"

func rollbackFailed(m *apiv1.PlanRunMember) bool {
	return m.State == apiv1.MemberFailed && strings.HasPrefix(m.Reason, reasonRollbackFailed)
}

// backward is one tick of a rollback: waves in reverse order, a member
// after every member of its wave that depends on it, at most
// max_parallel_vms at once, only the failovers the run made.
func (r *Runs) backward(ctx context.Context, run *apiv1.PlanRun) (bool, error) {
	ts := newTickState(run)
	maxPar := max(run.Spec.MaxParallelVMs, 1)
	busy := 0
	for i := range run.Members {
		m := &run.Members[i]
		if m.State == apiv1.MemberStarting && m.JobID == "" {
			// A tick died while starting it: a failover it started is the
			// run's to roll back; without one there is nothing.
			id, err := r.adopt(ctx, run, m)
			if err != nil {
				return true, err
			}
			now := r.now()
			if id != "" {
				m.JobID, m.State = id, apiv1.MemberFailingOver
			} else {
				m.State, m.Reason, m.EndedAt = apiv1.MemberSkipped, "run rolled back before the member started", &now
			}
			if err := r.save(ctx, run, m); err != nil {
				return true, err
			}
		}
		if m.State == apiv1.MemberRollingBack {
			if err := r.observeRollback(ctx, run, m); err != nil {
				return true, err
			}
		}
		if m.State == apiv1.MemberRollingBack {
			busy++
		}
	}
	for w := len(ts.waves) - 1; w >= 0; w-- {
		members := ts.waves[w]
		for i := len(members) - 1; i >= 0; i-- {
			m := members[i]
			if !needsRollback(m) || m.State == apiv1.MemberRollingBack || busy >= maxPar || !ts.dependentsDone(m) {
				continue
			}
			if err := r.startRollback(ctx, run, m); err != nil {
				return true, err
			}
			if m.State == apiv1.MemberRollingBack {
				busy++
			}
		}
		for _, m := range members {
			if needsRollback(m) {
				return true, nil // the wave before waits
			}
		}
	}
	status, reason := apiv1.RunRolledBack, ""
	for _, m := range run.Members {
		if rollbackFailed(&m) {
			status, reason = apiv1.RunFailed, joinText(reason, fmt.Sprintf("member %s: %s", m.ID, m.Reason))
		}
	}
	if err := r.cfg.Store.SetPlanRunStatus(ctx, run.ID, status, reason); err != nil {
		return true, err
	}
	r.event(ctx, run, "info", "", "rollback ended: run "+status, map[string]any{"reason": reason})
	return false, nil
}

// dependentsDone: every member of m's wave that depends on m is rolled
// back (or has nothing to roll back).
func (ts *tickState) dependentsDone(m *apiv1.PlanRunMember) bool {
	for _, o := range ts.waves[m.Wave] {
		for _, d := range ts.spec[o.ID].DependsOn {
			if d.Member == m.ID && needsRollback(o) {
				return false
			}
		}
	}
	return true
}

func (r *Runs) observeRollback(ctx context.Context, run *apiv1.PlanRun, m *apiv1.PlanRunMember) error {
	j, err := r.cfg.Store.GetJob(ctx, m.RollbackJobID)
	if err != nil {
		return err
	}
	if j.Status.Active() {
		return nil
	}
	now := r.now()
	m.EndedAt = &now
	if j.Status != store.JobCompleted {
		m.State, m.Reason = apiv1.MemberFailed, fmt.Sprintf("%s: rollback %s %s: %s", reasonRollbackFailed, j.ExternalID, j.Status, j.Error)
		r.event(ctx, run, "error", m.ID, "rollback failed", map[string]any{"job_id": j.ID, "error": j.Error})
	} else {
		m.State = apiv1.MemberRolledBack
		r.event(ctx, run, "info", m.ID, "member rolled back", map[string]any{"job_id": j.ID})
	}
	return r.save(ctx, run, m)
}

// startRollback starts the rollback of the failover the run made of m,
// idempotently: a failover still running is waited for; a rollback of it
// that exists is adopted; one already rolled back is recorded so.
func (r *Runs) startRollback(ctx context.Context, run *apiv1.PlanRun, m *apiv1.PlanRunMember) error {
	fj, err := r.cfg.Store.GetJob(ctx, m.JobID)
	if err != nil {
		return err
	}
	if fj.Status.Active() {
		return nil // the failover is still running (a cancelled run left it to finish)
	}
	rb, err := r.findRollback(ctx, m)
	if err != nil {
		return err
	}
	now := r.now()
	if rb == nil {
		fo, err := r.cfg.Store.GetFailoverJob(ctx, m.JobID)
		if err != nil {
			return err
		}
		if fo.Status == store.FailoverRolledBack {
			m.State, m.EndedAt = apiv1.MemberRolledBack, &now
			return r.save(ctx, run, m)
		}
		st, err := r.cfg.Engine.StartRollback(ctx, failover.RollbackRequest{ContextID: m.ContextID,
			Reason: fmt.Sprintf("rollback of plan %s, run %s", run.PlanName, run.ID)}, failover.System(Actor(run.ID)))
		switch {
		case err != nil && errs.IsTransient(err):
			return err
		case err != nil:
			m.State, m.Reason, m.EndedAt = apiv1.MemberFailed, reasonRollbackFailed+": the rollback did not start: "+err.Error(), &now
			r.event(ctx, run, "error", m.ID, "rollback did not start", map[string]any{"error": err.Error()})
			return r.save(ctx, run, m)
		}
		rb = st.Job
		r.event(ctx, run, "info", m.ID, "rollback started", map[string]any{"job_id": rb.ID, "external_job_id": rb.ExternalID})
	}
	m.State, m.RollbackJobID, m.RollbackStartedAt, m.Reason, m.EndedAt = apiv1.MemberRollingBack, rb.ID, &now, "", nil
	return r.save(ctx, run, m)
}

// findRollback returns the rollback of the member's failover (its
// parent), if one was started, or nil.
func (r *Runs) findRollback(ctx context.Context, m *apiv1.PlanRunMember) (*store.Job, error) {
	jobs, err := r.cfg.Store.ListJobs(ctx, store.JobFilter{ContextID: m.ContextID, Type: failover.JobRollback, Limit: 10})
	if err != nil {
		return nil, err
	}
	for _, j := range jobs {
		if j.ParentID == m.JobID && j.Status != store.JobFailed && j.Status != store.JobCancelled {
			return j, nil
		}
	}
	return nil, nil
}
