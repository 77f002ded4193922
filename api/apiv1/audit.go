package apiv1

import "time"

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

// AuditList is a page of the decision audit (GET /audit).
type AuditList struct {
	Decisions []Decision `json:"decisions"`
	Page
}

// Health is the answer of /healthz.
type Health struct {
	Status string `json:"status"`
}

// Readiness is the answer of /readyz: each dependency's state ("ok" or
// the error).
type Readiness struct {
	Checks map[string]string `json:"checks"`
	Ready  bool              `json:"ready"`
}
