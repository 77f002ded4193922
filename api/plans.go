package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/ossea/unifiedfailover/api/apiv1"
	"github.com/ossea/unifiedfailover/errs"
	"github.com/ossea/unifiedfailover/recovery"
	"github.com/ossea/unifiedfailover/store"
)

// Recovery plans (issue 19, the definitions): a plan is stored as written
// (its defaults are not filled in the store, so a later default applies to
// it); recovery.WithDefaults fills them wherever the plan is read to be
// checked or run. A plan whose shape has a blocker (recovery.CheckSpec) is
// refused; whether its VMs can fail over now is what validate says,
// since a plan may name VMs that are registered later.

// planETag is a plan version's entity tag.
func planETag(version int) string { return fmt.Sprintf(`"v%d"`, version) }

// writePlan answers a plan with its ETag.
func writePlan(w http.ResponseWriter, status int, p *apiv1.RecoveryPlan) {
	w.Header().Set("ETag", planETag(p.Version))
	writeJSON(w, status, p)
}

// decodePlanSpec decodes a plan and refuses it, changing nothing, when its
// shape has blockers: InvalidArgument naming the first blocker's field,
// every blocker in the details ("blockers").
func decodePlanSpec(r *http.Request) (apiv1.PlanSpec, error) {
	var spec apiv1.PlanSpec
	if err := decodeJSON(r, &spec); err != nil {
		return spec, err
	}
	if err := checkName("name", spec.Name); err != nil {
		return spec, err
	}
	blockers, _ := recovery.CheckSpec(recovery.WithDefaults(spec))
	if len(blockers) == 0 {
		return spec, nil
	}
	msgs := make([]string, len(blockers))
	for i, b := range blockers {
		msgs[i] = b.Field + ": " + b.Message
	}
	return spec, errs.New(errs.InvalidArgument, "the plan cannot run: %s", strings.Join(msgs, "; ")).
		WithDetails("field", blockers[0].Field, "blockers", blockers)
}

// plan reads the plan of the path's {id}, an id or a name.
func (s *Server) plan(r *http.Request) (*apiv1.RecoveryPlan, error) {
	id, err := pathName(r, "id")
	if err != nil {
		return nil, err
	}
	return s.store.GetRecoveryPlan(r.Context(), id)
}

func (s *Server) listPlans(w http.ResponseWriter, r *http.Request) error {
	ps, err := s.store.ListRecoveryPlans(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, apiv1.PlanList{Plans: ps})
	return nil
}

func (s *Server) getPlan(w http.ResponseWriter, r *http.Request) error {
	p, err := s.plan(r)
	if err != nil {
		return err
	}
	writePlan(w, http.StatusOK, p)
	return nil
}

func (s *Server) createPlan(w http.ResponseWriter, r *http.Request) error {
	spec, err := decodePlanSpec(r)
	if err != nil {
		return err
	}
	p, err := s.store.CreateRecoveryPlanAudited(r.Context(), spec, actorOf(r), store.Decision{Decision: "plan-create", Actor: actorOf(r)})
	if err != nil {
		return err
	}
	s.log.InfoContext(r.Context(), "recovery plan created", "plan_id", p.ID, "name", p.Name, "actor", actorOf(r))
	w.Header().Set("Location", "/api/v1/plans/"+p.ID)
	writePlan(w, http.StatusCreated, p)
	return nil
}

// ifMatchVersion reads the plan version an edit is for from If-Match
// ("v<version>", the plan's ETag): without it 428, malformed 400.
func ifMatchVersion(r *http.Request) (int, error) {
	h := strings.TrimSpace(r.Header.Get("If-Match"))
	if h == "" {
		return 0, errs.New(errs.PreconditionRequired, `an edit of a plan needs If-Match: "v<version>", the ETag of the version it edits (GET the plan)`).
			WithDetails("field", "If-Match")
	}
	v, err := strconv.Atoi(strings.TrimPrefix(strings.Trim(h, `"`), "v"))
	if err != nil || v < 1 || !strings.HasPrefix(h, `"v`) || !strings.HasSuffix(h, `"`) {
		return 0, errs.Field("If-Match", `must be a plan's ETag such as "v3", not %s`, h)
	}
	return v, nil
}

func (s *Server) updatePlan(w http.ResponseWriter, r *http.Request) error {
	old, err := s.plan(r)
	if err != nil {
		return err
	}
	version, err := ifMatchVersion(r)
	if err != nil {
		return err
	}
	spec, err := decodePlanSpec(r)
	if err != nil {
		return err
	}
	p, err := s.store.UpdateRecoveryPlanAudited(r.Context(), old.ID, version, spec, store.Decision{Decision: "plan-update", Actor: actorOf(r)})
	var e *errs.Error
	if errs.Is(err, errs.FailedPrecondition) && errors.As(err, &e) && e.Details["version"] != nil {
		cur := e.Details["version"]
		return errs.New(errs.PreconditionFailed, "%s", e.Msg).WithDetails("version", cur, "etag", fmt.Sprintf(`"v%v"`, cur))
	}
	if err != nil {
		return err
	}
	s.log.InfoContext(r.Context(), "recovery plan updated", "plan_id", p.ID, "name", p.Name, "version", p.Version, "actor", actorOf(r))
	writePlan(w, http.StatusOK, p)
	return nil
}

// planInUse refuses to delete a plan while it has an unfinished run
// (Conflict naming the run). A finished run stays as history: its plan_id
// is set to NULL when the plan goes.
func (s *Server) planInUse(ctx context.Context, p *apiv1.RecoveryPlan) error {
	id, err := s.store.PlanHasUnfinishedRun(ctx, p.ID)
	if err != nil {
		return err
	}
	if id != "" {
		return errs.New(errs.Conflict, "recovery plan %s has an unfinished run %s: roll it back or cancel it first", p.Name, id).
			WithDetails("run_id", id)
	}
	return nil
}

// deletePlan deletes a plan, unless planInUse refuses it.
func (s *Server) deletePlan(w http.ResponseWriter, r *http.Request) error {
	p, err := s.plan(r)
	if err != nil {
		return err
	}
	if err := s.planInUse(r.Context(), p); err != nil {
		return err
	}
	if err := s.store.DeleteRecoveryPlanAudited(r.Context(), p.ID, store.Decision{Decision: "plan-delete", Actor: actorOf(r)}); err != nil {
		return err
	}
	s.log.InfoContext(r.Context(), "recovery plan deleted", "plan_id", p.ID, "name", p.Name, "actor", actorOf(r))
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// validatePlan validates a stored plan against the state now, for a test
// run, a live run or both (recovery.Checker.Validate): no side effects.
func (s *Server) validatePlan(w http.ResponseWriter, r *http.Request) error {
	p, err := s.plan(r)
	if err != nil {
		return err
	}
	var req apiv1.PlanValidateRequest
	if r.ContentLength != 0 {
		if err := decodeJSON(r, &req); err != nil {
			return err
		}
	}
	v, err := recovery.Checker{Store: s.store, RPOTarget: s.cfg.RPOTarget}.Validate(r.Context(), p.PlanSpec, req.Mode)
	if err != nil {
		return err
	}
	w.Header().Set("ETag", planETag(p.Version))
	writeJSON(w, http.StatusOK, v)
	return nil
}
