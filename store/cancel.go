package store

import (
	"context"

	"github.com/jackc/pgx/v5"

	"github.com/ossea/unifiedfailover/errs"
)

// CancelledClass is the error class of a step a cancel stopped.
const CancelledClass = "cancelled"

// StepStoppedByCancel is the error of a cancelled job's step once the
// worker running it has stopped.
const StepStoppedByCancel = "cancelled: the running attempt stopped"

// CancelFailoverJob cancels a pending or running failover job in one
// transaction: the job becomes cancelled (so no worker begins another of
// its steps), its running step failed with the cancel, its failover record
// failed, its VM context cleanup_required (the operator then rolls back),
// and the decision is recorded. A job that is not active gives
// FailedPrecondition.
func (s *Store) CancelFailoverJob(ctx context.Context, jobID, cause string, d Decision) (*Job, error) {
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var contextID *string
		var status JobStatus
		if err := tx.QueryRow(ctx, `SELECT context_id, status FROM job_tracking WHERE id = $1 FOR UPDATE`, jobID).
			Scan(&contextID, &status); err != nil {
			return err
		}
		if !status.Active() {
			return errs.New(errs.FailedPrecondition, "job %s is %s; only a pending or running job can be cancelled", jobID, status)
		}
		if _, err := tx.Exec(ctx, `UPDATE job_tracking SET status = 'cancelled', error = $2, ended_at = now(), updated_at = now()
			WHERE id = $1`, jobID, cause); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE job_steps SET status = 'failed', error = $2, error_class = $3, ended_at = now(),
			updated_at = now() WHERE job_id = $1 AND status IN ('running', 'retrying')`, jobID, cause, CancelledClass); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, setFailoverStatus, jobID, FailoverFailed); err != nil {
			return err
		}
		if contextID != nil {
			if _, err := tx.Exec(ctx, setContextStatus, *contextID, StatusCleanupRequired); err != nil {
				return err
			}
		}
		return s.RecordDecision(ctx, tx, d)
	})
	if err != nil {
		return nil, classify(err, "cancelling job %s", jobID)
	}
	return s.GetJob(ctx, jobID)
}

// MarkStepCancelled records that a cancelled job's step stopped: a worker
// that was in the middle of it when the cancel came says so, and does not
// retry it.
func (s *Store) MarkStepCancelled(ctx context.Context, jobID string, seq int) error {
	_, err := s.pool.Exec(ctx, `UPDATE job_steps SET status = 'failed', error = $4, error_class = $3,
			ended_at = COALESCE(ended_at, now()), updated_at = now()
		WHERE job_id = $1 AND seq = $2 AND status IN ('running', 'retrying', 'failed')`, jobID, seq, CancelledClass, StepStoppedByCancel)
	return classify(err, "recording the cancel of step %d of job %s", seq, jobID)
}
