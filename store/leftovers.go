package store

import (
	"context"
	"encoding/json"

	"github.com/jackc/pgx/v5"
)

// Leftover is one resource a forced cleanup could not clean. Its json tags
// are the leftovers jsonb column's format, not the API's; the API's is
// apiv1.Leftover.
type Leftover struct {
	// Kind is vm, volume, snapshot, template-volume or source-vm.
	Kind string `json:"kind"`
	// ID is its CloudStack id (the VMware UUID for the source VM).
	ID    string `json:"id"`
	Step  string `json:"step"`
	Error string `json:"error"`
}

// ClearLeftovers empties a failover's leftovers, in tx when not nil: a
// rollback starts anew.
func (s *Store) ClearLeftovers(ctx context.Context, tx pgx.Tx, failoverJobID string) error {
	q := `UPDATE failover_jobs SET leftovers = '[]', updated_at = now() WHERE job_id = $1`
	var err error
	if tx != nil {
		_, err = tx.Exec(ctx, q, failoverJobID)
	} else {
		_, err = s.pool.Exec(ctx, q, failoverJobID)
	}
	return classify(err, "clearing the leftovers of failover %s", failoverJobID)
}

// HasLeftover reports whether a failover's leftovers hold a resource.
func (f *FailoverJob) HasLeftover(kind, id string) bool {
	for _, l := range f.Leftovers {
		if l.Kind == kind && l.ID == id {
			return true
		}
	}
	return false
}

// AddLeftover records one leftover of a failover's rollback, with its
// event; the same resource of the same step is recorded once.
func (s *Store) AddLeftover(ctx context.Context, failoverJobID string, l Leftover, events ...Event) error {
	one, err := json.Marshal([]Leftover{l})
	if err != nil {
		return err
	}
	err = s.execWithEvents(ctx, events, `UPDATE failover_jobs SET updated_at = now(),
			leftovers = CASE WHEN EXISTS (SELECT 1 FROM jsonb_array_elements(leftovers) e
			                              WHERE e->>'kind' = $3 AND e->>'id' = $4 AND e->>'step' = $5)
			                 THEN leftovers ELSE leftovers || $2::jsonb END
		WHERE job_id = $1`, failoverJobID, string(one), l.Kind, l.ID, l.Step)
	return classify(err, "recording a leftover of failover %s", failoverJobID)
}
