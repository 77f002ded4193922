package api

import (
	"net/http"

	"github.com/go-chi/chi/v5"

	"github.com/ossea/unifiedfailover/api/apiv1"
	"github.com/ossea/unifiedfailover/failover"
	"github.com/ossea/unifiedfailover/store"
)

func (s *Server) registerContext(w http.ResponseWriter, r *http.Request) error {
	var req apiv1.RegisterRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	c, err := s.engine.Register(r.Context(), failover.RegisterRequest(req), actorFor(r))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, s.contextOut(c))
	return nil
}

func (s *Server) listContexts(w http.ResponseWriter, r *http.Request) error {
	cs, err := s.store.ListContexts(r.Context())
	if err != nil {
		return err
	}
	out := apiv1.ContextList{Contexts: make([]apiv1.VMContext, 0, len(cs))}
	for _, c := range cs {
		out.Contexts = append(out.Contexts, s.contextOut(c))
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) getContext(w http.ResponseWriter, r *http.Request) error {
	c, err := s.store.ResolveContext(r.Context(), chi.URLParam(r, "context_id"))
	if err != nil {
		return err
	}
	ms, err := s.store.ListMappings(r.Context(), c.ContextID, "")
	if err != nil {
		return err
	}
	jobs, err := s.store.ListJobs(r.Context(), store.JobFilter{ContextID: c.ContextID, Limit: 10})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, apiv1.ContextDetail{VMContext: s.contextOut(c), Mappings: mappingsOut(ms), Jobs: jobsOut(jobs)})
	return nil
}

func (s *Server) refreshContext(w http.ResponseWriter, r *http.Request) error {
	rep, err := s.engine.Refresh(r.Context(), chi.URLParam(r, "context_id"), actorFor(r))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, s.refreshOut(rep))
	return nil
}

func (s *Server) updateContext(w http.ResponseWriter, r *http.Request) error {
	var u apiv1.ContextUpdate
	if err := decodeJSON(r, &u); err != nil {
		return err
	}
	c, err := s.engine.UpdateContext(r.Context(), chi.URLParam(r, "context_id"), u, actorFor(r))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, s.contextOut(c))
	return nil
}

func (s *Server) unregisterContext(w http.ResponseWriter, r *http.Request) error {
	if err := s.engine.Unregister(r.Context(), chi.URLParam(r, "context_id"), actorFor(r)); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
