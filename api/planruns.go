package api

import (
	"context"
	"net/http"
	"slices"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/ossea/unifiedfailover/api/apiv1"
	"github.com/ossea/unifiedfailover/errs"
)

// startPlanRun starts a run of a plan: POST /plans/{id}/runs.
func (s *Server) startPlanRun(w http.ResponseWriter, r *http.Request) error {
	var req apiv1.StartPlanRunRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	run, err := s.runs.Start(r.Context(), chi.URLParam(r, "id"), req, actorFor(r))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusAccepted, run)
	return nil
}

// getPlanRun answers a run; ?wait= (a duration up to MaxWait) waits for
// the run to stop running (halted or ended) first.
func (s *Server) getPlanRun(w http.ResponseWriter, r *http.Request) error {
	id := chi.URLParam(r, "run_id")
	var d time.Duration
	if v := r.URL.Query().Get("wait"); v != "" {
		var err error
		if d, err = time.ParseDuration(v); err != nil || d < 0 || d > MaxWait {
			return errs.New(errs.InvalidArgument, "wait: must be a duration from 0s to %s, for example 30s", MaxWait).WithDetails("field", "wait")
		}
	}
	run, err := s.store.GetPlanRun(r.Context(), id)
	if err != nil {
		return err
	}
	if d > 0 {
		ctx, cancel := context.WithTimeout(r.Context(), d)
		defer cancel()
		defer context.AfterFunc(s.draining, cancel)()
		t := time.NewTicker(200 * time.Millisecond)
		defer t.Stop()
	wait:
		for slices.Contains([]string{apiv1.RunRunning, apiv1.RunRollingBack}, run.Status) {
			select {
			case <-ctx.Done():
				break wait
			case <-t.C:
			}
			if run, err = s.store.GetPlanRun(r.Context(), id); err != nil {
				return err
			}
		}
	}
	writeJSON(w, http.StatusOK, run)
	return nil
}

func (s *Server) planRunEvents(w http.ResponseWriter, r *http.Request) error {
	id := chi.URLParam(r, "run_id")
	if _, err := s.store.GetPlanRun(r.Context(), id); err != nil {
		return err
	}
	events, err := s.store.PlanRunEvents(r.Context(), id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, apiv1.PlanRunEvents{Events: events})
	return nil
}

func (s *Server) planRunReport(w http.ResponseWriter, r *http.Request) error {
	rep, err := s.runs.Report(r.Context(), chi.URLParam(r, "run_id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, rep)
	return nil
}

// planRunMembers decodes the members of a retry or skip.
func planRunMembers(r *http.Request) ([]string, error) {
	var req apiv1.PlanRunMembersRequest
	if err := decodeJSON(r, &req); err != nil {
		return nil, err
	}
	if len(req.Members) == 0 {
		return nil, errs.New(errs.InvalidArgument, "members: name at least one member").WithDetails("field", "members")
	}
	return req.Members, nil
}

// planRunAction answers an operator's choice on a run with the run as it
// now is (202: the run acts on it at its next tick).
func (s *Server) planRunAction(action string) func(w http.ResponseWriter, r *http.Request) error {
	return func(w http.ResponseWriter, r *http.Request) error {
		id, who := chi.URLParam(r, "run_id"), actorFor(r)
		if _, err := s.store.GetPlanRun(r.Context(), id); err != nil {
			return err
		}
		var run *apiv1.PlanRun
		var err error
		switch action {
		case "retry", "skip":
			members, merr := planRunMembers(r)
			if merr != nil {
				return merr
			}
			if action == "retry" {
				run, err = s.runs.Retry(r.Context(), id, members, who)
			} else {
				run, err = s.runs.Skip(r.Context(), id, members, who)
			}
		default:
			if r.ContentLength > 0 {
				var empty struct{}
				if err := decodeJSON(r, &empty); err != nil {
					return err
				}
			}
			switch action {
			case "continue":
				run, err = s.runs.Continue(r.Context(), id, who)
			case "cancel":
				run, err = s.runs.Cancel(r.Context(), id, who)
			case "rollback":
				run, err = s.runs.Rollback(r.Context(), id, who)
			}
		}
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusAccepted, run)
		return nil
	}
}
