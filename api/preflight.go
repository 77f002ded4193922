package api

import (
	"net/http"

	"github.com/go-chi/chi/v5"

	"github.com/ossea/unifiedfailover/api/apiv1"
	"github.com/ossea/unifiedfailover/errs"
	"github.com/ossea/unifiedfailover/failover"
	"github.com/ossea/unifiedfailover/store"
)

// failoverTypeParam reads the {failover_type} path parameter.
func failoverTypeParam(r *http.Request) (failover.Type, error) {
	t := failover.Type(chi.URLParam(r, "failover_type"))
	if t != failover.Test && t != failover.Live {
		return "", errs.Field("failover_type", "must be test or live")
	}
	return t, nil
}

// typeAndVM reads the {failover_type} and {vm} path parameters; the
// engine resolves the VM (a name or a context id).
func typeAndVM(r *http.Request) (failover.Type, string, error) {
	typ, err := failoverTypeParam(r)
	if err != nil {
		return "", "", err
	}
	name, err := pathName(r, "vm")
	return typ, name, err
}

// vmParam resolves the {vm} path parameter (a VM name or a context id).
func (s *Server) vmParam(r *http.Request, key string) (*store.VMContext, error) {
	name, err := pathName(r, key)
	if err != nil {
		return nil, err
	}
	return s.store.ResolveContext(r.Context(), name)
}

func (s *Server) preflightConfig(w http.ResponseWriter, r *http.Request) error {
	typ, name, err := typeAndVM(r)
	if err != nil {
		return err
	}
	p, err := s.engine.PlanFailover(r.Context(), failover.FailoverRequest{VMName: name, FailoverType: typ})
	if err != nil {
		return err
	}
	nics := p.Config.NICs
	if nics == nil {
		nics = []failover.NICPlan{}
	}
	writeJSON(w, http.StatusOK, apiv1.PreflightConfig{ContextID: p.ContextID, VMName: p.VMName, FailoverType: typ,
		ContextStatus: p.ContextStatus(), Defaults: configOut(p.Config), Options: failover.FailoverOptions(p.Config),
		Networks: nics, Steps: plannedSteps(p.Steps), Preflight: reportOut(p.Preflight), ApprovalRequired: p.ApprovalRequired})
	return nil
}

// decodeFailoverRequest reads a failover request's body and checks its
// shape.
func decodeFailoverRequest(r *http.Request) (apiv1.FailoverRequest, error) {
	var req apiv1.FailoverRequest
	if err := decodeJSON(r, &req); err != nil {
		return req, err
	}
	return req, checkFailoverRequest(&req)
}

// checkFailoverRequest checks a failover request's shape before anything
// is read.
func checkFailoverRequest(req *apiv1.FailoverRequest) error {
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
	writeJSON(w, http.StatusOK, apiv1.Validation{Valid: p.Preflight.Gate(p.Config.SkipValidation) == nil, ContextID: p.ContextID,
		VMName: p.VMName, Config: configOut(p.Config), Preflight: reportOut(p.Preflight), Steps: plannedSteps(p.Steps),
		ApprovalRequired: p.ApprovalRequired, Approval: p.Approval})
	return nil
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
	name, err := pathName(r, "vm")
	if err != nil {
		return err
	}
	p, err := s.engine.PlanFailover(r.Context(), failover.FailoverRequest{VMName: name, FailoverType: typ})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, apiv1.ReadinessReport{ContextID: p.ContextID, VMName: p.VMName, FailoverType: typ,
		ContextStatus: p.ContextStatus(), Ready: p.Preflight.Passed, Preflight: reportOut(p.Preflight)})
	return nil
}

func (s *Server) rollbackDecision(w http.ResponseWriter, r *http.Request) error {
	typ, name, err := typeAndVM(r)
	if err != nil {
		return err
	}
	d, err := s.engine.DecideRollback(r.Context(), typ, name)
	if err != nil {
		return err
	}
	out := apiv1.RollbackDecision{ContextID: d.VM.ContextID, VMName: d.VM.VMName, FailoverType: typ,
		ContextStatus: d.VM.CurrentStatus, Options: failover.RollbackOptionInfos(typ), Steps: []apiv1.PlannedStep{},
		CanRollback: d.CanRollback, CanRetry: d.CanRetry, CanCommit: d.CanCommit, Reason: d.Reason}
	if d.Failover != nil {
		out.Failover = failoverJobOut(d.Failover)
	}
	if d.Plan != nil {
		out.Steps = plannedSteps(d.Plan.Steps)
		out.ApprovalRequired, out.Approval = d.Plan.ApprovalRequired, d.Plan.Approval
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// checkRollbackRequest checks a rollback request's shape.
func checkRollbackRequest(req *apiv1.RollbackRequest) error {
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
