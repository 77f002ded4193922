package store

import (
	"context"
)

// ActiveJobGroup summarises the active (pending or running) jobs of one job
// type and failover type, for the scrape-time metrics (package metrics).
type ActiveJobGroup struct {
	// Type is the job type (failover, rollback, commit, drill, probe).
	Type string
	// FailoverType is the job's failover type (test or live; a rollback's
	// or a commit's is its failover's), "" for drills and probes.
	FailoverType string
	// Count is the number of active jobs.
	Count int
	// OldestAgeSeconds is the age of the oldest of them: now minus its
	// creation.
	OldestAgeSeconds float64
	// LastStepAgeSeconds is the time since the last step activity of the
	// one that has been quiet longest: now minus the latest change of any
	// of its steps (planned, begun, retried, progress reported, ended).
	LastStepAgeSeconds float64
}

// ActiveJobGroups returns the active jobs grouped by job type and failover
// type; a group without an active job is absent. Ages are measured with
// the database's clock, the one that stamped the rows. It reads the few
// active jobs through the index on their status, and their steps by
// primary key; bound ctx with a deadline (the metrics do: 2 s).
func (s *Store) ActiveJobGroups(ctx context.Context) ([]ActiveJobGroup, error) {
	rows, err := s.pool.Query(ctx, `
		SELECT j.job_type, COALESCE(j.failover_type, ''), count(*),
			EXTRACT(EPOCH FROM now() - min(j.created_at))::float8,
			EXTRACT(EPOCH FROM now() - min(COALESCE(st.last, j.created_at)))::float8
		FROM job_tracking j
		CROSS JOIN LATERAL (SELECT max(updated_at) AS last FROM job_steps WHERE job_id = j.id) st
		WHERE j.status IN ('pending', 'running')
		GROUP BY 1, 2 ORDER BY 1, 2`)
	if err != nil {
		return nil, classify(err, "reading active jobs")
	}
	defer rows.Close()
	var groups []ActiveJobGroup
	for rows.Next() {
		var g ActiveJobGroup
		if err := rows.Scan(&g.Type, &g.FailoverType, &g.Count, &g.OldestAgeSeconds, &g.LastStepAgeSeconds); err != nil {
			return nil, classify(err, "reading active jobs")
		}
		// A row stamped a moment after the statement began reads as a
		// tiny negative age.
		g.OldestAgeSeconds, g.LastStepAgeSeconds = max(g.OldestAgeSeconds, 0), max(g.LastStepAgeSeconds, 0)
		groups = append(groups, g)
	}
	return groups, classify(rows.Err(), "reading active jobs")
}
