package store

import (
	"context"
	"encoding/json"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ossea/unifiedfailover/errs"
)

// AuditFilter selects decisions of the audit. Zero fields do not filter.
type AuditFilter struct {
	ContextID string
	// JobID matches the job's UUID or external id.
	JobID    string
	Actor    string
	Decision string
	// Since keeps decisions made at or after it.
	Since time.Time
	// Limit defaults to 100; at most 1000.
	Limit  int
	Offset int
}

// ListAudit returns the decisions matching f, newest first.
func (s *Store) ListAudit(ctx context.Context, f AuditFilter) ([]Decision, error) {
	if f.Limit <= 0 {
		f.Limit = 100
	}
	f.Limit = min(f.Limit, 1000)
	var since *time.Time
	if !f.Since.IsZero() {
		since = &f.Since
	}
	rows, err := s.pool.Query(ctx, `SELECT id, decision, actor, COALESCE(context_id, ''), COALESCE(job_id::text, ''),
			external_job_id, choice, created_at
		FROM decision_audit
		WHERE ($1 = '' OR context_id = $1) AND ($2 = '' OR job_id::text = $2 OR external_job_id = $2)
		  AND ($3 = '' OR actor = $3) AND ($4 = '' OR decision = $4) AND ($5::timestamptz IS NULL OR created_at >= $5)
		ORDER BY id DESC LIMIT $6 OFFSET $7`, f.ContextID, f.JobID, f.Actor, f.Decision, since, f.Limit, f.Offset)
	if err != nil {
		return nil, classify(err, "listing the audit")
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Decision, error) {
		var d Decision
		var choice []byte
		if err := r.Scan(&d.ID, &d.Decision, &d.Actor, &d.ContextID, &d.JobID, &d.ExternalJobID, &choice, &d.CreatedAt); err != nil {
			return d, err
		}
		return d, json.Unmarshal(choice, &d.Choice)
	})
	return out, classify(err, "listing the audit")
}

// SaveMappings stores mappings of one context and records decision d in
// the audit, in one transaction: all or nothing. With replace, the
// context's other mappings are deleted first (a bulk replacement).
func (s *Store) SaveMappings(ctx context.Context, contextID string, replace bool, ms []NetworkMapping, d Decision) ([]NetworkMapping, error) {
	out := []NetworkMapping{}
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		out = out[:0]
		var exists bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM vm_replication_contexts WHERE context_id = $1 FOR UPDATE)`,
			contextID).Scan(&exists); err != nil {
			return classify(err, "locking context %s", contextID)
		}
		if !exists {
			return errs.New(errs.NotFound, "no VM context %q", contextID)
		}
		if replace {
			if _, err := tx.Exec(ctx, `DELETE FROM network_mappings WHERE context_id = $1`, contextID); err != nil {
				return classify(err, "replacing mappings of %s", contextID)
			}
		}
		for _, m := range ms {
			m.ContextID = contextID
			saved, err := upsertMapping(ctx, tx, m)
			if err != nil {
				return err
			}
			out = append(out, saved)
		}
		d.ContextID = contextID
		return s.RecordDecision(ctx, tx, d)
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// RemoveMappings deletes mappings of a context and records decision d in
// the audit, in one transaction: those of one source network (every
// source network when sourceNetwork is empty), of one type or of both
// when typ is empty. None deleted is NotFound and changes nothing.
func (s *Store) RemoveMappings(ctx context.Context, contextID, sourceNetwork string, typ MappingType, d Decision) (int64, error) {
	var n int64
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `DELETE FROM network_mappings
			WHERE context_id = $1 AND ($2 = '' OR source_network_name = $2) AND ($3 = '' OR mapping_type = $3)`,
			contextID, sourceNetwork, string(typ))
		if err != nil {
			return classify(err, "deleting mappings of %s/%s", contextID, sourceNetwork)
		}
		if n = tag.RowsAffected(); n == 0 {
			return errs.New(errs.NotFound, "no mapping matches source network %q, type %q of context %q", sourceNetwork, typ, contextID)
		}
		d.ContextID = contextID
		if d.Choice == nil {
			d.Choice = map[string]any{}
		}
		d.Choice["deleted"] = n
		return s.RecordDecision(ctx, tx, d)
	})
	return n, err
}
