package store

import (
	"context"
	"encoding/json"
	"time"

	"github.com/jackc/pgx/v5"
)

// Decision is one operator decision kept in the audit: the options chosen
// for a failover, an approval, a rollback choice, a skipped validation, a
// commit or a retry.
type Decision struct {
	ID            int64          `json:"id"`
	Decision      string         `json:"decision"`
	Actor         string         `json:"actor"`
	ContextID     string         `json:"context_id,omitempty"`
	JobID         string         `json:"job_id,omitempty"`
	ExternalJobID string         `json:"external_job_id,omitempty"`
	Choice        map[string]any `json:"choice"`
	CreatedAt     time.Time      `json:"created_at"`
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

// DecisionFilter selects decisions to list. Zero fields do not filter.
type DecisionFilter struct {
	ContextID string
	JobID     string
	// Limit defaults to 100; at most 1000.
	Limit  int
	Offset int
}

// ListDecisions returns decisions, newest first.
func (s *Store) ListDecisions(ctx context.Context, f DecisionFilter) ([]Decision, error) {
	if f.Limit <= 0 {
		f.Limit = 100
	}
	f.Limit = min(f.Limit, 1000)
	rows, err := s.pool.Query(ctx, `SELECT id, decision, actor, COALESCE(context_id, ''), COALESCE(job_id::text, ''),
			external_job_id, choice, created_at
		FROM decision_audit WHERE ($1 = '' OR context_id = $1) AND ($2 = '' OR job_id::text = $2 OR external_job_id = $2)
		ORDER BY id DESC LIMIT $3 OFFSET $4`, f.ContextID, f.JobID, f.Limit, f.Offset)
	if err != nil {
		return nil, classify(err, "listing decisions")
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Decision, error) {
		var d Decision
		var choice []byte
		if err := r.Scan(&d.ID, &d.Decision, &d.Actor, &d.ContextID, &d.JobID, &d.ExternalJobID, &choice, &d.CreatedAt); err != nil {
			return d, err
		}
		return d, json.Unmarshal(choice, &d.Choice)
	})
	return out, classify(err, "listing decisions")
}
