package api

import (
	"net/http"
	"time"

	"github.com/ossea/unifiedfailover/api/apiv1"
	"github.com/ossea/unifiedfailover/errs"
	"github.com/ossea/unifiedfailover/store"
)

func page(limit, offset, got int) apiv1.Page {
	b := apiv1.Page{Limit: limit, Offset: offset}
	if got == limit {
		n := offset + limit
		b.NextOffset = &n
	}
	return b
}

// contextFilter resolves an optional context (id or VM name) filter.
func (s *Server) contextFilter(r *http.Request, q query, key string) (string, error) {
	name, err := q.name(key)
	if err != nil || name == "" {
		return "", err
	}
	vm, err := s.store.ResolveContext(r.Context(), name)
	if err != nil {
		return "", err
	}
	return vm.ContextID, nil
}

func (s *Server) listFailoverJobs(w http.ResponseWriter, r *http.Request) error {
	q, err := parseQuery(r, "context_id", "vm", "status", "type", "job_type", "limit", "offset")
	if err != nil {
		return err
	}
	f := store.JobFilter{}
	var status, ftype, jtype string
	if status, err = q.enum("status", "pending", "running", "completed", "failed", "cancelled"); err == nil {
		if ftype, err = q.enum("type", "test", "live"); err == nil {
			if jtype, err = q.name("job_type"); err == nil {
				if f.Limit, err = q.intIn("limit", 50, 1, 500); err == nil {
					f.Offset, err = q.intIn("offset", 0, 0, 1<<30)
				}
			}
		}
	}
	if err != nil {
		return err
	}
	f.Status, f.FailoverType, f.Type = store.JobStatus(status), ftype, jtype
	if f.ContextID, err = s.contextFilter(r, q, "context_id"); err == nil && f.ContextID == "" {
		f.ContextID, err = s.contextFilter(r, q, "vm")
	}
	if err != nil {
		return err
	}
	jobs, err := s.store.ListJobs(r.Context(), f)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, apiv1.JobList{Jobs: jobsOut(jobs), Page: page(f.Limit, f.Offset, len(jobs))})
	return nil
}

func (s *Server) listAudit(w http.ResponseWriter, r *http.Request) error {
	q, err := parseQuery(r, "context_id", "vm", "job_id", "actor", "decision", "since", "limit", "offset")
	if err != nil {
		return err
	}
	f := store.AuditFilter{}
	if f.JobID, err = q.name("job_id"); err == nil {
		if f.Actor, err = q.name("actor"); err == nil {
			if f.Decision, err = q.name("decision"); err == nil {
				if f.Limit, err = q.intIn("limit", 100, 1, 1000); err == nil {
					f.Offset, err = q.intIn("offset", 0, 0, 1<<30)
				}
			}
		}
	}
	if err == nil && q.v.Has("since") {
		if f.Since, err = time.Parse(time.RFC3339, q.v.Get("since")); err != nil {
			err = errs.Field("since", "must be an RFC 3339 time such as 2025-09-09T11:38:39Z")
		}
	}
	if err == nil {
		if f.ContextID, err = s.contextFilter(r, q, "context_id"); err == nil && f.ContextID == "" {
			f.ContextID, err = s.contextFilter(r, q, "vm")
		}
	}
	if err != nil {
		return err
	}
	ds, err := s.store.ListAudit(r.Context(), f)
	if err != nil {
		return err
	}
	out := apiv1.AuditList{Decisions: each(ds, decisionOut), Page: page(f.Limit, f.Offset, len(ds))}
	if out.Decisions == nil {
		out.Decisions = []apiv1.Decision{}
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}
