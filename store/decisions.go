package store

import (
	"context"
	"encoding/json"
	"time"

	"github.com/jackc/pgx/v5"
)

// Decision is one operator decision kept in the audit: the options chosen
// for a failover, an approval, a rollback choice, a skipped validation, a
// commit or a retry. Choice is the choice jsonb column; the API shows
// decisions as apiv1.Decision.
type Decision struct {
	ID            int64
	Decision      string
	Actor         string
	ContextID     string
	JobID         string
	ExternalJobID string
	Choice        map[string]any
	CreatedAt     time.Time
}

// RecordDecision appends a decision to the audit, in tx when not nil.
func (s *Store) RecordDecision(ctx context.Context, tx pgx.Tx, d Decision) error {
	choice, err := json.Marshal(d.Choice)
	if err != nil || d.Choice == nil {
		choice = []byte("{}")
	}
	q := `INSERT INTO decision_audit (decision, actor, context_id, job_id, external_job_id, choice)
		VALUES ($1, $2, NULLIF($3, ''), NULLIF($4, '')::uuid, $5, $6)`
	args := []any{d.Decision, d.Actor, d.ContextID, d.JobID, d.ExternalJobID, choice}
	if tx != nil {
		_, err = tx.Exec(ctx, q, args...)
	} else {
		_, err = s.pool.Exec(ctx, q, args...)
	}
	return classify(err, "recording %s decision", d.Decision)
}
