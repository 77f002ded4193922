package api

import (
	"context"
	"net/http"

	"github.com/go-chi/chi/v5"

	"github.com/ossea/unifiedfailover/api/apiv1"
	"github.com/ossea/unifiedfailover/errs"
	"github.com/ossea/unifiedfailover/failover"
)

type actorKey struct{}

// actorOf is who made the request, for the audit.
func actorOf(r *http.Request) string {
	if a, ok := r.Context().Value(actorKey{}).(string); ok && a != "" {
		return a
	}
	return "anonymous"
}

// actorFor is the request's actor with its role, for the engine's
// approval rule (failover/approval.go).
func actorFor(r *http.Request) failover.Actor {
	return failover.Actor{Name: actorOf(r), Role: principalOf(r).Role}
}

// withActor returns ctx carrying the request's actor.
func withActor(ctx context.Context, actor string) context.Context {
	return context.WithValue(ctx, actorKey{}, actor)
}

// writeStarted answers a started job (202) with its plan, or the plan of
// a dry run (200).
func writeStarted(w http.ResponseWriter, st *failover.Started, dryRun bool) {
	if dryRun || st.Job == nil {
		writeJSON(w, http.StatusOK, apiv1.DryRun{DryRun: true, Plan: planOut(st.Plan)})
		return
	}
	writeJSON(w, http.StatusAccepted, apiv1.Started{JobID: st.Job.ID, ExternalJobID: st.Job.ExternalID,
		Status: st.Job.Status, Plan: planOut(st.Plan)})
}

func (s *Server) startFailover(w http.ResponseWriter, r *http.Request) error {
	req, err := decodeFailoverRequest(r)
	if err != nil {
		return err
	}
	st, err := s.engine.StartFailover(r.Context(), req, actorFor(r))
	if err != nil {
		return err
	}
	writeStarted(w, st, req.DryRun)
	return nil
}

func (s *Server) startRollback(w http.ResponseWriter, r *http.Request) error {
	var req apiv1.RollbackRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	if err := checkRollbackRequest(&req); err != nil {
		return err
	}
	st, err := s.engine.StartRollback(r.Context(), req, actorFor(r))
	if err != nil {
		return err
	}
	writeStarted(w, st, req.DryRun)
	return nil
}

func (s *Server) commitFailover(w http.ResponseWriter, r *http.Request) error {
	var req apiv1.CommitRequest
	if r.ContentLength != 0 {
		if err := decodeJSON(r, &req); err != nil {
			return err
		}
	}
	req.FailoverJobID = chi.URLParam(r, "job_id")
	st, err := s.engine.StartCommit(r.Context(), req, actorFor(r))
	if err != nil {
		return err
	}
	writeStarted(w, st, req.DryRun)
	return nil
}

func (s *Server) retryJob(w http.ResponseWriter, r *http.Request) error {
	job, err := s.engine.Retry(r.Context(), chi.URLParam(r, "job_id"), actorFor(r))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusAccepted, apiv1.Started{JobID: job.ID, ExternalJobID: job.ExternalID, Status: job.Status})
	return nil
}

func (s *Server) cancelJob(w http.ResponseWriter, r *http.Request) error {
	var req apiv1.CancelRequest
	if r.ContentLength != 0 {
		if err := decodeJSON(r, &req); err != nil {
			return err
		}
	}
	if len(req.Reason) > 4096 {
		return errs.Field("reason", "at most 4096 bytes")
	}
	job, err := s.engine.Cancel(r.Context(), chi.URLParam(r, "job_id"), actorFor(r), req.Reason)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, jobOut(job))
	return nil
}

func (s *Server) failoverJobStatus(w http.ResponseWriter, r *http.Request) error {
	if err := s.waitForEnd(r); err != nil {
		return err
	}
	job, fo, err := s.store.GetJobWithFailover(r.Context(), chi.URLParam(r, "job_id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, apiv1.FailoverStatus{Job: jobOut(job), Failover: failoverJobOut(fo)})
	return nil
}
