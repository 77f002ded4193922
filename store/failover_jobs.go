package store

import (
	"context"
	"encoding/json"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/ossea/unifiedfailover/api/apiv1"
	"github.com/ossea/unifiedfailover/errs"
)

// FailoverStatus is the lifecycle status of a failover: its job's outcome,
// then what the operator decided (rolled back or committed).
type FailoverStatus = apiv1.FailoverState

// Failover statuses.
const (
	FailoverPending    FailoverStatus = "pending"
	FailoverRunning    FailoverStatus = "running"
	FailoverCompleted  FailoverStatus = "completed"
	FailoverFailed     FailoverStatus = "failed"
	FailoverRolledBack FailoverStatus = "rolled_back"
	FailoverCommitted  FailoverStatus = "committed"
)

// FailoverJob is one failover: its resolved config and what it made.
type FailoverJob struct {
	JobID           string
	ExternalJobID   string
	ContextID       string
	VMID            string
	FailoverType    string
	Status          FailoverStatus
	Config          json.RawMessage
	DestinationVMID string
	SnapshotIDs     map[string]string
	// TemplateVolumeID is the ROOT volume CloudStack made from the template
	// for the destination VM, recorded before it is detached and deleted.
	TemplateVolumeID string
	SourceVMSpec     json.RawMessage
	// Leftovers are what the last (forced) rollback could not clean.
	Leftovers   []Leftover
	CreatedAt   time.Time
	UpdatedAt   time.Time
	CompletedAt *time.Time
}

// InsertFailoverJob inserts the failover row of a job inside the job's
// creating transaction.
func InsertFailoverJob(ctx context.Context, tx pgx.Tx, f *FailoverJob) error {
	_, err := tx.Exec(ctx, `INSERT INTO failover_jobs (job_id, external_job_id, vm_context_id, vm_id, job_type, status,
			config, source_vm_spec)
		VALUES ($1, $2, $3, $4, $5, 'pending', $6, $7)`,
		f.JobID, f.ExternalJobID, f.ContextID, f.VMID, f.FailoverType, []byte(f.Config), nullJSON(f.SourceVMSpec))
	return classify(err, "inserting failover job %s", f.JobID)
}

func nullJSON(b json.RawMessage) any {
	if len(b) == 0 {
		return nil
	}
	return []byte(b)
}

const failoverColumns = `job_id::text, external_job_id, COALESCE(vm_context_id, ''), vm_id, job_type, status, config,
	destination_vm_id, snapshot_ids, source_vm_spec, created_at, updated_at, completed_at, template_volume_id, leftovers`

func scanFailover(row pgx.Row) (*FailoverJob, error) {
	var f FailoverJob
	var cfg, snaps, spec, left []byte
	if err := row.Scan(&f.JobID, &f.ExternalJobID, &f.ContextID, &f.VMID, &f.FailoverType, &f.Status, &cfg,
		&f.DestinationVMID, &snaps, &spec, &f.CreatedAt, &f.UpdatedAt, &f.CompletedAt, &f.TemplateVolumeID, &left); err != nil {
		return nil, err
	}
	if err := json.Unmarshal(left, &f.Leftovers); err != nil {
		return nil, err
	}
	f.Config, f.SourceVMSpec = cfg, spec
	if err := json.Unmarshal(snaps, &f.SnapshotIDs); err != nil {
		return nil, err
	}
	return &f, nil
}

// GetFailoverJob returns the failover of a job (UUID or external id).
func (s *Store) GetFailoverJob(ctx context.Context, jobID string) (*FailoverJob, error) {
	// A UUID (every step and the status endpoint pass one) is read with
	// one primary-key query, without first reading the job and its steps.
	if _, err := uuid.Parse(jobID); err == nil {
		f, err := scanFailover(s.pool.QueryRow(ctx, `SELECT `+failoverColumns+` FROM failover_jobs WHERE job_id = $1`, jobID))
		if err == nil {
			return f, nil
		}
		if !errs.Is(classify(err, ""), errs.NotFound) {
			return nil, classify(err, "reading failover %s", jobID)
		}
		// Not found: the path below says whether the job is missing or
		// not a failover.
	}
	job, err := s.GetJob(ctx, jobID)
	if err != nil {
		return nil, err
	}
	f, err := scanFailover(s.pool.QueryRow(ctx, `SELECT `+failoverColumns+` FROM failover_jobs WHERE job_id = $1`, job.ID))
	if err != nil {
		if errs.Is(classify(err, ""), errs.NotFound) {
			return nil, errs.New(errs.NotFound, "job %q is not a failover", jobID)
		}
		return nil, classify(err, "reading failover %s", jobID)
	}
	return f, nil
}

// LatestFailover returns the newest failover of a context whose status is
// one of statuses (any when none given).
func (s *Store) LatestFailover(ctx context.Context, contextID string, statuses ...FailoverStatus) (*FailoverJob, error) {
	st := make([]string, len(statuses))
	for i, x := range statuses {
		st[i] = string(x)
	}
	f, err := scanFailover(s.pool.QueryRow(ctx, `SELECT `+failoverColumns+` FROM failover_jobs
		WHERE vm_context_id = $1 AND (cardinality($2::text[]) = 0 OR status = ANY($2))
		ORDER BY created_at DESC LIMIT 1`, contextID, st))
	if err != nil {
		if errs.Is(classify(err, ""), errs.NotFound) {
			return nil, errs.New(errs.NotFound, "VM context %q has no failover to act on", contextID)
		}
		return nil, classify(err, "reading latest failover of %s", contextID)
	}
	return f, nil
}

// setFailoverStatus sets failover $1's status to $2 (and completed_at when
// $2 ends it).
const setFailoverStatus = `UPDATE failover_jobs SET status = $2, updated_at = now(),
		completed_at = CASE WHEN $2 IN ('completed', 'rolled_back', 'committed') THEN now() ELSE completed_at END
	WHERE job_id = $1`

// SetFailoverStatus sets a failover's status.
func (s *Store) SetFailoverStatus(ctx context.Context, jobID string, status FailoverStatus) error {
	_, err := s.pool.Exec(ctx, setFailoverStatus, jobID, status)
	return classify(err, "setting failover %s to %s", jobID, status)
}

// MarkFailoverRunning records that a failover's first step runs: its
// status becomes running (from pending), and its source VM spec, as read
// at the start, is kept (a retry keeps the first one).
func (s *Store) MarkFailoverRunning(ctx context.Context, jobID string, spec json.RawMessage) error {
	_, err := s.pool.Exec(ctx, `UPDATE failover_jobs SET status = 'running', updated_at = now(),
		source_vm_spec = COALESCE(source_vm_spec, $2) WHERE job_id = $1 AND status IN ('pending', 'running')`, jobID, spec)
	return classify(err, "marking failover %s running", jobID)
}

// SetFailoverAndContextStatus sets a failover's status and its VM
// context's status in one transaction and one round trip: the last step of
// a failover, rollback or commit.
func (s *Store) SetFailoverAndContextStatus(ctx context.Context, jobID string, status FailoverStatus, contextID string, cstatus ContextStatus) error {
	b := &pgx.Batch{}
	b.Queue(setFailoverStatus, jobID, status)
	b.Queue(setContextStatus, contextID, cstatus)
	// A batch runs in one implicit transaction: both updates or neither.
	br := s.pool.SendBatch(ctx, b)
	_, err := br.Exec()
	if err == nil {
		var tag pgconn.CommandTag
		if tag, err = br.Exec(); err == nil && tag.RowsAffected() == 0 {
			err = errs.New(errs.NotFound, "no VM context %q", contextID)
		}
	}
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	return classify(err, "setting failover %s to %s and context %s to %s", jobID, status, contextID, cstatus)
}

// failoverOfJob selects the failover_jobs.job_id of the failover a job
// (by UUID $1 or external id $2) is or belongs to: its own row for a
// failover job, its parent's for a rollback or a commit.
// Each lookup is by unique index, for the reason jobByIDOrExternal gives;
// an EXISTS here was planned as a hashed scan of all of failover_jobs.
const failoverOfJob = `(SELECT COALESCE((SELECT f.job_id FROM failover_jobs f WHERE f.job_id = j.id), j.parent_job_id)
	FROM job_tracking j WHERE ` + byIDOrExternal + `)`

// FailoverOfJob returns the reads of the failover a job (by UUID) is or
// belongs to, with its VM context, disks and NICs, to send in one round
// trip with a step's begin (BeginStep, queue.Chain.Load),
// and a func giving their result once read: NotFound when the job has no
// failover or the failover no context.
func FailoverOfJob(jobID string) ([]Read, func() (*FailoverJob, *VMContext, error)) {
	var fo *FailoverJob
	var vm *VMContext
	var foErr, vmErr error
	reads := []Read{
		{SQL: `SELECT ` + failoverColumns + ` FROM failover_jobs WHERE job_id = ` + failoverOfJob, Args: []any{jobID, jobID},
			Scan: func(row pgx.Row) error { fo, foErr = scanFailover(row); return readErr(foErr) }},
		{SQL: `SELECT ` + contextColumns + `, ` + contextChildrenJSON + ` FROM vm_replication_contexts c
			WHERE c.context_id = (SELECT vm_context_id FROM failover_jobs WHERE job_id = ` + failoverOfJob + `)`, Args: []any{jobID, jobID},
			Scan: func(row pgx.Row) error { vm, vmErr = scanContextWithChildren(row); return readErr(vmErr) }},
	}
	return reads, func() (*FailoverJob, *VMContext, error) {
		switch {
		case foErr != nil:
			return nil, nil, errs.New(errs.NotFound, "job %s has no failover", jobID)
		case vmErr != nil:
			return nil, nil, errs.New(errs.NotFound, "VM context %q of failover %s not found", fo.ContextID, fo.JobID)
		}
		return fo, vm, nil
	}
}

// SetDestinationVM records the CloudStack VM a failover made ("" clears).
// events, when given, are recorded in the same transaction.
func (s *Store) SetDestinationVM(ctx context.Context, jobID, vmID string, events ...Event) error {
	err := s.execWithEvents(ctx, events, `UPDATE failover_jobs SET destination_vm_id = $2, updated_at = now() WHERE job_id = $1`, jobID, vmID)
	return classify(err, "recording destination VM of %s", jobID)
}

// SetTemplateVolume records the template ROOT volume of a failover's
// destination VM ("" clears). events, when given, are recorded in the same
// transaction.
func (s *Store) SetTemplateVolume(ctx context.Context, jobID, volumeID string, events ...Event) error {
	err := s.execWithEvents(ctx, events, `UPDATE failover_jobs SET template_volume_id = $2, updated_at = now() WHERE job_id = $1`, jobID, volumeID)
	return classify(err, "recording template volume of %s", jobID)
}

// SetSnapshotID records the rollback snapshot of one volume ("" removes).
// events, when given, are recorded in the same transaction.
func (s *Store) SetSnapshotID(ctx context.Context, jobID, volumeID, snapshotID string, events ...Event) error {
	var err error
	if snapshotID == "" {
		err = s.execWithEvents(ctx, events, `UPDATE failover_jobs SET snapshot_ids = snapshot_ids - $2, updated_at = now() WHERE job_id = $1`, jobID, volumeID)
	} else {
		err = s.execWithEvents(ctx, events, `UPDATE failover_jobs SET snapshot_ids = snapshot_ids || jsonb_build_object($2::text, $3::text),
			updated_at = now() WHERE job_id = $1`, jobID, volumeID, snapshotID)
	}
	return classify(err, "recording snapshot of volume %s for %s", volumeID, jobID)
}
