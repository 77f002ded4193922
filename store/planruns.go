package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/ossea/unifiedfailover/api/apiv1"
	"github.com/ossea/unifiedfailover/errs"
)

// UnfinishedRunStatuses are the statuses of a run that holds its plan and
// its VMs: a plan has at most one run in them (plan_runs_one_unfinished).
var UnfinishedRunStatuses = []string{apiv1.RunRunning, apiv1.RunHalted, apiv1.RunRollingBack}

// NewPlanRunMember is a member of a run to create: its place in the plan
// and its VM context.
type NewPlanRunMember struct {
	ID        string
	Wave      int
	Order     int
	ContextID string
	VMName    string
	Optional  bool
}

// NewPlanRun is a run to create, pinned to the plan's version and spec.
type NewPlanRun struct {
	Plan      *apiv1.RecoveryPlan
	Spec      apiv1.PlanSpec
	Mode      string
	CreatedBy string
	Members   []NewPlanRunMember
}

const planRunColumns = `id::text, COALESCE(plan_id::text, ''), plan_name, plan_version, spec, mode, status, reason, created_by,
	started_at, updated_at, ended_at, rollback_at`

func scanPlanRun(row pgx.Row) (*apiv1.PlanRun, int64, error) {
	var r apiv1.PlanRun
	var spec []byte
	var tick int64
	if err := row.Scan(&r.ID, &r.PlanID, &r.PlanName, &r.PlanVersion, &spec, &r.Mode, &r.Status, &r.Reason,
		&r.CreatedBy, &r.StartedAt, &r.UpdatedAt, &r.EndedAt, &r.RollbackAt, &tick); err != nil {
		return nil, 0, err
	}
	if err := json.Unmarshal(spec, &r.Spec); err != nil {
		return nil, 0, fmt.Errorf("reading the spec of plan run %s: %w", r.ID, err)
	}
	return &r, tick, nil
}

const planRunMemberColumns = `member_id, wave, ord, context_id, vm_name, optional, state, reason, warning, waived,
	job_id, rollback_job_id, attempts, started_at, job_done_at, checked_at, ready_at, ended_at, rollback_started_at`

func scanPlanRunMember(row pgx.Row) (apiv1.PlanRunMember, error) {
	var m apiv1.PlanRunMember
	err := row.Scan(&m.ID, &m.Wave, &m.Order, &m.ContextID, &m.VMName, &m.Optional, &m.State, &m.Reason, &m.Warning,
		&m.Waived, &m.JobID, &m.RollbackJobID, &m.Attempts, &m.StartedAt, &m.JobDoneAt, &m.CheckedAt, &m.ReadyAt,
		&m.EndedAt, &m.RollbackStartedAt)
	return m, err
}

// CreatePlanRun creates a running run with its members, all pending, and
// its first event. A plan with an unfinished run, or a member VM in
// another unfinished run or with an active job, is Conflict naming the
// holder.
func (s *Store) CreatePlanRun(ctx context.Context, nr NewPlanRun) (*apiv1.PlanRun, error) {
	raw, err := json.Marshal(nr.Spec)
	if err != nil {
		return nil, fmt.Errorf("encoding the spec of plan %s: %w", nr.Plan.Name, err)
	}
	id := uuid.NewString()
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO plan_runs (id, plan_id, plan_name, plan_version, spec, mode, status, created_by)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`, id, nr.Plan.ID, nr.Plan.Name, nr.Plan.Version, raw, nr.Mode,
			apiv1.RunRunning, nr.CreatedBy)
		if isUniqueViolation(err, "plan_runs_one_unfinished") {
			var holder, status string
			_ = s.pool.QueryRow(ctx, `SELECT id::text, status FROM plan_runs WHERE plan_id = $1 AND status = ANY($2)`,
				nr.Plan.ID, UnfinishedRunStatuses).Scan(&holder, &status)
			return errs.New(errs.Conflict, "plan %s already has an unfinished run %s (%s)", nr.Plan.Name, holder, status).
				WithDetails("run_id", holder)
		}
		if err != nil {
			return err
		}
		for _, m := range nr.Members {
			var holder, member string
			err := tx.QueryRow(ctx, `SELECT r.id::text, m.member_id FROM plan_run_members m JOIN plan_runs r ON r.id = m.run_id
				WHERE m.context_id = $1 AND r.status = ANY($2) AND r.id <> $3 LIMIT 1`,
				m.ContextID, UnfinishedRunStatuses, id).Scan(&holder, &member)
			if err == nil {
				return errs.New(errs.Conflict, "VM %s (member %s) is in the unfinished plan run %s", vmLabel(m), m.ID, holder).
					WithDetails("run_id", holder)
			} else if !errors.Is(err, pgx.ErrNoRows) {
				return err
			}
			var jobID, extID, typ string
			err = tx.QueryRow(ctx, `SELECT id::text, external_job_id, job_type FROM job_tracking
				WHERE context_id = $1 AND status IN ('pending', 'running') LIMIT 1`, m.ContextID).Scan(&jobID, &extID, &typ)
			if err == nil {
				return errs.New(errs.Conflict, "VM %s (member %s) has an active %s job %s (%s)", vmLabel(m), m.ID, typ, jobID, extID).
					WithDetails("job_id", jobID)
			} else if !errors.Is(err, pgx.ErrNoRows) {
				return err
			}
			if _, err := tx.Exec(ctx, `INSERT INTO plan_run_members (run_id, member_id, wave, ord, context_id, vm_name, optional)
				VALUES ($1, $2, $3, $4, $5, $6, $7)`, id, m.ID, m.Wave, m.Order, m.ContextID, m.VMName, m.Optional); err != nil {
				return err
			}
		}
		_, err = tx.Exec(ctx, `INSERT INTO plan_run_events (run_id, level, message, attrs) VALUES ($1, 'info', $2, $3)`,
			id, "run started", map[string]any{"mode": nr.Mode, "plan_version": nr.Plan.Version, "created_by": nr.CreatedBy})
		return err
	})
	if err != nil {
		var e *errs.Error
		if errors.As(err, &e) {
			return nil, err
		}
		return nil, classify(err, "creating a run of plan %s", nr.Plan.Name)
	}
	return s.GetPlanRun(ctx, id)
}

func vmLabel(m NewPlanRunMember) string {
	if m.VMName != "" {
		return m.VMName
	}
	return m.ContextID
}

// GetPlanRun returns a run with its members in wave and declaration order,
// or NotFound.
func (s *Store) GetPlanRun(ctx context.Context, id string) (*apiv1.PlanRun, error) {
	r, _, err := s.getPlanRun(ctx, id)
	return r, err
}

// PlanRunTick returns a run and its current tick number.
func (s *Store) PlanRunTick(ctx context.Context, id string) (*apiv1.PlanRun, int64, error) {
	return s.getPlanRun(ctx, id)
}

func (s *Store) getPlanRun(ctx context.Context, id string) (*apiv1.PlanRun, int64, error) {
	if _, err := uuid.Parse(id); err != nil {
		return nil, 0, errs.New(errs.NotFound, "no plan run %q", id)
	}
	r, tick, err := scanPlanRun(s.pool.QueryRow(ctx, `SELECT `+planRunColumns+`, tick FROM plan_runs WHERE id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, 0, errs.New(errs.NotFound, "no plan run %q", id)
	}
	if err != nil {
		return nil, 0, classify(err, "reading plan run %s", id)
	}
	rows, err := s.pool.Query(ctx, `SELECT `+planRunMemberColumns+` FROM plan_run_members WHERE run_id = $1 ORDER BY wave, ord`, id)
	if err != nil {
		return nil, 0, classify(err, "reading the members of plan run %s", id)
	}
	r.Members, err = pgx.CollectRows(rows, func(row pgx.CollectableRow) (apiv1.PlanRunMember, error) { return scanPlanRunMember(row) })
	if err != nil {
		return nil, 0, classify(err, "reading the members of plan run %s", id)
	}
	return r, tick, nil
}

// UnfinishedPlanRuns returns the ids of the runs a tick has work for:
// the unfinished ones, and the ended ones whose rollback_at has come.
func (s *Store) UnfinishedPlanRuns(ctx context.Context) ([]string, error) {
	rows, err := s.pool.Query(ctx, `SELECT id::text FROM plan_runs WHERE status = ANY($1) OR rollback_at <= now()
		ORDER BY started_at`, UnfinishedRunStatuses)
	if err != nil {
		return nil, classify(err, "listing unfinished plan runs")
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	return ids, classify(err, "listing unfinished plan runs")
}

// WithPlanRunLock runs fn holding the run's advisory lock, so two workers
// never advance (or an operator's choice and a worker never change) a run
// at once. It waits for the lock; the lock goes with the connection, so a
// dead worker's lock is released with its session.
func (s *Store) WithPlanRunLock(ctx context.Context, runID string, fn func() error) error {
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return classify(err, "locking plan run %s", runID)
	}
	defer conn.Release()
	key := planRunLockKey(runID)
	if _, err := conn.Exec(ctx, `SELECT pg_advisory_lock($1)`, key); err != nil {
		return classify(err, "locking plan run %s", runID)
	}
	defer func() {
		if _, err := conn.Exec(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock($1)`, key); err != nil {
			// The session may hold the lock still: drop the connection.
			_ = conn.Conn().Close(context.WithoutCancel(ctx))
		}
	}()
	return fn()
}

func planRunLockKey(runID string) int64 {
	h := fnv.New64a()
	_, _ = h.Write([]byte("plan-run:" + runID))
	return int64(h.Sum64())
}

// UpdatePlanRunMember writes a member's state, reasons, jobs and times.
func (s *Store) UpdatePlanRunMember(ctx context.Context, runID string, m *apiv1.PlanRunMember) error {
	tag, err := s.pool.Exec(ctx, `UPDATE plan_run_members SET state = $3, reason = $4, warning = $5, waived = $6,
		job_id = $7, rollback_job_id = $8, attempts = $9, started_at = $10, job_done_at = $11, checked_at = $12,
		ready_at = $13, ended_at = $14, rollback_started_at = $15
		WHERE run_id = $1 AND member_id = $2`, runID, m.ID, m.State, m.Reason, m.Warning, m.Waived, m.JobID,
		m.RollbackJobID, m.Attempts, m.StartedAt, m.JobDoneAt, m.CheckedAt, m.ReadyAt, m.EndedAt, m.RollbackStartedAt)
	if err != nil {
		return classify(err, "updating member %s of plan run %s", m.ID, runID)
	}
	if tag.RowsAffected() == 0 {
		return errs.New(errs.NotFound, "plan run %s has no member %s", runID, m.ID)
	}
	return nil
}

// SetPlanRunStatus sets a run's status and reason, and clears its
// rollback_at; a finished status sets ended_at, an unfinished one clears
// it. Another unfinished run of the plan is Conflict.
func (s *Store) SetPlanRunStatus(ctx context.Context, runID, status, reason string) error {
	return s.EndPlanRun(ctx, runID, status, reason, nil)
}

// EndPlanRun is SetPlanRunStatus that sets rollback_at to rollbackAt in
// the same statement (an ended test run with its test TTL).
func (s *Store) EndPlanRun(ctx context.Context, runID, status, reason string, rollbackAt *time.Time) error {
	_, err := s.pool.Exec(ctx, `UPDATE plan_runs SET status = $2, reason = $3, updated_at = now(), rollback_at = $5,
		ended_at = CASE WHEN $2 = ANY($4) THEN NULL ELSE COALESCE(ended_at, now()) END WHERE id = $1`,
		runID, status, reason, UnfinishedRunStatuses, rollbackAt)
	if isUniqueViolation(err, "plan_runs_one_unfinished") {
		return errs.New(errs.Conflict, "the plan of run %s has another unfinished run", runID)
	}
	return classify(err, "setting the status of plan run %s", runID)
}

// SetPlanRunRollbackAt sets when an ended test run is rolled back by
// itself.
func (s *Store) SetPlanRunRollbackAt(ctx context.Context, runID string, at time.Time) error {
	_, err := s.pool.Exec(ctx, `UPDATE plan_runs SET rollback_at = $2, updated_at = now() WHERE id = $1`, runID, at)
	return classify(err, "setting when plan run %s rolls back", runID)
}

// NextPlanRunTick counts a tick of the run and returns its number.
func (s *Store) NextPlanRunTick(ctx context.Context, runID string) (int64, error) {
	var n int64
	err := s.pool.QueryRow(ctx, `UPDATE plan_runs SET tick = tick + 1, updated_at = now() WHERE id = $1 RETURNING tick`, runID).Scan(&n)
	return n, classify(err, "counting a tick of plan run %s", runID)
}

// AddPlanRunEvent appends to a run's log; actor is set on an operator's
// choice.
func (s *Store) AddPlanRunEvent(ctx context.Context, runID string, e apiv1.PlanRunEvent) error {
	if e.Level == "" {
		e.Level = "info"
	}
	_, err := s.pool.Exec(ctx, `INSERT INTO plan_run_events (run_id, level, member_id, actor, message, attrs)
		VALUES ($1, $2, $3, $4, $5, $6)`, runID, e.Level, e.MemberID, e.Actor, e.Message, e.Attrs)
	return classify(err, "recording an event of plan run %s", runID)
}

// PlanRunEvents returns a run's log, oldest first.
func (s *Store) PlanRunEvents(ctx context.Context, runID string) ([]apiv1.PlanRunEvent, error) {
	rows, err := s.pool.Query(ctx, `SELECT id, at, level, member_id, actor, message, attrs FROM plan_run_events
		WHERE run_id = $1 ORDER BY id`, runID)
	if err != nil {
		return nil, classify(err, "reading the events of plan run %s", runID)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (apiv1.PlanRunEvent, error) {
		var e apiv1.PlanRunEvent
		err := row.Scan(&e.ID, &e.At, &e.Level, &e.MemberID, &e.Actor, &e.Message, &e.Attrs)
		return e, err
	})
	if out == nil {
		out = []apiv1.PlanRunEvent{}
	}
	return out, classify(err, "reading the events of plan run %s", runID)
}

// PlanHasUnfinishedRun returns the id of the plan's unfinished run, or
// "" when it has none: a plan is not deleted while it has one.
func (s *Store) PlanHasUnfinishedRun(ctx context.Context, planID string) (string, error) {
	var id string
	err := s.pool.QueryRow(ctx, `SELECT id::text FROM plan_runs WHERE plan_id::text = $1 AND status = ANY($2) LIMIT 1`,
		planID, UnfinishedRunStatuses).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", nil
	}
	return id, classify(err, "reading the unfinished run of plan %s", planID)
}

// PlanRunActor is the actor of the jobs a plan run starts.
func PlanRunActor(runID string) string { return "plan-run:" + runID }

// PlanRunHolding returns the unfinished run a VM context is a member of,
// with the member's id, or "" when none.
func (s *Store) PlanRunHolding(ctx context.Context, contextID string) (runID, memberID string, err error) {
	err = s.pool.QueryRow(ctx, `SELECT r.id::text, m.member_id FROM plan_run_members m JOIN plan_runs r ON r.id = m.run_id
		WHERE m.context_id = $1 AND r.status = ANY($2) LIMIT 1`, contextID, UnfinishedRunStatuses).Scan(&runID, &memberID)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", "", nil
	}
	return runID, memberID, classify(err, "reading the plan run of VM context %s", contextID)
}

// PlanRunOfJob returns the run that recorded a job as a member's failover
// or rollback, or "".
func (s *Store) PlanRunOfJob(ctx context.Context, jobID string) (string, error) {
	var id string
	err := s.pool.QueryRow(ctx, `SELECT run_id::text FROM plan_run_members WHERE job_id = $1 OR rollback_job_id = $1 LIMIT 1`,
		jobID).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", nil
	}
	return id, classify(err, "reading the plan run of job %s", jobID)
}
