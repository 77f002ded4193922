package store

import (
	"context"
	"encoding/json"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/ossea/unifiedfailover/api/apiv1"
	"github.com/ossea/unifiedfailover/errs"
)

// DrillSchedule is a scheduled DR drill: which VM contexts, when (a 5-field
// cron expression in a time zone), how long the test copies stay up, and
// how many VMs are exercised at once.
type DrillSchedule struct {
	ID          string
	Name        string
	ContextIDs  []string
	Cron        string
	Timezone    string
	HoldSeconds int
	MaxParallel int
	Enabled     bool
	CreatedBy   string
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

const scheduleColumns = `id::text, name, context_ids, cron, timezone, hold_seconds, max_parallel, enabled, created_by,
	created_at, updated_at`

func scanSchedule(row pgx.Row) (*DrillSchedule, error) {
	var d DrillSchedule
	err := row.Scan(&d.ID, &d.Name, &d.ContextIDs, &d.Cron, &d.Timezone, &d.HoldSeconds, &d.MaxParallel, &d.Enabled,
		&d.CreatedBy, &d.CreatedAt, &d.UpdatedAt)
	return &d, err
}

// CreateDrillSchedule inserts a schedule (a new id when d.ID is empty) and
// fills its id and timestamps. A taken name is AlreadyExists.
func (s *Store) CreateDrillSchedule(ctx context.Context, d *DrillSchedule) error {
	if d.ID == "" {
		d.ID = uuid.NewString()
	}
	err := s.pool.QueryRow(ctx, `INSERT INTO drill_schedules (id, name, context_ids, cron, timezone, hold_seconds,
			max_parallel, enabled, created_by)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING created_at, updated_at`,
		d.ID, d.Name, d.ContextIDs, d.Cron, d.Timezone, d.HoldSeconds, d.MaxParallel, d.Enabled, d.CreatedBy).
		Scan(&d.CreatedAt, &d.UpdatedAt)
	if isUniqueViolation(err, "drill_schedules_name_key") {
		return errs.New(errs.AlreadyExists, "name: a drill schedule named %q exists", d.Name).WithDetails("field", "name")
	}
	return classify(err, "creating drill schedule %q", d.Name)
}

// GetDrillSchedule returns a schedule by id, or NotFound.
func (s *Store) GetDrillSchedule(ctx context.Context, id string) (*DrillSchedule, error) {
	if _, err := uuid.Parse(id); err != nil {
		return nil, errs.New(errs.NotFound, "no drill schedule %q", id)
	}
	d, err := scanSchedule(s.pool.QueryRow(ctx, `SELECT `+scheduleColumns+` FROM drill_schedules WHERE id = $1`, id))
	if err != nil {
		if errs.Is(classify(err, ""), errs.NotFound) {
			return nil, errs.New(errs.NotFound, "no drill schedule %q", id)
		}
		return nil, classify(err, "reading drill schedule %s", id)
	}
	return d, nil
}

// ListDrillSchedules returns the schedules by name (only the enabled ones
// when enabledOnly).
func (s *Store) ListDrillSchedules(ctx context.Context, enabledOnly bool) ([]*DrillSchedule, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+scheduleColumns+` FROM drill_schedules
		WHERE enabled OR NOT $1 ORDER BY name`, enabledOnly)
	if err != nil {
		return nil, classify(err, "listing drill schedules")
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*DrillSchedule, error) { return scanSchedule(r) })
	return out, classify(err, "listing drill schedules")
}

// UpdateDrillSchedule replaces a schedule's settings.
func (s *Store) UpdateDrillSchedule(ctx context.Context, d *DrillSchedule) error {
	err := s.pool.QueryRow(ctx, `UPDATE drill_schedules SET name = $2, context_ids = $3, cron = $4, timezone = $5,
			hold_seconds = $6, max_parallel = $7, enabled = $8, updated_at = now()
		WHERE id = $1 RETURNING created_at, updated_at, created_by`,
		d.ID, d.Name, d.ContextIDs, d.Cron, d.Timezone, d.HoldSeconds, d.MaxParallel, d.Enabled).
		Scan(&d.CreatedAt, &d.UpdatedAt, &d.CreatedBy)
	if isUniqueViolation(err, "drill_schedules_name_key") {
		return errs.New(errs.AlreadyExists, "name: a drill schedule named %q exists", d.Name).WithDetails("field", "name")
	}
	if err != nil && errs.Is(classify(err, ""), errs.NotFound) {
		return errs.New(errs.NotFound, "no drill schedule %q", d.ID)
	}
	return classify(err, "updating drill schedule %s", d.ID)
}

// DeleteDrillSchedule deletes a schedule; its runs stay (without schedule).
func (s *Store) DeleteDrillSchedule(ctx context.Context, id string) error {
	if _, err := uuid.Parse(id); err != nil {
		return errs.New(errs.NotFound, "no drill schedule %q", id)
	}
	tag, err := s.pool.Exec(ctx, `DELETE FROM drill_schedules WHERE id = $1`, id)
	if err != nil {
		return classify(err, "deleting drill schedule %s", id)
	}
	if tag.RowsAffected() == 0 {
		return errs.New(errs.NotFound, "no drill schedule %q", id)
	}
	return nil
}

// DrillRunStatus is the status of a drill run; it ends passed or failed.
type DrillRunStatus = apiv1.DrillRunStatus

// Drill run statuses.
const (
	DrillPending DrillRunStatus = "pending"
	DrillRunning DrillRunStatus = "running"
	DrillPassed  DrillRunStatus = "passed"
	DrillFailed  DrillRunStatus = "failed"
)

// DrillRun is one run of a drill (one tick of a schedule, or a manual run).
type DrillRun struct {
	ID           string
	ScheduleID   string
	ScheduleName string
	Tick         time.Time
	Status       DrillRunStatus
	JobID        string
	HoldSeconds  int
	MaxParallel  int
	Trigger      string
	Actor        string
	Error        string
	StartedAt    *time.Time
	EndedAt      *time.Time
	HoldUntil    *time.Time
	CreatedAt    time.Time
	Report       json.RawMessage
	VMs          []DrillRunVM
}

// DrillVMState is where one VM of a drill run is.
type DrillVMState = apiv1.DrillVMState

// Drill VM states.
const (
	DrillVMPending        DrillVMState = "pending"
	DrillVMSkipped        DrillVMState = "skipped"
	DrillVMFailingOver    DrillVMState = "failing-over"
	DrillVMFailedOver     DrillVMState = "failed-over"
	DrillVMFailoverFailed DrillVMState = "failover-failed"
	DrillVMRollingBack    DrillVMState = "rolling-back"
	DrillVMRolledBack     DrillVMState = "rolled-back"
	DrillVMRollbackFailed DrillVMState = "rollback-failed"
)

// DrillRunVM is one VM of a drill run.
type DrillRunVM struct {
	RunID            string
	ContextID        string
	Seq              int
	VMName           string
	State            DrillVMState
	Outcome          string
	SkipReason       string
	Error            string
	FailoverIntentAt *time.Time
	FailoverJobID    string
	DestinationVMID  string
	DestinationState string
	RTOSeconds       *float64
	RollbackIntentAt *time.Time
	RollbackJobID    string
	UpdatedAt        time.Time
}

// NewDrillRun describes a run to create.
type NewDrillRun struct {
	Schedule *DrillSchedule
	Tick     time.Time
	// Trigger is "schedule" or "manual".
	Trigger string
	Actor   string
	// VMNames names the schedule's contexts, for the report.
	VMNames map[string]string
}

const runColumns = `r.id::text, COALESCE(r.schedule_id::text, ''), r.schedule_name, r.tick, r.status,
	COALESCE(r.job_id::text, ''), r.hold_seconds, r.max_parallel, r.trigger, r.actor, r.error, r.started_at, r.ended_at,
	r.hold_until, r.created_at, r.report`

func scanRun(row pgx.Row) (*DrillRun, error) {
	var r DrillRun
	var report []byte
	err := row.Scan(&r.ID, &r.ScheduleID, &r.ScheduleName, &r.Tick, &r.Status, &r.JobID, &r.HoldSeconds, &r.MaxParallel,
		&r.Trigger, &r.Actor, &r.Error, &r.StartedAt, &r.EndedAt, &r.HoldUntil, &r.CreatedAt, &report)
	if err != nil {
		return nil, err
	}
	if len(report) > 0 && string(report) != "{}" {
		r.Report = report
	}
	return &r, nil
}

// CreateDrillRun creates the run of a schedule's tick with one row per VM,
// in one transaction. A run of the same schedule and tick is created once
// only (unique in Postgres): a second call returns the existing run and
// created false.
func (s *Store) CreateDrillRun(ctx context.Context, nr NewDrillRun) (run *DrillRun, created bool, err error) {
	sc := nr.Schedule
	id := uuid.NewString()
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `INSERT INTO drill_runs (id, schedule_id, schedule_name, tick, status, hold_seconds,
				max_parallel, trigger, actor)
			VALUES ($1, $2, $3, $4, 'pending', $5, $6, $7, $8) ON CONFLICT (schedule_id, tick) DO NOTHING`,
			id, sc.ID, sc.Name, nr.Tick.UTC(), sc.HoldSeconds, sc.MaxParallel, nr.Trigger, nr.Actor)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return nil
		}
		created = true
		for i, c := range sc.ContextIDs {
			if _, err := tx.Exec(ctx, `INSERT INTO drill_run_vms (run_id, context_id, seq, vm_name) VALUES ($1, $2, $3, $4)`,
				id, c, i, nr.VMNames[c]); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, false, classify(err, "creating drill run of %s at %s", sc.Name, nr.Tick.UTC().Format(time.RFC3339))
	}
	if !created {
		var existing string
		if err := s.pool.QueryRow(ctx, `SELECT id::text FROM drill_runs WHERE schedule_id = $1 AND tick = $2`,
			sc.ID, nr.Tick.UTC()).Scan(&existing); err != nil {
			return nil, false, classify(err, "reading drill run of %s at %s", sc.Name, nr.Tick)
		}
		id = existing
	}
	run, err = s.GetDrillRun(ctx, id)
	return run, created, err
}

// GetDrillRun returns a run with its VMs, or NotFound.
func (s *Store) GetDrillRun(ctx context.Context, id string) (*DrillRun, error) {
	if _, err := uuid.Parse(id); err != nil {
		return nil, errs.New(errs.NotFound, "no drill run %q", id)
	}
	r, err := scanRun(s.pool.QueryRow(ctx, `SELECT `+runColumns+` FROM drill_runs r WHERE r.id = $1`, id))
	if err != nil {
		if errs.Is(classify(err, ""), errs.NotFound) {
			return nil, errs.New(errs.NotFound, "no drill run %q", id)
		}
		return nil, classify(err, "reading drill run %s", id)
	}
	if r.VMs, err = s.drillRunVMs(ctx, id); err != nil {
		return nil, err
	}
	return r, nil
}

const runVMColumns = `run_id::text, context_id, seq, vm_name, state, outcome, skip_reason, error, failover_intent_at,
	COALESCE(failover_job_id::text, ''), destination_vm_id, destination_state, rto_seconds, rollback_intent_at,
	COALESCE(rollback_job_id::text, ''), updated_at`

func (s *Store) drillRunVMs(ctx context.Context, runID string) ([]DrillRunVM, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+runVMColumns+` FROM drill_run_vms WHERE run_id = $1 ORDER BY seq`, runID)
	if err != nil {
		return nil, classify(err, "reading VMs of drill run %s", runID)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (DrillRunVM, error) {
		var v DrillRunVM
		err := r.Scan(&v.RunID, &v.ContextID, &v.Seq, &v.VMName, &v.State, &v.Outcome, &v.SkipReason, &v.Error,
			&v.FailoverIntentAt, &v.FailoverJobID, &v.DestinationVMID, &v.DestinationState, &v.RTOSeconds,
			&v.RollbackIntentAt, &v.RollbackJobID, &v.UpdatedAt)
		return v, err
	})
	if out == nil {
		out = []DrillRunVM{}
	}
	return out, classify(err, "reading VMs of drill run %s", runID)
}

// ListDrillRuns returns a schedule's runs (every run when scheduleID is
// empty), newest first, without their VMs.
func (s *Store) ListDrillRuns(ctx context.Context, scheduleID string, limit int) ([]*DrillRun, error) {
	if limit <= 0 {
		limit = 50
	}
	limit = min(limit, 500)
	rows, err := s.pool.Query(ctx, `SELECT `+runColumns+` FROM drill_runs r
		WHERE $1 = '' OR r.schedule_id::text = $1 ORDER BY r.tick DESC, r.id LIMIT $2`, scheduleID, limit)
	if err != nil {
		return nil, classify(err, "listing drill runs")
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*DrillRun, error) { return scanRun(r) })
	return out, classify(err, "listing drill runs")
}

// ActiveDrillRun returns the run of a schedule that has not ended, or
// NotFound.
func (s *Store) ActiveDrillRun(ctx context.Context, scheduleID string) (*DrillRun, error) {
	r, err := scanRun(s.pool.QueryRow(ctx, `SELECT `+runColumns+` FROM drill_runs r
		WHERE r.schedule_id = $1 AND r.status IN ('pending', 'running') ORDER BY r.tick LIMIT 1`, scheduleID))
	if err != nil {
		if errs.Is(classify(err, ""), errs.NotFound) {
			return nil, errs.New(errs.NotFound, "drill schedule %s has no active run", scheduleID)
		}
		return nil, classify(err, "reading active run of drill schedule %s", scheduleID)
	}
	return r, nil
}

// ActiveDrillRuns returns every run that has not ended, of every
// schedule, oldest tick first, without their VMs.
func (s *Store) ActiveDrillRuns(ctx context.Context) ([]*DrillRun, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+runColumns+` FROM drill_runs r
		WHERE r.status IN ('pending', 'running') ORDER BY r.tick, r.id`)
	if err != nil {
		return nil, classify(err, "listing active drill runs")
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*DrillRun, error) { return scanRun(r) })
	return out, classify(err, "listing active drill runs")
}

// SetDrillRunJob records the drill job of a run inside the job's creating
// transaction. A run that has a job already, or has ended (a run whose job
// never started is ended by the scheduler), is Conflict, and the job is
// not created: a run never gets two drill jobs, nor one after it ended.
func SetDrillRunJob(ctx context.Context, tx pgx.Tx, runID, jobID string) error {
	tag, err := tx.Exec(ctx, `UPDATE drill_runs SET job_id = $2 WHERE id = $1 AND job_id IS NULL AND status = 'pending'`,
		runID, jobID)
	if err != nil {
		return classify(err, "recording the job of drill run %s", runID)
	}
	if tag.RowsAffected() == 0 {
		return errs.New(errs.Conflict, "drill run %s already has a job or has ended", runID)
	}
	return nil
}

// StartDrillRun marks a pending run running.
func (s *Store) StartDrillRun(ctx context.Context, runID string) error {
	_, err := s.pool.Exec(ctx, `UPDATE drill_runs SET status = 'running', started_at = COALESCE(started_at, now())
		WHERE id = $1 AND status IN ('pending', 'running')`, runID)
	return classify(err, "starting drill run %s", runID)
}

// SetDrillHoldUntil records when a run's hold ends, once: it returns the
// time stored first, so a re-run after a crash waits only what is left.
func (s *Store) SetDrillHoldUntil(ctx context.Context, runID string, until time.Time) (time.Time, error) {
	var out time.Time
	err := s.pool.QueryRow(ctx, `UPDATE drill_runs SET hold_until = COALESCE(hold_until, $2) WHERE id = $1
		RETURNING hold_until`, runID, until.UTC()).Scan(&out)
	return out, classify(err, "recording the hold of drill run %s", runID)
}

// UpdateDrillRunVM writes the mutable fields of one VM of a run. Each VM is
// driven by one goroutine at a time, so whole-row writes do not race.
func (s *Store) UpdateDrillRunVM(ctx context.Context, v *DrillRunVM) error {
	_, err := s.pool.Exec(ctx, `UPDATE drill_run_vms SET state = $3, outcome = $4, skip_reason = $5, error = $6,
			failover_intent_at = $7, failover_job_id = NULLIF($8, '')::uuid, destination_vm_id = $9,
			destination_state = $10, rto_seconds = $11, rollback_intent_at = $12,
			rollback_job_id = NULLIF($13, '')::uuid, updated_at = now()
		WHERE run_id = $1 AND context_id = $2`,
		v.RunID, v.ContextID, v.State, v.Outcome, v.SkipReason, v.Error, v.FailoverIntentAt, v.FailoverJobID,
		v.DestinationVMID, v.DestinationState, v.RTOSeconds, v.RollbackIntentAt, v.RollbackJobID)
	if isUniqueViolation(err, "") {
		return errs.Wrap(errs.Conflict, err, "job of VM %s is already recorded by another drill run", v.ContextID)
	}
	return classify(err, "recording VM %s of drill run %s", v.ContextID, v.RunID)
}

// DrillRunOfJob returns the id of the drill run that recorded jobID as one
// of its VMs' failover or rollback jobs, or "".
func (s *Store) DrillRunOfJob(ctx context.Context, jobID string) (string, error) {
	var id string
	err := s.pool.QueryRow(ctx, `SELECT run_id::text FROM drill_run_vms
		WHERE failover_job_id = $1::uuid OR rollback_job_id = $1::uuid LIMIT 1`, jobID).Scan(&id)
	if err != nil && errs.Is(classify(err, ""), errs.NotFound) {
		return "", nil
	}
	return id, classify(err, "looking up the drill run of job %s", jobID)
}

// FinishDrillRun ends an active run whose drill job is jobID ("" for a run
// without one) with its status, report and error. Ending a run that
// already ended, or whose job is another (a job recorded meanwhile), is a
// no-op that returns false.
func (s *Store) FinishDrillRun(ctx context.Context, runID, jobID string, status DrillRunStatus, report json.RawMessage, cause string) (bool, error) {
	if len(report) == 0 {
		report = json.RawMessage("{}")
	}
	tag, err := s.pool.Exec(ctx, `UPDATE drill_runs SET status = $2, report = $3, error = $4, ended_at = now(),
			started_at = COALESCE(started_at, now())
		WHERE id = $1 AND status IN ('pending', 'running') AND job_id IS NOT DISTINCT FROM NULLIF($5, '')::uuid`,
		runID, status, []byte(report), cause, jobID)
	if err != nil {
		return false, classify(err, "ending drill run %s", runID)
	}
	return tag.RowsAffected() == 1, nil
}

// SetTestDuration records the time box of a test failover inside the
// failover's creating transaction.
func SetTestDuration(ctx context.Context, tx pgx.Tx, jobID string, d time.Duration) error {
	_, err := tx.Exec(ctx, `UPDATE failover_jobs SET test_duration_seconds = $2 WHERE job_id = $1`,
		jobID, int(d.Round(time.Second)/time.Second))
	return classify(err, "recording the test duration of %s", jobID)
}

// ArmAutoRollback sets the auto-rollback deadline of a completed,
// time-boxed failover (now plus its test duration), once. It returns the
// deadline, or nil when the failover is not time-boxed.
func (s *Store) ArmAutoRollback(ctx context.Context, jobID string) (*time.Time, error) {
	var at time.Time
	err := s.pool.QueryRow(ctx, `UPDATE failover_jobs
		SET auto_rollback_at = COALESCE(auto_rollback_at, now() + make_interval(secs => test_duration_seconds)),
			updated_at = now()
		WHERE job_id = $1 AND test_duration_seconds IS NOT NULL RETURNING auto_rollback_at`, jobID).Scan(&at)
	if err != nil {
		if errs.Is(classify(err, ""), errs.NotFound) {
			return nil, nil
		}
		return nil, classify(err, "arming the auto-rollback of %s", jobID)
	}
	return &at, nil
}

// AutoRollback is the time box of one failover.
type AutoRollback struct {
	FailoverJobID  string
	ExternalJobID  string
	ContextID      string
	FailoverType   string
	FailoverStatus FailoverStatus
	// TestDuration is 0 when the failover is not time-boxed.
	TestDuration time.Duration
	// At is the deadline, set when the failover completed.
	At            *time.Time
	ClaimedUntil  *time.Time
	RollbackJobID string
}

// GetAutoRollback returns the time box of a failover.
func (s *Store) GetAutoRollback(ctx context.Context, jobID string) (*AutoRollback, error) {
	var a AutoRollback
	var secs *int
	err := s.pool.QueryRow(ctx, `SELECT job_id::text, test_duration_seconds, auto_rollback_at,
			COALESCE(auto_rollback_job_id::text, ''), status, auto_rollback_claimed_until, COALESCE(vm_context_id, ''),
			job_type, external_job_id
		FROM failover_jobs WHERE job_id = $1`, jobID).Scan(&a.FailoverJobID, &secs, &a.At,
		&a.RollbackJobID, &a.FailoverStatus, &a.ClaimedUntil, &a.ContextID, &a.FailoverType, &a.ExternalJobID)
	if err != nil {
		if errs.Is(classify(err, ""), errs.NotFound) {
			return nil, errs.New(errs.NotFound, "no failover %q", jobID)
		}
		return nil, classify(err, "reading the time box of %s", jobID)
	}
	if secs != nil {
		a.TestDuration = time.Duration(*secs) * time.Second
	}
	return &a, nil
}

// DueAutoRollbacks returns completed failovers whose time box is up and
// whose rollback has not been started (nor claimed by a live process).
func (s *Store) DueAutoRollbacks(ctx context.Context, limit int) ([]string, error) {
	rows, err := s.pool.Query(ctx, `SELECT job_id::text FROM failover_jobs
		WHERE auto_rollback_at IS NOT NULL AND auto_rollback_job_id IS NULL AND auto_rollback_at <= now()
		  AND status = 'completed' AND (auto_rollback_claimed_until IS NULL OR auto_rollback_claimed_until < now())
		ORDER BY auto_rollback_at LIMIT $1`, limit)
	if err != nil {
		return nil, classify(err, "listing due auto-rollbacks")
	}
	out, err := pgx.CollectRows(rows, pgx.RowTo[string])
	return out, classify(err, "listing due auto-rollbacks")
}

// ClaimAutoRollback claims a due auto-rollback for lease, so that of
// several processes only one starts it. It reports whether the claim was
// won.
func (s *Store) ClaimAutoRollback(ctx context.Context, jobID string, lease time.Duration) (bool, error) {
	tag, err := s.pool.Exec(ctx, `UPDATE failover_jobs SET auto_rollback_claimed_until = now() + make_interval(secs => $2)
		WHERE job_id = $1 AND auto_rollback_job_id IS NULL AND auto_rollback_at <= now()
		  AND (auto_rollback_claimed_until IS NULL OR auto_rollback_claimed_until < now())`, jobID, lease.Seconds())
	if err != nil {
		return false, classify(err, "claiming the auto-rollback of %s", jobID)
	}
	return tag.RowsAffected() == 1, nil
}

// SetAutoRollbackJob records the rollback an auto-rollback started; an
// empty rollbackJobID disarms the time box (no rollback is needed).
func (s *Store) SetAutoRollbackJob(ctx context.Context, jobID, rollbackJobID string) error {
	_, err := s.pool.Exec(ctx, `UPDATE failover_jobs SET auto_rollback_job_id = NULLIF($2, '')::uuid,
			auto_rollback_at = CASE WHEN $2 = '' THEN NULL ELSE auto_rollback_at END, auto_rollback_claimed_until = NULL
		WHERE job_id = $1`, jobID, rollbackJobID)
	return classify(err, "recording the auto-rollback of %s", jobID)
}

// ReleaseAutoRollback drops a claim so another attempt may start it.
func (s *Store) ReleaseAutoRollback(ctx context.Context, jobID string) error {
	_, err := s.pool.Exec(ctx, `UPDATE failover_jobs SET auto_rollback_claimed_until = NULL WHERE job_id = $1`, jobID)
	return classify(err, "releasing the auto-rollback claim of %s", jobID)
}
