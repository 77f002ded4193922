package api

import (
	"net/http"

	"github.com/go-chi/chi/v5"

	"github.com/ossea/unifiedfailover/failover"
	"github.com/ossea/unifiedfailover/store"
)

func (s *Server) registerContext(w http.ResponseWriter, r *http.Request) error {
	var req failover.RegisterRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	c, err := s.engine.Register(r.Context(), req)
	if err != nil {
		return err
	}
	if err := s.store.RecordDecision(r.Context(), nil, store.Decision{Decision: "register", Actor: actorOf(r),
		ContextID: c.ContextID, Choice: map[string]any{"vmware_vm_id": c.VMwareVMID, "vm_name": c.VMName,
			"network_mappings": len(req.NetworkMappings)}}); err != nil {
		s.log.WarnContext(r.Context(), "could not record the registration in the audit", "error", err, "context_id", c.ContextID)
	}
	writeJSON(w, http.StatusCreated, c)
	return nil
}

func (s *Server) listContexts(w http.ResponseWriter, r *http.Request) error {
	cs, err := s.store.ListContexts(r.Context())
	if err != nil {
		return err
	}
	if cs == nil {
		cs = []*store.VMContext{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"contexts": cs})
	return nil
}

// contextDetail is a context with its mappings and latest jobs.
type contextDetail struct {
	*store.VMContext
	Mappings []store.NetworkMapping `json:"network_mappings"`
	Jobs     []jobView              `json:"jobs"`
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
	out := contextDetail{VMContext: c, Mappings: ms, Jobs: []jobView{}}
	if out.Mappings == nil {
		out.Mappings = []store.NetworkMapping{}
	}
	for _, j := range jobs {
		out.Jobs = append(out.Jobs, viewJob(j))
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) refreshContext(w http.ResponseWriter, r *http.Request) error {
	rep, err := s.engine.Refresh(r.Context(), chi.URLParam(r, "context_id"), actorFor(r))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, rep)
	return nil
}

func (s *Server) updateContext(w http.ResponseWriter, r *http.Request) error {
	var u failover.ContextUpdate
	if err := decodeJSON(r, &u); err != nil {
		return err
	}
	c, err := s.engine.UpdateContext(r.Context(), chi.URLParam(r, "context_id"), u, actorFor(r))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, c)
	return nil
}

func (s *Server) unregisterContext(w http.ResponseWriter, r *http.Request) error {
	if err := s.engine.Unregister(r.Context(), chi.URLParam(r, "context_id"), actorFor(r)); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
