package failover

import (
	"fmt"
	"strings"

	"github.com/ossea/unifiedfailover/auth"
	"github.com/ossea/unifiedfailover/errs"
)

// The approval rule: what an operation needs follows what it does, never
// its label. An operation that changes production or destroys a way back
// needs the admin role and "confirm": "<vm name>"; any other operation
// on a VM needs the operator role. approvalFor is the only place that
// decides it; every Plan carries its verdict.

// Effects are what an operation does to production or to the way back.
type Effects struct {
	// TouchesSource: it powers off, syncs from, or powers on the source VM.
	TouchesSource bool `json:"touches_source,omitempty"`
	// ProductionNetwork: it puts a VM on a production network.
	ProductionNetwork bool `json:"production_network,omitempty"`
	// DestroysProduction: it destroys the VM that serves production (the
	// destination of a live failover).
	DestroysProduction bool `json:"destroys_production,omitempty"`
	// DestroysRollbackPoint: it deletes the snapshots a rollback needs.
	DestroysRollbackPoint bool `json:"destroys_rollback_point,omitempty"`
	// ForcesCleanup: it goes past errors, leaving what it cannot clean.
	ForcesCleanup bool `json:"forces_cleanup,omitempty"`
}

// list names the effects, in a fixed order.
func (fx Effects) list() []string {
	var out []string
	for _, e := range []struct {
		on   bool
		what string
	}{
		{fx.TouchesSource, "touches the source VM"},
		{fx.ProductionNetwork, "puts a VM on a production network"},
		{fx.DestroysProduction, "destroys the VM serving production"},
		{fx.DestroysRollbackPoint, "destroys the rollback points"},
		{fx.ForcesCleanup, "forces a cleanup past errors"},
	} {
		if e.on {
			out = append(out, e.what)
		}
	}
	return out
}

// Approval is what an operation needs before it runs.
type Approval struct {
	// Role is the least role that may run it.
	Role auth.Role `json:"role"`
	// Confirm: the request must carry "confirm": "<vm name>".
	Confirm bool `json:"confirm"`
	// Effects are why.
	Effects []string `json:"effects,omitempty"`
}

// approvalFor is the approval rule.
func approvalFor(fx Effects) Approval {
	if why := fx.list(); len(why) > 0 {
		return Approval{Role: auth.Admin, Confirm: true, Effects: why}
	}
	return Approval{Role: auth.Operator}
}

// failoverEffects are a resolved failover's effects.
func failoverEffects(cfg *Config) Effects {
	return Effects{TouchesSource: cfg.PowerOffSource || cfg.PerformFinalSync,
		ProductionNetwork: cfg.NetworkStrategy == NetworkProduction || cfg.AllowNonIsolatedNetwork}
}

// rollbackEffects are a rollback's effects: undoing a live failover
// destroys the VM serving production and powers the source back on.
func rollbackEffects(typ Type, opts RollbackOptions) Effects {
	return Effects{DestroysProduction: typ == Live, TouchesSource: typ == Live && opts.PowerOnSource,
		ForcesCleanup: opts.ForceCleanup}
}

// commitEffects are a commit's effects.
func commitEffects() Effects { return Effects{DestroysRollbackPoint: true} }

// Actor is who asks for an operation: a token's name and role, or a
// part of the product (a drill, an auto-rollback).
type Actor struct {
	Name string
	Role auth.Role
}

// System is an actor that is a part of the product. It runs only what an
// operator may: drills and time-boxed tests never change production.
func System(name string) Actor { return Actor{Name: name, Role: auth.Operator} }

// setApproval records the rule's verdict on a plan.
func (p *Plan) setApproval(fx Effects) {
	p.Effects, p.Needs = fx, approvalFor(fx)
	p.ApprovalRequired = p.Needs.Confirm
	p.Approval = ""
	if p.Needs.Confirm {
		p.Approval = fmt.Sprintf("%s %s: it needs the %s role and \"confirm\": %q", p.Operation,
			strings.Join(p.Needs.Effects, ", "), p.Needs.Role, p.VMName)
	}
}

// authorize checks an actor and a confirm against the plan's approval:
// the role first (403), then the confirm (428, with the plan).
func (p *Plan) authorize(actor Actor, confirm string) error {
	if err := p.permit(actor); err != nil {
		return err
	}
	if p.Needs.Confirm && confirm != p.VMName {
		return errs.New(errs.ApprovalRequired, "%s", p.Approval).WithDetails("plan", p)
	}
	return nil
}

// permit checks the actor's role against the plan's approval.
func (p *Plan) permit(actor Actor) error {
	if actor.Role.Allows(p.Needs.Role) {
		return nil
	}
	what := p.Operation
	if len(p.Needs.Effects) > 0 {
		what += " (" + strings.Join(p.Needs.Effects, ", ") + ")"
	}
	return errs.New(errs.PermissionDenied, "%s needs the %s role; %s is %s", what, p.Needs.Role, actor.Name, actor.Role)
}
