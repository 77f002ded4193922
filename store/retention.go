package store

import (
	"context"
	"time"
)

// pruneBatch bounds one DELETE of PruneJobs.
const pruneBatch = 1000

// PruneJobs deletes the logs (the job, its steps and events, its failover
// record) of jobs that ended before cutoff, and returns how many jobs
// went. A failover that can still be rolled back or committed (its record
// is not rolled_back or committed) is kept, whatever its age: the way
// back needs it. The decision audit is never pruned (it holds ids, not
// references).
func (s *Store) PruneJobs(ctx context.Context, cutoff time.Time) (int64, error) {
	var total int64
	for {
		tag, err := s.pool.Exec(ctx, `DELETE FROM job_tracking WHERE id IN (
			SELECT j.id FROM job_tracking j
			WHERE j.status IN ('completed', 'failed', 'cancelled') AND j.ended_at < $1
			  AND NOT EXISTS (SELECT 1 FROM failover_jobs f
			                  WHERE f.job_id = j.id AND f.status NOT IN ('rolled_back', 'committed'))
			LIMIT $2)`, cutoff, pruneBatch)
		if err != nil {
			return total, classify(err, "pruning jobs that ended before %s", cutoff.Format(time.RFC3339))
		}
		total += tag.RowsAffected()
		if tag.RowsAffected() < pruneBatch {
			return total, nil
		}
	}
}
