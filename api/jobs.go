package api

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/ossea/unifiedfailover/api/apiv1"
	"github.com/ossea/unifiedfailover/errs"
	"github.com/ossea/unifiedfailover/queue"
	"github.com/ossea/unifiedfailover/store"
	"github.com/ossea/unifiedfailover/tasks"
)

// startProbe pushes the three-step probe chain through api → Redis →
// worker → Postgres: an end-to-end check of the pipeline.
func (s *Server) startProbe(w http.ResponseWriter, r *http.Request) error {
	var req apiv1.ProbeRequest
	if r.ContentLength != 0 {
		if err := decodeJSON(r, &req); err != nil {
			return err
		}
	}
	job, err := s.runner.Start(r.Context(), store.NewJob{Type: tasks.ProbeChain, ContextID: req.ContextID,
		Queue: queue.QueueLow}, nil)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusAccepted, apiv1.ProbeStarted{ExternalJobID: job.ExternalID, JobID: job.ID, Status: job.Status})
	return nil
}

func (s *Server) getJob(w http.ResponseWriter, r *http.Request) error {
	if err := s.waitForEnd(r); err != nil {
		return err
	}
	job, err := s.store.GetJob(r.Context(), chi.URLParam(r, "job_id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, jobOut(job))
	return nil
}

func (s *Server) jobEvents(w http.ResponseWriter, r *http.Request) error {
	after, err := queryInt(r, "after", 0)
	if err != nil {
		return err
	}
	limit, err := queryInt(r, "limit", 200)
	if err != nil {
		return err
	}
	events, err := s.store.ListEvents(r.Context(), chi.URLParam(r, "job_id"), int64(after), limit)
	if err != nil {
		return err
	}
	out := apiv1.EventList{Events: each(events, eventOut)}
	if out.Events == nil {
		out.Events = []apiv1.Event{}
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func queryInt(r *http.Request, name string, def int) (int, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		return 0, errs.New(errs.InvalidArgument, "%s: must be a whole number ≥ 0", name).WithDetails("field", name)
	}
	return n, nil
}

// MaxWait is the longest a request may wait for its job to end (the wait
// query parameter).
const MaxWait = time.Minute

// waitForEnd honours the wait query parameter of a job read: a Go duration
// (for example 30s) up to MaxWait during which the request waits for the
// job to end, answering as soon as it does (or with the job as it is when
// the wait is over). Without wait it returns at once.
func (s *Server) waitForEnd(r *http.Request) error {
	v := r.URL.Query().Get("wait")
	if v == "" {
		return nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 || d > MaxWait {
		return errs.New(errs.InvalidArgument, "wait: must be a duration from 0s to %s, for example 30s", MaxWait).WithDetails("field", "wait")
	}
	// A shutting-down server stops waiting; the read then answers with the
	// job as it is.
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	defer context.AfterFunc(s.draining, cancel)()
	err = s.store.WaitJobEnd(ctx, chi.URLParam(r, "job_id"), d)
	if err != nil && s.draining.Err() != nil && r.Context().Err() == nil {
		return nil
	}
	return err
}
