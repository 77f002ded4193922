package recovery

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/ossea/unifiedfailover/api/apiv1"
	"github.com/ossea/unifiedfailover/errs"
	"github.com/ossea/unifiedfailover/store"
)

// Checker validates plans against the state in the store (Validate). It
// only reads.
type Checker struct {
	Store *store.Store
	// RPOTarget is the RPO target of a VM without one of its own
	// (FAILOVER_RPO_TARGET). Defaults to store.DefaultRPOTarget.
	RPOTarget time.Duration
	// Now defaults to time.Now.
	Now func() time.Time
}

// Validate is Checker{Store: st}.Validate.
func Validate(ctx context.Context, st *store.Store, spec apiv1.PlanSpec, mode string) (*apiv1.PlanValidation, error) {
	return Checker{Store: st}.Validate(ctx, spec, mode)
}

// Modes returns the run modes a validation of mode covers: test, live, or
// both for "". Another mode is InvalidArgument naming field "mode".
func Modes(mode string) ([]string, error) {
	switch mode {
	case "":
		return []string{apiv1.ModeTest, apiv1.ModeLive}, nil
	case apiv1.ModeTest, apiv1.ModeLive:
		return []string{mode}, nil
	default:
		return nil, errs.Field("mode", "must be test or live (or empty for both), not %q", mode)
	}
}

// Validate checks a plan as written (its defaults are filled here) for a
// run of mode (ModeTest, ModeLive, or "" for both) without changing
// anything: CheckSpec's blockers and warnings, then, for each member, what
// the single-VM engine's pre-flight would refuse on the state the store
// holds now:
//   - the VM resolves to one context (by id, VMware UUID or name), and no
//     two members resolve to the same one;
//   - the context is ready_for_failover (the context-status check);
//   - the VM is in no active job (the active-job check; the issue names
//     the job);
//   - the context has disks (the replicas check);
//   - each NIC's source network has a mapping of the mode's type, test
//     mappings for a test run and live ones for a live run (the networks
//     check fails a failover with a NIC unmapped);
//
// and warns when the VM's replication is behind its RPO target or its RPO
// is unknown: a test run boots a copy that old, and a live run's failover
// of that member fails its rpo check unless the run accepts the RPO for
// that member (accept_rpo is per member, in the run's request).
//
// What only CloudStack or vCenter can tell (the destination networks
// exist, the replicas are attachable, a worker can run every step) is
// checked by each member's pre-flight when the run starts it.
func (c Checker) Validate(ctx context.Context, spec apiv1.PlanSpec, mode string) (*apiv1.PlanValidation, error) {
	modes, err := Modes(mode)
	if err != nil {
		return nil, err
	}
	target := c.RPOTarget
	if target <= 0 {
		target = store.DefaultRPOTarget
	}
	now := time.Now
	if c.Now != nil {
		now = c.Now
	}
	p := WithDefaults(spec)
	blockers, warnings := CheckSpec(p)
	block := func(field, member, format string, args ...any) {
		blockers = append(blockers, apiv1.PlanIssue{Field: field, Members: []string{member}, Message: fmt.Sprintf(format, args...)})
	}
	warn := func(field, member, format string, args ...any) {
		warnings = append(warnings, apiv1.PlanIssue{Field: field, Members: []string{member}, Message: fmt.Sprintf(format, args...)})
	}
	memberOf := map[string]string{} // context id → member id
	for i, w := range p.Waves {
		for j, m := range w.Members {
			if strings.TrimSpace(m.VM) == "" {
				continue // CheckSpec's blocker
			}
			f := fmt.Sprintf("waves[%d].members[%d].vm", i, j)
			vm, err := c.Store.ResolveContext(ctx, m.VM)
			switch {
			case errs.Is(err, errs.NotFound):
				block(f, m.ID, "member %s: no VM context with id or name %q (register the VM first)", m.ID, m.VM)
				continue
			case errs.Is(err, errs.InvalidArgument):
				block(f, m.ID, "member %s: %v", m.ID, err)
				continue
			case err != nil:
				return nil, err
			}
			if other, dup := memberOf[vm.ContextID]; dup {
				blockers = append(blockers, apiv1.PlanIssue{Field: f, Members: []string{other, m.ID},
					Message: fmt.Sprintf("members %s and %s are the same VM %s (context %s)", other, m.ID, vm.VMName, vm.ContextID)})
				continue
			}
			memberOf[vm.ContextID] = m.ID
			if vm.CurrentStatus != store.StatusReadyForFailover {
				block(f, m.ID, "member %s: VM %s (context %s) is %s; a failover needs ready_for_failover",
					m.ID, vm.VMName, vm.ContextID, vm.CurrentStatus)
			}
			switch job, err := c.Store.ActiveJob(ctx, vm.ContextID); {
			case errs.Is(err, errs.NotFound):
			case err != nil:
				return nil, err
			default:
				block(f, m.ID, "member %s: VM %s is in the active %s job %s (%s)", m.ID, vm.VMName, job.Type, job.ExternalID, job.ID)
			}
			if len(vm.Disks) == 0 {
				block(f, m.ID, "member %s: VM context %s has no disks", m.ID, vm.ContextID)
			}
			if err := c.checkMappings(ctx, vm, modes, func(format string, args ...any) { block(f, m.ID, format, args...) }, m.ID); err != nil {
				return nil, err
			}
			if rep := vm.Replication(now(), target); rep.Behind() {
				what := "unknown (a disk never reported a sync)"
				if rep.RPO != nil {
					what = fmt.Sprintf("%s, beyond its target %s", rep.RPO.Round(time.Second), rep.Target)
				}
				var why []string
				for _, md := range modes {
					switch md {
					case apiv1.ModeTest:
						why = append(why, "a test run boots a copy that old")
					case apiv1.ModeLive:
						why = append(why, "a live run's failover of it fails its rpo check unless the run accepts the RPO for this member (accept_rpo is per member, in the run)")
					}
				}
				warn(f, m.ID, "member %s: the RPO of VM %s is %s: %s", m.ID, vm.VMName, what, strings.Join(why, "; "))
			}
		}
	}
	if blockers == nil {
		blockers = []apiv1.PlanIssue{}
	}
	if warnings == nil {
		warnings = []apiv1.PlanIssue{}
	}
	return &apiv1.PlanValidation{Valid: len(blockers) == 0, Blockers: blockers, Warnings: warnings}, nil
}

// checkMappings blocks a member whose NIC has no stored mapping of a
// mode's type: the failover would get no destination network for it.
func (c Checker) checkMappings(ctx context.Context, vm *store.VMContext, modes []string, block func(format string, args ...any), id string) error {
	if len(vm.NICs) == 0 {
		return nil
	}
	for _, md := range modes {
		typ := store.MappingTest
		if md == apiv1.ModeLive {
			typ = store.MappingLive
		}
		ms, err := c.Store.ListMappings(ctx, vm.ContextID, typ)
		if err != nil {
			return err
		}
		mapped := map[string]bool{}
		for _, m := range ms {
			mapped[m.SourceNetworkName] = true
		}
		var missing []string
		for _, n := range vm.NICs {
			if !mapped[n.NetworkName] && !slices.Contains(missing, n.NetworkName) {
				missing = append(missing, n.NetworkName)
			}
		}
		if len(missing) > 0 {
			block("member %s: VM %s has no %s mapping for network %s: a %s failover of it would be refused (no destination network)",
				id, vm.VMName, typ, strings.Join(missing, ", "), md)
		}
	}
	return nil
}
