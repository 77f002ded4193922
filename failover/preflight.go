package failover

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/ossea/unifiedfailover/cloudstack"
	"github.com/ossea/unifiedfailover/errs"
	"github.com/ossea/unifiedfailover/store"
)

// CheckStatus is the outcome of one pre-flight check.
type CheckStatus string

// Check outcomes.
const (
	Pass CheckStatus = "pass"
	Warn CheckStatus = "warn"
	Fail CheckStatus = "fail"
)

// Check is one pre-flight check with a human message.
type Check struct {
	Name    string      `json:"name"`
	Status  CheckStatus `json:"status"`
	Message string      `json:"message"`
}

// Report is a pre-flight report.
type Report struct {
	Passed bool    `json:"passed"`
	Checks []Check `json:"checks"`
}

func (r *Report) add(name string, st CheckStatus, format string, args ...any) {
	r.Checks = append(r.Checks, Check{Name: name, Status: st, Message: fmt.Sprintf(format, args...)})
}

// Failures returns the failed checks' messages.
func (r *Report) Failures() []string {
	var out []string
	for _, c := range r.Checks {
		if c.Status == Fail {
			out = append(out, c.Name+": "+c.Message)
		}
	}
	return out
}

// failoverStatuses are the context statuses a failover may start from.
var failoverStatuses = map[store.ContextStatus]bool{store.StatusReadyForFailover: true, store.StatusReplicating: true}

// Preflight checks a failover config against the real state (SPEC §4). An
// error means the state could not be read (for example CloudStack did not
// answer); a readable state that does not allow the failover is a report
// with a fail. ownJobID, when set, is the job running the check (its own
// lock is not a conflict).
func (e *Engine) Preflight(ctx context.Context, vm *store.VMContext, cfg *Config, ownJobID string) (*Report, error) {
	r := &Report{}
	// A retried job left the context cleanup_required itself.
	retrying := ownJobID != "" && vm.CurrentStatus == store.StatusCleanupRequired
	if failoverStatuses[vm.CurrentStatus] || retrying {
		r.add("context-status", Pass, "VM context %s is %s", vm.ContextID, vm.CurrentStatus)
	} else {
		r.add("context-status", Fail, "VM context %s is %s; a failover needs ready_for_failover", vm.ContextID, vm.CurrentStatus)
	}
	switch active, err := e.store.ActiveJob(ctx, vm.ContextID); {
	case errs.Is(err, errs.NotFound):
		r.add("active-job", Pass, "no active job on the VM")
	case err != nil:
		return nil, err
	case active.ID == ownJobID:
		r.add("active-job", Pass, "this job holds the VM")
	default:
		r.add("active-job", Fail, "the VM has an active %s job %s", active.Type, active.ExternalID)
	}
	if err := e.checkNetworks(ctx, r, cfg); err != nil {
		return nil, err
	}
	if err := e.checkReplicas(ctx, r, vm); err != nil {
		return nil, err
	}
	if err := e.checkOffering(ctx, r, cfg); err != nil {
		return nil, err
	}
	if cfg.FailoverType == Live || cfg.PowerOffSource || cfg.PerformFinalSync {
		e.checkVCenter(ctx, r, vm)
	}
	if cfg.PerformFinalSync {
		var missing []string
		for _, d := range vm.Disks {
			if d.ChangeID == "" || d.SourceNBDURI == "" {
				missing = append(missing, fmt.Sprint(d.DiskKey))
			}
		}
		if len(missing) > 0 {
			r.add("change-ids", Fail, "disks %s have no change id or source export: a final sync cannot know what changed", strings.Join(missing, ", "))
		} else {
			r.add("change-ids", Pass, "every disk has a change id")
		}
	}
	switch existing, err := e.cs.FindVMByName(ctx, cfg.DestinationVMName); {
	case errs.Is(err, errs.NotFound):
		r.add("destination-name", Pass, "no CloudStack VM is named %s", cfg.DestinationVMName)
	case err != nil:
		return nil, err
	case cfg.ExternalJobID != "" && madeBy(existing, cfg.ExternalJobID):
		r.add("destination-name", Pass, "%s was made by this failover", cfg.DestinationVMName)
	default:
		r.add("destination-name", Fail, "a CloudStack VM named %s already exists (%s)", cfg.DestinationVMName, existing.ID)
	}
	r.Passed = len(r.Failures()) == 0
	return r, nil
}

func (e *Engine) checkNetworks(ctx context.Context, r *Report, cfg *Config) error {
	nets, err := e.cs.ListNetworks(ctx)
	if err != nil {
		return err
	}
	byID := map[string]cloudstack.Network{}
	for _, n := range nets {
		byID[n.ID] = n
	}
	if len(cfg.NICs) == 0 {
		r.add("networks", Warn, "the source VM has no NICs; the destination VM gets none")
		return nil
	}
	var bad []string
	for _, n := range cfg.NICs {
		switch _, ok := byID[n.DestinationNetworkID]; {
		case n.DestinationNetworkID == "":
			bad = append(bad, fmt.Sprintf("%s has no %s mapping", n.SourceNetworkName, MappingType(cfg.NetworkStrategy)))
		case !ok:
			bad = append(bad, fmt.Sprintf("%s maps to network %s, which does not exist in CloudStack", n.SourceNetworkName, n.DestinationNetworkID))
		}
	}
	if len(bad) > 0 {
		r.add("networks", Fail, "%s", strings.Join(bad, "; "))
	} else {
		r.add("networks", Pass, "every source network maps to an existing %s network", cfg.NetworkStrategy)
	}
	return nil
}

func (e *Engine) checkReplicas(ctx context.Context, r *Report, vm *store.VMContext) error {
	if len(vm.Disks) == 0 {
		r.add("replicas", Fail, "the VM context has no disks")
		return nil
	}
	var bad []string
	for _, d := range vm.Disks {
		if d.VolumeID == "" {
			bad = append(bad, fmt.Sprintf("disk %d has no replica volume", d.DiskKey))
			continue
		}
		v, err := e.cs.GetVolume(ctx, d.VolumeID)
		switch {
		case errs.Is(err, errs.NotFound):
			bad = append(bad, fmt.Sprintf("replica volume %s of disk %d does not exist", d.VolumeID, d.DiskKey))
		case err != nil:
			return err
		case v.VMID != e.cfg.ApplianceVMID:
			where := "detached"
			if v.VMID != "" {
				where = "attached to VM " + v.VMID
			}
			bad = append(bad, fmt.Sprintf("replica volume %s of disk %d is %s, not attached to the appliance", d.VolumeID, d.DiskKey, where))
		}
	}
	if len(bad) > 0 {
		r.add("replicas", Fail, "%s", strings.Join(bad, "; "))
	} else {
		r.add("replicas", Pass, "%d replica volume(s) exist and are attached to the appliance", len(vm.Disks))
	}
	return nil
}

func (e *Engine) checkOffering(ctx context.Context, r *Report, cfg *Config) error {
	offs, err := e.cs.ListServiceOfferings(ctx)
	if err != nil {
		return err
	}
	if o := pickOffering(offs, cfg.CPUCount, cfg.MemoryMB); o != nil {
		r.add("service-offering", Pass, "%s (%d CPU, %d MB) fits %d CPU, %d MB", o.Name, o.CPUs, o.MemoryMB, cfg.CPUCount, cfg.MemoryMB)
	} else {
		r.add("service-offering", Fail, "no service offering has %d CPU and %d MB", cfg.CPUCount, cfg.MemoryMB)
	}
	return nil
}

func (e *Engine) checkVCenter(ctx context.Context, r *Report, vm *store.VMContext) {
	vc, err := e.vcenter(ctx)
	if err != nil {
		r.add("vcenter", Fail, "vCenter is not reachable: %v", err)
		return
	}
	state, err := vc.PowerState(ctx, vm.VMwareVMID)
	if err != nil {
		r.add("vcenter", Fail, "VM %s (%s) not found in vCenter: %v", vm.VMName, vm.VMwareVMID, err)
		return
	}
	r.add("vcenter", Pass, "vCenter reachable; VM %s is %s", vm.VMName, state)
}

// pickOffering returns the smallest offering with at least cpus CPUs and
// memMB memory, preferring an exact fit.
func pickOffering(offs []cloudstack.ServiceOffering, cpus, memMB int) *cloudstack.ServiceOffering {
	var fit []cloudstack.ServiceOffering
	for _, o := range offs {
		if o.CPUs >= cpus && o.MemoryMB >= memMB {
			fit = append(fit, o)
		}
	}
	if len(fit) == 0 {
		return nil
	}
	sort.Slice(fit, func(i, j int) bool {
		if fit[i].MemoryMB != fit[j].MemoryMB {
			return fit[i].MemoryMB < fit[j].MemoryMB
		}
		if fit[i].CPUs != fit[j].CPUs {
			return fit[i].CPUs < fit[j].CPUs
		}
		return fit[i].ID < fit[j].ID
	})
	return &fit[0]
}

// madeBy reports whether a CloudStack VM was deployed by the failover with
// this external job id (its display name carries the id).
func madeBy(vm *cloudstack.VM, externalJobID string) bool {
	return vm != nil && strings.Contains(vm.DisplayName, externalJobID)
}
