package api

import (
	"context"
	"net/http"

	"github.com/go-chi/chi/v5"

	"github.com/ossea/unifiedfailover/auth"
	"github.com/ossea/unifiedfailover/failover"
	"github.com/ossea/unifiedfailover/store"
)

type actorKey struct{}

// actorOf is who made the request, for the audit.
func actorOf(r *http.Request) string {
	if a, ok := r.Context().Value(actorKey{}).(string); ok && a != "" {
		return a
	}
	return "anonymous"
}

// withActor returns ctx carrying the request's actor.
func withActor(ctx context.Context, actor string) context.Context {
	return context.WithValue(ctx, actorKey{}, actor)
}

// startedBody is the answer to a request that started a job.
type startedBody struct {
	JobID         string          `json:"job_id"`
	ExternalJobID string          `json:"external_job_id"`
	Status        store.JobStatus `json:"status"`
	Plan          *failover.Plan  `json:"plan,omitempty"`
}

func (s *Server) writeStarted(w http.ResponseWriter, r *http.Request, st *failover.Started, err error, dryRun bool) {
	switch {
	case err != nil:
		s.writeError(w, r, err)
	case dryRun || st.Job == nil:
		writeJSON(w, http.StatusOK, map[string]any{"dry_run": true, "plan": st.Plan})
	default:
		writeJSON(w, http.StatusAccepted, startedBody{JobID: st.Job.ID, ExternalJobID: st.Job.ExternalID,
			Status: st.Job.Status, Plan: st.Plan})
	}
}

func (s *Server) startFailover(w http.ResponseWriter, r *http.Request) {
	req, err := decodeFailoverRequest(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if req.FailoverType == failover.Live && !req.DryRun {
		if err := need(r, auth.Admin, "a live failover"); err != nil {
			s.writeError(w, r, err)
			return
		}
	}
	st, err := s.engine.StartFailover(r.Context(), req, actorOf(r))
	s.writeStarted(w, r, st, err, req.DryRun)
}

func (s *Server) startRollback(w http.ResponseWriter, r *http.Request) {
	var req failover.RollbackRequest
	if err := decodeJSON(r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	if err := checkRollbackRequest(&req); err != nil {
		s.writeError(w, r, err)
		return
	}
	if !req.DryRun {
		p, _, err := s.engine.PlanRollback(r.Context(), req)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		if p.Config != nil && p.Config.FailoverType == failover.Live {
			if err := need(r, auth.Admin, "the rollback of a live failover"); err != nil {
				s.writeError(w, r, err)
				return
			}
		}
	}
	st, err := s.engine.StartRollback(r.Context(), req, actorOf(r))
	s.writeStarted(w, r, st, err, req.DryRun)
}

func (s *Server) commitFailover(w http.ResponseWriter, r *http.Request) {
	st, err := s.engine.StartCommit(r.Context(), chi.URLParam(r, "job_id"), actorOf(r))
	s.writeStarted(w, r, st, err, false)
}

func (s *Server) retryJob(w http.ResponseWriter, r *http.Request) {
	j, err := s.store.GetJob(r.Context(), chi.URLParam(r, "job_id"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if j.FailoverType == string(failover.Live) {
		if err := need(r, auth.Admin, "retrying a live failover's job"); err != nil {
			s.writeError(w, r, err)
			return
		}
	}
	job, err := s.engine.Retry(r.Context(), chi.URLParam(r, "job_id"), actorOf(r))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusAccepted, startedBody{JobID: job.ID, ExternalJobID: job.ExternalID, Status: job.Status})
}

// failoverStatus is a job with, for a failover, what it made.
type failoverStatus struct {
	jobView
	Failover *store.FailoverJob `json:"failover,omitempty"`
}

func (s *Server) failoverJobStatus(w http.ResponseWriter, r *http.Request) {
	if err := s.waitForEnd(r); err != nil {
		s.writeError(w, r, err)
		return
	}
	job, fo, err := s.store.GetJobWithFailover(r.Context(), chi.URLParam(r, "job_id"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, failoverStatus{jobView: viewJob(job), Failover: fo})
}
