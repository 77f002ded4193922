package store

import (
	"context"
	"encoding/json"
	"time"

	"github.com/jackc/pgx/v5"
)

// Event is one structured event of a job. Every event carries the job's
// external id so either id finds it with one indexed look-up. Attrs is
// the attrs jsonb column; the API shows events as apiv1.Event.
type Event struct {
	ID            int64
	JobID         string
	ExternalJobID string
	Step          string
	Level         string
	Message       string
	Attrs         map[string]any
	CreatedAt     time.Time
}

// AddEvent appends an event to a job's log.
func (s *Store) AddEvent(ctx context.Context, e Event) error {
	_, err := s.pool.Exec(ctx, insertEvent, e.args()...)
	return classify(err, "recording event of job %s", e.JobID)
}

const insertEvent = `INSERT INTO log_events (job_id, external_job_id, step, level, message, attrs)
	VALUES ($1, $2, $3, $4, $5, $6)`

// args are insertEvent's arguments.
func (e Event) args() []any {
	if e.Level == "" {
		e.Level = "info"
	}
	attrs, _ := json.Marshal(e.Attrs)
	if e.Attrs == nil {
		attrs = []byte("{}")
	}
	return []any{e.JobID, e.ExternalJobID, e.Step, e.Level, e.Message, attrs}
}

// execWithEvents runs one statement and inserts events in one round trip
// and one transaction: a change and the record of it commit together.
func (s *Store) execWithEvents(ctx context.Context, events []Event, sql string, args ...any) error {
	if len(events) == 0 {
		_, err := s.pool.Exec(ctx, sql, args...)
		return err
	}
	b := &pgx.Batch{}
	b.Queue(sql, args...)
	for _, e := range events {
		b.Queue(insertEvent, e.args()...)
	}
	return s.pool.SendBatch(ctx, b).Close()
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
