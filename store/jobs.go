package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/ossea/unifiedfailover/api/apiv1"
	"github.com/ossea/unifiedfailover/errs"
)

// JobStatus is the execution status of a job: the API's type (apiv1),
// with its Active method.
type JobStatus = apiv1.JobStatus

// Job statuses. Pending and Running are active: at most one active job per
// VM context exists, enforced by a unique index.
const (
	JobPending   JobStatus = "pending"
	JobRunning   JobStatus = "running"
	JobCompleted JobStatus = "completed"
	JobFailed    JobStatus = "failed"
	JobCancelled JobStatus = "cancelled"
)

// StepStatus is the status of one planned step: the API's type (apiv1),
// with its Done method.
type StepStatus = apiv1.StepStatus

// Step statuses.
const (
	StepPending   StepStatus = "pending"
	StepRunning   StepStatus = "running"
	StepRetrying  StepStatus = "retrying"
	StepCompleted StepStatus = "completed"
	StepFailed    StepStatus = "failed"
	StepSkipped   StepStatus = "skipped"
)

// Job is one row of the job log with its steps.
type Job struct {
	ID           string
	ExternalID   string
	Type         string
	FailoverType string
	ContextID    string
	ParentID     string
	Queue        string
	Status       JobStatus
	RunNo        int
	CurrentStep  string
	Error        string
	Actor        string
	CreatedAt    time.Time
	StartedAt    *time.Time
	EndedAt      *time.Time
	UpdatedAt    time.Time
	// Params are the job's own parameters (for example a rollback's
	// options).
	Params json.RawMessage
	Steps  []Step
}

// Step is one planned step of a job. Its json tags (and Progress's) are
// the format of the steps the job queries aggregate (stepsJSON) and of the
// progress jsonb column, not the API's; the API's is apiv1.Step.
type Step struct {
	Seq        int        `json:"seq"`
	Name       string     `json:"name"`
	Status     StepStatus `json:"status"`
	Attempts   int        `json:"attempts"`
	StartedAt  *time.Time `json:"started_at,omitempty"`
	EndedAt    *time.Time `json:"ended_at,omitempty"`
	Error      string     `json:"error,omitempty"`
	ErrorClass string     `json:"error_class,omitempty"`
	SkipReason string     `json:"skip_reason,omitempty"`
	Progress   *Progress  `json:"progress,omitempty"`
	// ExternalMS is the time the step's attempts spent in outside calls
	// (vCenter, CloudStack, NBD, commands), in milliseconds.
	ExternalMS float64 `json:"external_ms"`
}

// Progress is the byte progress of a long step such as final sync (its
// json tags are the progress jsonb column's format; the API's is apiv1).
type Progress struct {
	BytesDone  int64     `json:"bytes_done"`
	BytesTotal int64     `json:"bytes_total"`
	RateBps    float64   `json:"bytes_per_second"`
	UpdatedAt  time.Time `json:"updated_at"`
}

// Percent is the job's progress: the share of planned steps that are done
// (completed or skipped), 0 to 100.
func (j *Job) Percent() float64 {
	if len(j.Steps) == 0 {
		if j.Status == JobCompleted {
			return 100
		}
		return 0
	}
	done := 0
	for _, s := range j.Steps {
		if s.Status.Done() {
			done++
		}
	}
	return float64(done) * 100 / float64(len(j.Steps))
}

// Step returns the step named name, or nil.
func (j *Job) Step(name string) *Step {
	for i := range j.Steps {
		if j.Steps[i].Name == name {
			return &j.Steps[i]
		}
	}
	return nil
}

// PlannedStep is a step to plan; a non-empty SkipReason plans it skipped.
type PlannedStep struct {
	Name       string
	SkipReason string
}

// NewJob describes a job to create.
type NewJob struct {
	// ID is the job's UUID. Defaults to a new random UUID.
	ID string
	// ExternalID is the human id. Defaults to "<type>-<id>".
	ExternalID   string
	Type         string
	FailoverType string
	ContextID    string
	ParentID     string
	Queue        string
	Actor        string
	// Params are stored with the job; nil stores {}.
	Params json.RawMessage
	Steps  []PlannedStep
	// ContextStatus, when set, is the VM context's status the job was
	// planned under. The job is created only if the context still has it,
	// read with the context's row locked in the job's transaction: a
	// request planned just before another job of the VM ended (and moved
	// its status on) is refused with Conflict, instead of being created
	// once the unique index no longer stops it and running a second time.
	ContextStatus ContextStatus
}

// CreateJob inserts a pending job and its planned steps in one transaction;
// with, when not nil, runs inside the same transaction (to insert rows that
// belong to the job). When the VM context already has an active job it
// fails with Conflict naming that job (details active_job_id and
// active_external_job_id).
func (s *Store) CreateJob(ctx context.Context, nj NewJob, with func(pgx.Tx, *Job) error) (*Job, error) {
	if nj.ID == "" {
		nj.ID = uuid.NewString()
	}
	if nj.ExternalID == "" {
		nj.ExternalID = nj.Type + "-" + nj.ID
	}
	if len(nj.Steps) == 0 {
		return nil, errs.New(errs.InvalidArgument, "a job needs at least one step")
	}
	for attempt := 0; ; attempt++ {
		job, err := s.createJob(ctx, nj, with)
		if !isUniqueViolation(err, "job_tracking_one_active_per_context") {
			return job, err
		}
		active, aerr := s.ActiveJob(ctx, nj.ContextID)
		if aerr == nil {
			return nil, errs.New(errs.Conflict, "VM context %s already has an active %s job %s (%s)",
				nj.ContextID, active.Type, active.ExternalID, active.ID).
				WithDetails("active_job_id", active.ID, "active_external_job_id", active.ExternalID)
		}
		if !errs.Is(aerr, errs.NotFound) || attempt == 2 {
			return nil, errs.New(errs.Conflict, "VM context %s already has an active job", nj.ContextID)
		}
		// The active job ended between our insert and our look-up: try again.
	}
}

func (s *Store) createJob(ctx context.Context, nj NewJob, with func(pgx.Tx, *Job) error) (*Job, error) {
	var job *Job
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if err := checkContextStatus(ctx, tx, nj); err != nil {
			return err
		}
		var err error
		job, err = scanJob(tx.QueryRow(ctx, `
			INSERT INTO job_tracking (id, external_job_id, job_type, failover_type, context_id, parent_job_id, queue, status, actor, params)
			VALUES ($1, $2, $3, NULLIF($4, ''), NULLIF($5, ''), NULLIF($6, '')::uuid, $7, 'pending', $8, COALESCE($9::jsonb, '{}'))
			RETURNING `+jobColumns+`, '[]'::json`,
			nj.ID, nj.ExternalID, nj.Type, nj.FailoverType, nj.ContextID, nj.ParentID, nj.Queue, nj.Actor, nullJSON(nj.Params)))
		if err != nil {
			return err
		}
		// All the planned steps in one statement.
		seqs := make([]int32, len(nj.Steps))
		names := make([]string, len(nj.Steps))
		statuses := make([]string, len(nj.Steps))
		reasons := make([]string, len(nj.Steps))
		for i, st := range nj.Steps {
			status := StepPending
			if st.SkipReason != "" {
				status = StepSkipped
			}
			seqs[i], names[i], statuses[i], reasons[i] = int32(i), st.Name, string(status), st.SkipReason
			job.Steps = append(job.Steps, Step{Seq: i, Name: st.Name, Status: status, SkipReason: st.SkipReason})
		}
		if _, err := tx.Exec(ctx, `INSERT INTO job_steps (job_id, seq, name, status, skip_reason)
			SELECT $1, * FROM unnest($2::int[], $3::text[], $4::text[], $5::text[])`,
			nj.ID, seqs, names, statuses, reasons); err != nil {
			return err
		}
		if with != nil {
			return with(tx, job)
		}
		return nil
	})
	if err != nil {
		if isUniqueViolation(err, "job_tracking_one_active_per_context") {
			return nil, err
		}
		if isUniqueViolation(err, "job_tracking_external_job_id_key") {
			return nil, errs.Wrap(errs.AlreadyExists, err, "a job with external id %q exists", nj.ExternalID)
		}
		if isForeignKeyViolation(err) {
			return nil, errs.Wrap(errs.NotFound, err, "creating %s job: VM context %q not found", nj.Type, nj.ContextID)
		}
		return nil, classify(err, "creating %s job", nj.Type)
	}
	return job, nil
}

// checkContextStatus locks the job's VM context row and refuses the job
// when the context no longer has the status it was planned under
// (NewJob.ContextStatus). The row lock orders it with the status changes
// of the VM's other jobs.
func checkContextStatus(ctx context.Context, tx pgx.Tx, nj NewJob) error {
	if nj.ContextStatus == "" {
		return nil
	}
	var cur ContextStatus
	err := tx.QueryRow(ctx, `SELECT current_status FROM vm_replication_contexts WHERE context_id = $1 FOR UPDATE`,
		nj.ContextID).Scan(&cur)
	if errors.Is(err, pgx.ErrNoRows) {
		return errs.New(errs.NotFound, "creating %s job: VM context %q not found", nj.Type, nj.ContextID)
	}
	if err != nil {
		return classify(err, "reading the status of VM context %s", nj.ContextID)
	}
	if cur != nj.ContextStatus {
		return errs.New(errs.Conflict, "VM context %s is now %s, not %s as when the %s was planned: plan it again",
			nj.ContextID, cur, nj.ContextStatus, nj.Type).WithDetails("current_status", string(cur))
	}
	return nil
}

const jobColumns = `id::text, external_job_id, job_type, COALESCE(failover_type, ''), COALESCE(context_id, ''),
	COALESCE(parent_job_id::text, ''), queue, status, run_no, current_step, error, actor, created_at, started_at,
	ended_at, updated_at, params`

// stepsJSON selects a job's steps as one JSON array, so a job and its steps
// come back in one query.
const stepsJSON = `COALESCE((SELECT json_agg(json_build_object(
		'seq', st.seq, 'name', st.name, 'status', st.status, 'attempts', st.attempts,
		'started_at', st.started_at, 'ended_at', st.ended_at, 'error', st.error,
		'error_class', st.error_class, 'skip_reason', st.skip_reason, 'progress', st.progress,
		'external_ms', st.external_ms) ORDER BY st.seq)
	FROM job_steps st WHERE st.job_id = j.id), '[]'::json)`

func scanJob(row pgx.Row) (*Job, error) {
	var j Job
	var steps []byte
	if err := row.Scan(append(j.fields(), &steps)...); err != nil {
		return nil, err
	}
	if err := json.Unmarshal(steps, &j.Steps); err != nil {
		return nil, fmt.Errorf("decoding steps of job %s: %w", j.ID, err)
	}
	return &j, nil
}

// fields are the scan targets of jobColumns.
func (j *Job) fields() []any {
	return []any{&j.ID, &j.ExternalID, &j.Type, &j.FailoverType, &j.ContextID, &j.ParentID, &j.Queue,
		&j.Status, &j.RunNo, &j.CurrentStep, &j.Error, &j.Actor, &j.CreatedAt, &j.StartedAt, &j.EndedAt,
		&j.UpdatedAt, &j.Params}
}

const stepColumns = `seq, name, status, attempts, started_at, ended_at, error, error_class, skip_reason, progress, external_ms`

// queueJob queues the reads of one job and of its steps (as rows, no JSON
// to build and parse), the job chosen by where on job_tracking j; readJob
// reads them back. In a batch they run after the statements queued
// before, in the same transaction, and see their changes.
func queueJob(b *pgx.Batch, where string, args ...any) {
	b.Queue(`SELECT `+jobColumns+` FROM job_tracking j WHERE `+where+` LIMIT 1`, args...)
	b.Queue(`SELECT `+stepColumns+` FROM job_steps WHERE job_id = (SELECT j.id FROM job_tracking j WHERE `+where+` LIMIT 1)
		ORDER BY seq`, args...)
}

// readJob reads what queueJob queued: pgx.ErrNoRows when there is no job.
func readJob(br pgx.BatchResults) (*Job, error) {
	var j Job
	jobErr := br.QueryRow().Scan(j.fields()...)
	rows, err := br.Query()
	if err != nil {
		return nil, err
	}
	steps, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Step, error) {
		var st Step
		err := r.Scan(&st.Seq, &st.Name, &st.Status, &st.Attempts, &st.StartedAt, &st.EndedAt, &st.Error,
			&st.ErrorClass, &st.SkipReason, &st.Progress, &st.ExternalMS)
		return st, err
	})
	if jobErr != nil {
		return nil, jobErr
	}
	if err != nil {
		return nil, fmt.Errorf("reading steps of job %s: %w", j.ID, err)
	}
	j.Steps = steps
	return &j, nil
}

// jobByIDOrExternal is the UUID of the job whose UUID is $1 (nil when the
// id is not one) or, when there is none, whose external id is $2.
//
// It is two lookups by unique index, not one OR: for a prepared statement
// Postgres caches a plan, and the one it picks for an OR with a LIMIT
// while the table is small is a sequential scan, which it keeps as the
// table grows until something ANALYZEs it (never, where autovacuum is off).
// Measured: every step of every job read the whole of job_tracking.
const jobByIDOrExternal = `(SELECT id FROM job_tracking WHERE id = $1::uuid
	UNION ALL SELECT id FROM job_tracking WHERE external_job_id = $2 LIMIT 1)`

// byIDOrExternal selects a job j by UUID ($1) or external id ($2), as
// jobByIDOrExternal does.
const byIDOrExternal = `j.id = ` + jobByIDOrExternal

func idArgs(id string) []any {
	if _, err := uuid.Parse(id); err == nil {
		return []any{id, id}
	}
	return []any{nil, id}
}

// GetJob returns a job and its steps by UUID or by external id, in one
// round trip.
func (s *Store) GetJob(ctx context.Context, id string) (*Job, error) {
	b := &pgx.Batch{}
	queueJob(b, byIDOrExternal, idArgs(id)...)
	br := s.pool.SendBatch(ctx, b)
	defer br.Close()
	job, err := readJob(br)
	if err != nil {
		if errs.Is(classify(err, ""), errs.NotFound) {
			return nil, errs.New(errs.NotFound, "no job %q", id)
		}
		return nil, classify(err, "reading job %q", id)
	}
	return job, nil
}

// GetJobWithFailover returns a job (by UUID or external id) and the
// failover it is or belongs to (nil when it has none), in one round trip:
// what a job's status shows.
func (s *Store) GetJobWithFailover(ctx context.Context, id string) (*Job, *FailoverJob, error) {
	b := &pgx.Batch{}
	queueJob(b, byIDOrExternal, idArgs(id)...)
	b.Queue(`SELECT `+failoverColumns+` FROM failover_jobs WHERE job_id = `+failoverOfJob, idArgs(id)...)
	br := s.pool.SendBatch(ctx, b)
	defer br.Close()
	job, err := readJob(br)
	if err != nil {
		if errs.Is(classify(err, ""), errs.NotFound) {
			return nil, nil, errs.New(errs.NotFound, "no job %q", id)
		}
		return nil, nil, classify(err, "reading job %q", id)
	}
	fo, err := scanFailover(br.QueryRow())
	if err != nil {
		if errs.Is(classify(err, ""), errs.NotFound) {
			return job, nil, nil
		}
		return nil, nil, classify(err, "reading the failover of job %q", id)
	}
	return job, fo, nil
}

// ActiveJob returns the active job of a VM context, or NotFound.
func (s *Store) ActiveJob(ctx context.Context, contextID string) (*Job, error) {
	job, err := scanJob(s.pool.QueryRow(ctx, `SELECT `+jobColumns+`, `+stepsJSON+` FROM job_tracking j
		WHERE j.context_id = $1 AND j.status IN ('pending', 'running')`, contextID))
	if err != nil {
		if errs.Is(classify(err, ""), errs.NotFound) {
			return nil, errs.New(errs.NotFound, "VM context %q has no active job", contextID)
		}
		return nil, classify(err, "reading active job of %q", contextID)
	}
	return job, nil
}

// JobFilter selects jobs to list. Zero fields do not filter.
type JobFilter struct {
	ContextID    string
	Status       JobStatus
	Type         string
	FailoverType string
	// Limit defaults to 50; at most 500.
	Limit  int
	Offset int
}

// ListJobs returns jobs, newest first.
func (s *Store) ListJobs(ctx context.Context, f JobFilter) ([]*Job, error) {
	if f.Limit <= 0 {
		f.Limit = 50
	}
	f.Limit = min(f.Limit, 500)
	rows, err := s.pool.Query(ctx, `SELECT `+jobColumns+`, `+stepsJSON+` FROM job_tracking j
		WHERE ($1 = '' OR j.context_id = $1) AND ($2 = '' OR j.status = $2)
		  AND ($3 = '' OR j.job_type = $3) AND ($4 = '' OR j.failover_type = $4)
		ORDER BY j.created_at DESC, j.id LIMIT $5 OFFSET $6`,
		f.ContextID, string(f.Status), f.Type, f.FailoverType, f.Limit, f.Offset)
	if err != nil {
		return nil, classify(err, "listing jobs")
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*Job, error) { return scanJob(r) })
	return out, classify(err, "listing jobs")
}

// beginStepSQL begins step $2 named $4 of job $1 on run $3 when the job is
// active on that run and the step not done, and tells whether it did.
const beginStepSQL = `WITH s AS (
			UPDATE job_steps st SET status = 'running', attempts = st.attempts + 1,
				started_at = COALESCE(st.started_at, now()), ended_at = NULL, updated_at = now()
			FROM job_tracking jt
			WHERE st.job_id = $1 AND st.seq = $2 AND st.name = $4 AND st.status IN ('pending', 'running', 'retrying')
			  AND jt.id = st.job_id AND jt.run_no = $3 AND jt.status IN ('pending', 'running')
			RETURNING st.name
		), u AS (
			UPDATE job_tracking jt SET status = 'running', started_at = COALESCE(jt.started_at, now()),
				current_step = s.name, updated_at = now()
			FROM s WHERE jt.id = $1 AND jt.status IN ('pending', 'running')
			RETURNING jt.id
		)
		SELECT EXISTS (SELECT 1 FROM s) AND EXISTS (SELECT 1 FROM u)`

// BeginStep marks step seq of a job running and counts the attempt, and
// marks the job running, in one statement, but only while the job is
// active on run run and the step is named name and not done. It returns
// the job as it now is and whether the step was begun; when it was not,
// the job says why (another run, no longer active, the step done). A job
// that does not exist is NotFound.
//
// reads, when given, go in the same round trip (and the same transaction,
// after the begin): what the step will need. They are read only when the
// step begins.
func (s *Store) BeginStep(ctx context.Context, jobID string, seq, run int, name string, reads ...Read) (*Job, bool, error) {
	if _, err := uuid.Parse(jobID); err != nil {
		return nil, false, errs.New(errs.NotFound, "no job %q", jobID)
	}
	var begun bool
	b := &pgx.Batch{}
	b.Queue(beginStepSQL, jobID, seq, run, name)
	// The job as the begin left it (later statements of a batch see the
	// changes of earlier ones), then what the step needs.
	queueJob(b, `j.id = $1`, jobID)
	for _, r := range reads {
		b.Queue(r.SQL, r.Args...)
	}
	br := s.pool.SendBatch(ctx, b)
	defer br.Close()
	if err := br.QueryRow().Scan(&begun); err != nil {
		return nil, false, classify(err, "beginning step %d of job %s", seq, jobID)
	}
	job, err := readJob(br)
	if err != nil {
		if errs.Is(classify(err, ""), errs.NotFound) {
			return nil, false, errs.New(errs.NotFound, "no job %q", jobID)
		}
		return nil, false, classify(err, "reading job %s", jobID)
	}
	if !begun {
		return job, false, nil
	}
	for _, r := range reads {
		if err := r.Scan(br.QueryRow()); err != nil {
			return nil, false, classify(err, "reading what step %d of job %s needs", seq, jobID)
		}
	}
	// The begin commits when the batch ends: only then has it begun.
	if err := br.Close(); err != nil {
		return nil, false, classify(err, "beginning step %d of job %s", seq, jobID)
	}
	return job, true, nil
}

// CompleteStep marks a running step completed. external is the attempt's
// time in outside calls, added to the step's external_ms. events, when
// given, are recorded in the same transaction: what the step closed with.
func (s *Store) CompleteStep(ctx context.Context, jobID string, seq int, external time.Duration, events ...Event) error {
	err := s.execWithEvents(ctx, events, `UPDATE job_steps SET status = 'completed', ended_at = now(), error = '',
			error_class = '', updated_at = now(), external_ms = external_ms + $3
		WHERE job_id = $1 AND seq = $2 AND status <> 'skipped'`, jobID, seq, externalMS(external))
	return classify(err, "completing step %d of job %s", seq, jobID)
}

// RetryStep records a failed attempt that will be retried. external is
// the attempt's time in outside calls.
func (s *Store) RetryStep(ctx context.Context, jobID string, seq int, cause, class string, external time.Duration) error {
	_, err := s.pool.Exec(ctx, `UPDATE job_steps SET status = 'retrying', error = $3, error_class = $4, updated_at = now(),
			external_ms = external_ms + $5
		WHERE job_id = $1 AND seq = $2`, jobID, seq, cause, class, externalMS(external))
	return classify(err, "recording retry of step %d of job %s", seq, jobID)
}

// FailStep marks a step failed and its job failed with the step's error,
// in one transaction. external is the attempt's time in outside calls
// (0 when no attempt ran).
func (s *Store) FailStep(ctx context.Context, jobID string, seq int, cause, class string, external time.Duration) error {
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var name string
		if err := tx.QueryRow(ctx, `UPDATE job_steps SET status = 'failed', ended_at = now(), error = $3,
				error_class = $4, updated_at = now(), external_ms = external_ms + $5
			WHERE job_id = $1 AND seq = $2 RETURNING name`, jobID, seq, cause, class, externalMS(external)).Scan(&name); err != nil {
			return err
		}
		// A job cancelled meanwhile stays cancelled.
		_, err := tx.Exec(ctx, `UPDATE job_tracking SET status = 'failed', current_step = $2, error = $3,
				ended_at = now(), updated_at = now() WHERE id = $1 AND status IN ('pending', 'running')`, jobID, name, name+": "+cause)
		return err
	})
	return classify(err, "failing step %d of job %s", seq, jobID)
}

// externalMS is a step attempt's time in outside calls, in milliseconds.
func externalMS(d time.Duration) float64 {
	return float64(d) / float64(time.Millisecond)
}

// SkipStep marks a pending step skipped with a reason.
func (s *Store) SkipStep(ctx context.Context, jobID string, seq int, reason string) error {
	_, err := s.pool.Exec(ctx, `UPDATE job_steps SET status = 'skipped', skip_reason = $3, ended_at = now(), updated_at = now()
		WHERE job_id = $1 AND seq = $2 AND status = 'pending'`, jobID, seq, reason)
	return classify(err, "skipping step %d of job %s", seq, jobID)
}

// SetStepProgress stores a step's byte progress.
func (s *Store) SetStepProgress(ctx context.Context, jobID string, seq int, p Progress) error {
	p.UpdatedAt = time.Now().UTC()
	b, _ := json.Marshal(p)
	_, err := s.pool.Exec(ctx, `UPDATE job_steps SET progress = $3, updated_at = now() WHERE job_id = $1 AND seq = $2`, jobID, seq, b)
	return classify(err, "storing progress of step %d of job %s", seq, jobID)
}

// EndJob ends an active job with status (completed, failed or cancelled)
// and error text. Ending a job that already ended is a no-op that returns
// false.
func (s *Store) EndJob(ctx context.Context, jobID string, status JobStatus, cause string) (bool, error) {
	tag, err := s.pool.Exec(ctx, `UPDATE job_tracking SET status = $2, error = $3, ended_at = now(), updated_at = now(),
			current_step = CASE WHEN $2 = 'completed' THEN '' ELSE current_step END
		WHERE id = $1 AND status IN ('pending', 'running')`, jobID, status, cause)
	if err != nil {
		return false, classify(err, "ending job %s as %s", jobID, status)
	}
	return tag.RowsAffected() == 1, nil
}

// ResumeJob makes a failed job active again from its failed step: the job
// becomes pending with the next run number, the failed step pending. It
// returns the job. A VM with another active job gives Conflict; a job that
// is not failed gives FailedPrecondition.
func (s *Store) ResumeJob(ctx context.Context, jobID string) (*Job, error) {
	job, err := s.GetJob(ctx, jobID)
	if err != nil {
		return nil, err
	}
	if job.Status != JobFailed {
		return nil, errs.New(errs.FailedPrecondition, "job %s is %s; only a failed job can be retried", job.ExternalID, job.Status)
	}
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE job_tracking SET status = 'pending', run_no = run_no + 1, error = '',
				ended_at = NULL, updated_at = now() WHERE id = $1 AND status = 'failed'`, job.ID)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return errs.New(errs.FailedPrecondition, "job %s is no longer failed", job.ExternalID)
		}
		_, err = tx.Exec(ctx, `UPDATE job_steps SET status = 'pending', ended_at = NULL, updated_at = now()
			WHERE job_id = $1 AND status IN ('failed', 'running', 'retrying')`, job.ID)
		return err
	})
	if isUniqueViolation(err, "job_tracking_one_active_per_context") {
		active, aerr := s.ActiveJob(ctx, job.ContextID)
		if aerr != nil {
			return nil, errs.New(errs.Conflict, "VM context %s has another active job", job.ContextID)
		}
		return nil, errs.New(errs.Conflict, "VM context %s already has an active %s job %s", job.ContextID, active.Type, active.ExternalID).
			WithDetails("active_job_id", active.ID, "active_external_job_id", active.ExternalID)
	}
	if err != nil {
		if errs.CodeOf(err) == errs.FailedPrecondition {
			return nil, err
		}
		return nil, classify(err, "resuming job %s", job.ID)
	}
	return s.GetJob(ctx, job.ID)
}

// staleJobsSQL lists the active jobs ($1 seconds without an update, at
// most $2), through the partial index of active jobs: there are few of
// them, however long the job log.
const staleJobsSQL = `SELECT ` + jobColumns + `, ` + stepsJSON + ` FROM job_tracking j
	WHERE j.status IN ('pending', 'running') AND j.updated_at < now() - make_interval(secs => $1)
	ORDER BY j.updated_at LIMIT $2`

// StaleJobs returns active jobs not updated for longer than age, oldest
// first: candidates for re-enqueueing when their task was lost.
func (s *Store) StaleJobs(ctx context.Context, age time.Duration, limit int) ([]*Job, error) {
	rows, err := s.pool.Query(ctx, staleJobsSQL, age.Seconds(), limit)
	if err != nil {
		return nil, classify(err, "listing stale jobs")
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*Job, error) { return scanJob(r) })
	return out, classify(err, "listing stale jobs")
}

// TouchJob records that a job is alive (a long step's heartbeat).
func (s *Store) TouchJob(ctx context.Context, jobID string) error {
	_, err := s.pool.Exec(ctx, `UPDATE job_tracking SET updated_at = now() WHERE id = $1`, jobID)
	return classify(err, "touching job %s", jobID)
}
