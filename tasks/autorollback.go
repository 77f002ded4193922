package tasks

import (
	"context"

	"github.com/ossea/unifiedfailover/failover"
	"github.com/ossea/unifiedfailover/store"
)

// Time-boxed test failovers (failover/autorollback.go): when a failover
// job completes, the failover chain's OnCompleted arms its auto-rollback.

// armAutoRollback runs when a failover job completes: a time-boxed
// failover gets its deadline and a delayed timer task. A failed enqueue is
// logged, not fatal: the scheduler's sweep finds the deadline in Postgres.
func (e *engine) armAutoRollback(ctx context.Context, job *store.Job) error {
	at, err := e.store.ArmAutoRollback(ctx, job.ID)
	if err != nil || at == nil {
		return err
	}
	log := e.log.With("job_id", job.ID, "external_job_id", job.ExternalID, "context_id", job.ContextID)
	if e.cfg.Timers == nil {
		log.WarnContext(ctx, "no timer queue configured: the scheduler's sweep will roll the failover back", "auto_rollback_at", at)
		return nil
	}
	if err := failover.EnqueueAutoRollback(ctx, e.cfg.Timers, job.ID, *at); err != nil {
		log.WarnContext(ctx, "could not enqueue the auto-rollback timer; the scheduler's sweep will", "error", err)
		return nil
	}
	log.InfoContext(ctx, "auto-rollback armed", "auto_rollback_at", at)
	return nil
}
