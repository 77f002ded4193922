package store

import (
	"context"
	"encoding/json"
	"time"

	"github.com/jackc/pgx/v5"
)

// Event is one structured event of a job. Every event carries the job's
// external id so either id finds it with one indexed look-up.
type Event struct {
	ID            int64          `json:"id"`
	JobID         string         `json:"job_id"`
	ExternalJobID string         `json:"external_job_id"`
	Step          string         `json:"step,omitempty"`
	Level         string         `json:"level"`
	Message       string         `json:"message"`
	Attrs         map[string]any `json:"attrs,omitempty"`
	CreatedAt     time.Time      `json:"created_at"`
}

// AddEvent appends an event to a job's log.
func (s *Store) AddEvent(ctx context.Context, e Event) error {
	if e.Level == "" {
		e.Level = "info"
	}
	attrs, _ := json.Marshal(e.Attrs)
	if e.Attrs == nil {
		attrs = []byte("{}")
	}
	_, err := s.pool.Exec(ctx, `INSERT INTO log_events (job_id, external_job_id, step, level, message, attrs)
		VALUES ($1, $2, $3, $4, $5, $6)`, e.JobID, e.ExternalJobID, e.Step, e.Level, e.Message, attrs)
	return classify(err, "recording event of job %s", e.JobID)
}

// ListEvents returns the events of a job (by UUID or external id) with an
// id greater than after, oldest first, at most limit (default 200, max 1000).
func (s *Store) ListEvents(ctx context.Context, jobID string, after int64, limit int) ([]Event, error) {
	job, err := s.GetJob(ctx, jobID)
	if err != nil {
		return nil, err
	}
	if limit <= 0 {
		limit = 200
	}
	limit = min(limit, 1000)
	rows, err := s.pool.Query(ctx, `SELECT id, job_id::text, external_job_id, step, level, message, attrs, created_at
		FROM log_events WHERE external_job_id = $1 AND id > $2 ORDER BY id LIMIT $3`, job.ExternalID, after, limit)
	if err != nil {
		return nil, classify(err, "listing events of job %s", jobID)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Event, error) {
		var e Event
		var attrs []byte
		if err := r.Scan(&e.ID, &e.JobID, &e.ExternalJobID, &e.Step, &e.Level, &e.Message, &attrs, &e.CreatedAt); err != nil {
			return e, err
		}
		return e, json.Unmarshal(attrs, &e.Attrs)
	})
	return out, classify(err, "listing events of job %s", jobID)
}
