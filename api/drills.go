package api

import (
	"net/http"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/ossea/unifiedfailover/api/apiv1"
	"github.com/ossea/unifiedfailover/drill"
	"github.com/ossea/unifiedfailover/errs"
	"github.com/ossea/unifiedfailover/store"
)

// viewDrill is a schedule as the API shows it, with its next tick and
// last run.
func (s *Server) viewDrill(r *http.Request, d *store.DrillSchedule) (apiv1.Drill, error) {
	var next *time.Time
	if d.Enabled {
		if t := drill.NextTick(d, time.Now()); !t.IsZero() {
			next = &t
		}
	}
	runs, err := s.store.ListDrillRuns(r.Context(), d.ID, 1)
	if err != nil {
		return apiv1.Drill{}, err
	}
	var last *store.DrillRun
	if len(runs) > 0 {
		last = runs[0]
	}
	return drillOut(d, next, last), nil
}

func (s *Server) listDrills(w http.ResponseWriter, r *http.Request) error {
	ds, err := s.store.ListDrillSchedules(r.Context(), false)
	if err != nil {
		return err
	}
	out := apiv1.DrillList{Drills: make([]apiv1.Drill, 0, len(ds))}
	for _, d := range ds {
		v, err := s.viewDrill(r, d)
		if err != nil {
			return err
		}
		out.Drills = append(out.Drills, v)
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) getDrill(w http.ResponseWriter, r *http.Request) error {
	d, err := s.store.GetDrillSchedule(r.Context(), chi.URLParam(r, "id"))
	if err != nil {
		return err
	}
	v, err := s.viewDrill(r, d)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, v)
	return nil
}

func (s *Server) createDrill(w http.ResponseWriter, r *http.Request) error {
	var sp apiv1.DrillSpec
	if err := decodeJSON(r, &sp); err != nil {
		return err
	}
	d, err := drill.Validate(r.Context(), s.store, sp)
	if err != nil {
		return err
	}
	d.CreatedBy = actorOf(r)
	if err := s.store.CreateDrillSchedule(r.Context(), d); err != nil {
		return err
	}
	s.log.InfoContext(r.Context(), "drill schedule created", "schedule_id", d.ID, "name", d.Name, "actor", d.CreatedBy)
	v, err := s.viewDrill(r, d)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, v)
	return nil
}

func (s *Server) updateDrill(w http.ResponseWriter, r *http.Request) error {
	old, err := s.store.GetDrillSchedule(r.Context(), chi.URLParam(r, "id"))
	if err != nil {
		return err
	}
	var sp apiv1.DrillSpec
	if err := decodeJSON(r, &sp); err != nil {
		return err
	}
	d, err := drill.Validate(r.Context(), s.store, sp)
	if err != nil {
		return err
	}
	d.ID = old.ID
	if err := s.store.UpdateDrillSchedule(r.Context(), d); err != nil {
		return err
	}
	s.log.InfoContext(r.Context(), "drill schedule updated", "schedule_id", d.ID, "name", d.Name, "actor", actorOf(r))
	v, err := s.viewDrill(r, d)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, v)
	return nil
}

func (s *Server) deleteDrill(w http.ResponseWriter, r *http.Request) error {
	id := chi.URLParam(r, "id")
	if err := s.store.DeleteDrillSchedule(r.Context(), id); err != nil {
		return err
	}
	s.log.InfoContext(r.Context(), "drill schedule deleted", "schedule_id", id, "actor", actorOf(r))
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// runDrill runs a schedule now. A schedule whose previous run has not
// ended gets Conflict naming that run.
func (s *Server) runDrill(w http.ResponseWriter, r *http.Request) error {
	d, err := s.store.GetDrillSchedule(r.Context(), chi.URLParam(r, "id"))
	if err != nil {
		return err
	}
	if active, err := s.store.ActiveDrillRun(r.Context(), d.ID); err == nil {
		return errs.New(errs.Conflict, "drill %s has a run that has not ended: %s", d.Name, active.ID).
			WithDetails("active_run_id", active.ID)
	} else if !errs.Is(err, errs.NotFound) {
		return err
	}
	run, _, err := drill.StartRun(r.Context(), s.store, s.runner, d, time.Now().UTC().Truncate(time.Millisecond),
		drill.TriggerManual, actorOf(r))
	if err != nil {
		return err
	}
	s.log.InfoContext(r.Context(), "drill run started", "schedule_id", d.ID, "run_id", run.ID, "job_id", run.JobID, "actor", actorOf(r))
	writeJSON(w, http.StatusAccepted, drillRunOut(run, nil))
	return nil
}

func (s *Server) listDrillRuns(w http.ResponseWriter, r *http.Request) error {
	d, err := s.store.GetDrillSchedule(r.Context(), chi.URLParam(r, "id"))
	if err != nil {
		return err
	}
	limit, err := queryInt(r, "limit", 50)
	if err != nil {
		return err
	}
	runs, err := s.store.ListDrillRuns(r.Context(), d.ID, limit)
	if err != nil {
		return err
	}
	out := apiv1.DrillRunList{Runs: make([]apiv1.DrillRunInfo, 0, len(runs))}
	for _, run := range runs {
		out.Runs = append(out.Runs, runInfoOut(run))
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) drillRun(r *http.Request) (*store.DrillRun, *drill.Report, error) {
	run, err := s.store.GetDrillRun(r.Context(), chi.URLParam(r, "run_id"))
	if err != nil {
		return nil, nil, err
	}
	rep, err := drill.BuildReport(r.Context(), s.store, run)
	if err != nil {
		return nil, nil, err
	}
	return run, rep, nil
}

func (s *Server) getDrillRun(w http.ResponseWriter, r *http.Request) error {
	run, rep, err := s.drillRun(r)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, drillRunOut(run, rep))
	return nil
}

func (s *Server) drillReportHTML(w http.ResponseWriter, r *http.Request) error {
	_, rep, err := s.drillRun(r)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; img-src data:")
	w.WriteHeader(http.StatusOK)
	if err := drill.WriteHTML(w, rep); err != nil {
		s.log.ErrorContext(r.Context(), "writing a drill report", "error", err)
	}
	return nil
}
