package api

import (
	"net/http"

	"github.com/go-chi/chi/v5"

	"github.com/ossea/unifiedfailover/errs"
	"github.com/ossea/unifiedfailover/failover"
	"github.com/ossea/unifiedfailover/store"
)

// stepView is a planned step as the operator's routes show it.
type stepView struct {
	Name       string `json:"name"`
	SkipReason string `json:"skip_reason,omitempty"`
}

func viewSteps(ps []store.PlannedStep) []stepView {
	out := make([]stepView, 0, len(ps))
	for _, p := range ps {
		out = append(out, stepView{Name: p.Name, SkipReason: p.SkipReason})
	}
	return out
}

// failoverTypeParam reads the {failover_type} path parameter.
func failoverTypeParam(r *http.Request) (failover.Type, error) {
	t := failover.Type(chi.URLParam(r, "failover_type"))
	if t != failover.Test && t != failover.Live {
		return "", errs.Field("failover_type", "must be test or live")
	}
	return t, nil
}

// typeAndVM reads the {failover_type} and {vm} path parameters.
func (s *Server) typeAndVM(r *http.Request) (failover.Type, *store.VMContext, error) {
	typ, err := failoverTypeParam(r)
	if err != nil {
		return "", nil, err
	}
	vm, err := s.vmParam(r, "vm")
	return typ, vm, err
}

// vmParam resolves the {vm} path parameter (a VM name or a context id).
func (s *Server) vmParam(r *http.Request, key string) (*store.VMContext, error) {
	name, err := pathName(r, key)
	if err != nil {
		return nil, err
	}
	return s.store.ResolveContext(r.Context(), name)
}

// preflightConfigBody is what a failover of a VM would use by default.
type preflightConfigBody struct {
	ContextID        string                `json:"context_id"`
	VMName           string                `json:"vm_name"`
	FailoverType     failover.Type         `json:"failover_type"`
	ContextStatus    store.ContextStatus   `json:"context_status"`
	Defaults         *failover.Config      `json:"defaults"`
	Options          []failover.OptionInfo `json:"options"`
	Networks         []failover.NICPlan    `json:"networks"`
	Steps            []stepView            `json:"steps"`
	Preflight        *failover.Report      `json:"preflight"`
	ApprovalRequired bool                  `json:"approval_required"`
}

func (s *Server) preflightConfig(w http.ResponseWriter, r *http.Request) error {
	typ, vm, err := s.typeAndVM(r)
	if err != nil {
		return err
	}
	p, err := s.engine.PlanFailover(r.Context(), failover.FailoverRequest{ContextID: vm.ContextID, FailoverType: typ})
	if err != nil {
		return err
	}
	nics := p.Config.NICs
	if nics == nil {
		nics = []failover.NICPlan{}
	}
	writeJSON(w, http.StatusOK, preflightConfigBody{ContextID: vm.ContextID, VMName: vm.VMName, FailoverType: typ,
		ContextStatus: vm.CurrentStatus, Defaults: p.Config, Options: failover.FailoverOptions(p.Config),
		Networks: nics, Steps: viewSteps(p.Steps), Preflight: p.Preflight, ApprovalRequired: p.ApprovalRequired})
	return nil
}

// validateBody is the verdict on a proposed failover.
type validateBody struct {
	Valid            bool             `json:"valid"`
	ContextID        string           `json:"context_id"`
	VMName           string           `json:"vm_name"`
	Config           *failover.Config `json:"config"`
	Preflight        *failover.Report `json:"preflight"`
	Steps            []stepView       `json:"steps"`
	ApprovalRequired bool             `json:"approval_required"`
	Approval         string           `json:"approval,omitempty"`
}

// decodeFailoverRequest reads a failover request's body and checks its
// shape.
func decodeFailoverRequest(r *http.Request) (failover.FailoverRequest, error) {
	var req failover.FailoverRequest
	if err := decodeJSON(r, &req); err != nil {
		return req, err
	}
	return req, checkFailoverRequest(&req)
}

// checkFailoverRequest checks a failover request's shape before anything
// is read.
func checkFailoverRequest(req *failover.FailoverRequest) error {
	if req.FailoverType != failover.Test && req.FailoverType != failover.Live {
		return errs.Field("failover_type", "must be test or live")
	}
	if req.ContextID == "" && req.VMName == "" && req.VMwareVMID == "" {
		return errs.Field("context_id", "context_id, vm_name or vmware_vm_id is required")
	}
	for _, f := range []struct{ name, v string }{{"context_id", req.ContextID}, {"vm_name", req.VMName},
		{"vmware_vm_id", req.VMwareVMID}, {"vm_naming", req.VMNaming}} {
		if err := checkOptionalName(f.name, f.v); err != nil {
			return err
		}
	}
	for i, m := range req.NetworkMappings {
		if err := checkName(indexed("network_mappings", i, "source_network_name"), m.SourceNetworkName); err != nil {
			return err
		}
		if err := checkName(indexed("network_mappings", i, "destination_network_id"), m.DestinationNetworkID); err != nil {
			return err
		}
	}
	return nil
}

func (s *Server) preflightValidate(w http.ResponseWriter, r *http.Request) error {
	req, err := decodeFailoverRequest(r)
	if err != nil {
		return err
	}
	p, err := s.engine.PlanFailover(r.Context(), req)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, validateBody{Valid: p.Preflight.Gate(p.Config.SkipValidation) == nil, ContextID: p.ContextID,
		VMName: p.VMName, Config: p.Config, Preflight: p.Preflight, Steps: viewSteps(p.Steps),
		ApprovalRequired: p.ApprovalRequired, Approval: p.Approval})
	return nil
}

// readinessBody is a VM's pre-flight report.
type readinessBody struct {
	ContextID     string              `json:"context_id"`
	VMName        string              `json:"vm_name"`
	FailoverType  failover.Type       `json:"failover_type"`
	ContextStatus store.ContextStatus `json:"context_status"`
	Ready         bool                `json:"ready"`
	Preflight     *failover.Report    `json:"preflight"`
}

func (s *Server) readiness(w http.ResponseWriter, r *http.Request) error {
	q, err := parseQuery(r, "failover_type")
	if err != nil {
		return err
	}
	t, err := q.enum("failover_type", string(failover.Test), string(failover.Live))
	if err != nil {
		return err
	}
	typ := failover.Test
	if t != "" {
		typ = failover.Type(t)
	}
	vm, err := s.vmParam(r, "vm")
	if err != nil {
		return err
	}
	p, err := s.engine.PlanFailover(r.Context(), failover.FailoverRequest{ContextID: vm.ContextID, FailoverType: typ})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, readinessBody{ContextID: vm.ContextID, VMName: vm.VMName, FailoverType: typ,
		ContextStatus: vm.CurrentStatus, Ready: p.Preflight.Passed, Preflight: p.Preflight})
	return nil
}

// rollbackDecisionBody explains what the operator may decide about a VM's
// latest failover of one type.
type rollbackDecisionBody struct {
	ContextID        string                `json:"context_id"`
	VMName           string                `json:"vm_name"`
	FailoverType     failover.Type         `json:"failover_type"`
	ContextStatus    store.ContextStatus   `json:"context_status"`
	Failover         *store.FailoverJob    `json:"failover,omitempty"`
	CanRollback      bool                  `json:"can_rollback"`
	CanRetry         bool                  `json:"can_retry"`
	CanCommit        bool                  `json:"can_commit"`
	Reason           string                `json:"reason,omitempty"`
	ApprovalRequired bool                  `json:"approval_required"`
	Approval         string                `json:"approval,omitempty"`
	Options          []failover.OptionInfo `json:"options"`
	Steps            []stepView            `json:"steps"`
}

func (s *Server) rollbackDecision(w http.ResponseWriter, r *http.Request) {
	typ, vm, err := s.typeAndVM(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out := rollbackDecisionBody{ContextID: vm.ContextID, VMName: vm.VMName, FailoverType: typ,
		ContextStatus: vm.CurrentStatus, Options: failover.RollbackOptionInfos(typ), Steps: []stepView{}}
	fo, err := s.store.LatestFailover(r.Context(), vm.ContextID)
	switch {
	case errs.Is(err, errs.NotFound):
		out.Reason = "the VM has no failover"
		writeJSON(w, http.StatusOK, out)
		return
	case err != nil:
		s.writeError(w, r, err)
		return
	}
	out.Failover = fo
	if fo.FailoverType != string(typ) {
		out.Reason = "the VM's latest failover " + fo.ExternalJobID + " is a " + fo.FailoverType + " failover"
		writeJSON(w, http.StatusOK, out)
		return
	}
	out.CanRetry = fo.Status == store.FailoverFailed
	out.CanCommit = typ == failover.Live && fo.Status == store.FailoverCompleted
	p, _, err := s.engine.PlanRollback(r.Context(), failover.RollbackRequest{ContextID: vm.ContextID})
	switch c := errs.CodeOf(err); {
	case err == nil:
		out.CanRollback = true
		out.Steps = viewSteps(p.Steps)
		out.ApprovalRequired, out.Approval = p.ApprovalRequired, p.Approval
	case c == errs.FailedPrecondition || c == errs.Conflict:
		out.Reason = err.Error()
	default:
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

// checkRollbackRequest checks a rollback request's shape.
func checkRollbackRequest(req *failover.RollbackRequest) error {
	if req.ContextID == "" && req.VMName == "" && req.VMID == "" && req.VMwareVMID == "" {
		return errs.Field("context_id", "context_id, vm_name, vm_id or vmware_vm_id is required")
	}
	for _, f := range []struct{ name, v string }{{"context_id", req.ContextID}, {"vm_name", req.VMName},
		{"vm_id", req.VMID}, {"vmware_vm_id", req.VMwareVMID}} {
		if err := checkOptionalName(f.name, f.v); err != nil {
			return err
		}
	}
	if req.FailoverType != "" && req.FailoverType != failover.Test && req.FailoverType != failover.Live {
		return errs.Field("failover_type", "must be test or live")
	}
	if len(req.Reason) > 4096 {
		return errs.Field("reason", "at most 4096 bytes")
	}
	return nil
}
