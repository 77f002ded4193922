package failover

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/ossea/unifiedfailover/api/apiv1"
	"github.com/ossea/unifiedfailover/cloudstack"
	"github.com/ossea/unifiedfailover/errs"
	"github.com/ossea/unifiedfailover/store"
)

// CheckStatus is the outcome of one pre-flight check.
type CheckStatus = apiv1.CheckStatus

// Check outcomes.
const (
	Pass CheckStatus = "pass"
	Warn CheckStatus = "warn"
	Fail CheckStatus = "fail"
)

// Check is one pre-flight check with a human message.
type Check = apiv1.Check

// hardChecks are the guards skip_validation cannot skip: the context's
// status allows the operation, no other job holds the VM, the destination
// name is free, every replica exists and is where the failover expects
// it. Without them a skipped validation turns a failover into one that
// cannot be rolled back.
// test-isolation keeps a clone off production while the source runs.
var hardChecks = map[string]bool{"context-status": true, "active-job": true, "destination-name": true, "replicas": true,
	"test-isolation": true}

// Report is a pre-flight report.
type Report struct {
	Passed bool    `json:"passed"`
	Checks []Check `json:"checks"`
	// replication is the VM's replication health the rpo check read.
	replication *store.Replication
}

// Replication is the VM's replication health the rpo check read (nil
// before the check ran).
func (r *Report) Replication() *store.Replication { return r.replication }

func (r *Report) add(name string, st CheckStatus, format string, args ...any) {
	r.Checks = append(r.Checks, Check{Name: name, Status: st, Message: fmt.Sprintf(format, args...), Hard: hardChecks[name]})
}

// Gate says whether the report lets a failover run: with skipSoft (the
// operator's skip_validation) only the hard checks count. The error lists
// the failures that count.
func (r *Report) Gate(skipSoft bool) error {
	var failed []string
	for _, c := range r.Checks {
		if c.Status == Fail && (c.Hard || !skipSoft) {
			failed = append(failed, c.Name+": "+c.Message)
		}
	}
	if len(failed) == 0 {
		return nil
	}
	what := "pre-flight failed"
	if skipSoft {
		what = "pre-flight failed on checks skip_validation does not skip"
	}
	return errs.New(errs.FailedPrecondition, "%s: %s", what, strings.Join(failed, "; ")).WithDetails("preflight", r)
}

// SoftChecks names the checks skip_validation skips in this report.
func (r *Report) SoftChecks() []string {
	var out []string
	for _, c := range r.Checks {
		if !c.Hard {
			out = append(out, c.Name)
		}
	}
	return out
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
// A context still replicating has no consistent copy to fail over yet.
var failoverStatuses = map[store.ContextStatus]bool{store.StatusReadyForFailover: true}

// Preflight checks a failover config against the real state. An
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
	if err := e.checkMappings(ctx, r, vm, cfg); err != nil {
		return nil, err
	}
	if err := e.checkReplicas(ctx, r, vm); err != nil {
		return nil, err
	}
	e.checkRPO(r, vm, cfg)
	if err := e.checkOffering(ctx, r, cfg); err != nil {
		return nil, err
	}
	if cfg.FailoverType == Live || cfg.PowerOffSource || cfg.PerformFinalSync {
		e.checkVCenter(ctx, r, vm)
	}
	if cfg.PerformFinalSync {
		e.checkChangeIDs(ctx, r, vm)
	}
	host := cfg.HostName()
	switch existing, err := e.cs.FindVMByName(ctx, host); {
	case errs.Is(err, errs.NotFound):
		r.add("destination-name", Pass, "the CloudStack name %s (display name %q) is free", host, cfg.DestinationVMName)
	case err != nil:
		return nil, err
	case cfg.ExternalJobID != "" && MadeBy(existing, cfg.ExternalJobID):
		r.add("destination-name", Pass, "%s was made by this failover", host)
	default:
		r.add("destination-name", Fail, "a CloudStack VM named %s already exists (%s, %q); the CloudStack name is derived from %q",
			host, existing.ID, existing.DisplayName, cfg.DestinationVMName)
	}
	if err := e.checkOwnership(ctx, r, vm); err != nil {
		return nil, err
	}
	if err := e.checkRollbackFacts(ctx, r, vm, cfg); err != nil {
		return nil, err
	}
	checkNICLayout(r, cfg)
	if err := e.checkIsolation(ctx, r, cfg); err != nil {
		return nil, err
	}
	if err := e.checkWorkers(ctx, r, cfg); err != nil {
		return nil, err
	}
	r.Passed = len(r.Failures()) == 0
	return r, nil
}

// checkRPO compares the VM's RPO (now minus its oldest replica's last
// sync) with its target (its own rpo_target, or FAILOVER_RPO_TARGET). A
// test failover beyond the target, or with an RPO unknown, is warned. A
// live one fails unless the operator accepts it (accept_rpo, audited with
// the RPO); the failure is hard, for a live failover only: skip_validation
// does not accept losing data, only accept_rpo does.
func (e *Engine) checkRPO(r *Report, vm *store.VMContext, cfg *Config) {
	rep := e.Replication(vm)
	r.replication = &rep
	live := cfg.FailoverType == Live
	add := func(st CheckStatus, format string, args ...any) {
		r.Checks = append(r.Checks, Check{Name: "rpo", Status: st, Message: fmt.Sprintf(format, args...), Hard: live})
	}
	target := fmt.Sprintf("the target %s (FAILOVER_RPO_TARGET)", rep.Target)
	if vm.RPOTargetSeconds != nil {
		target = fmt.Sprintf("the VM's own target %s (rpo_target; FAILOVER_RPO_TARGET is %s)", rep.Target, e.cfg.RPOTarget)
	}
	var what string
	switch {
	case rep.OldestDisk == nil:
		what = "the RPO is unknown: the VM has no disk"
	case rep.RPO == nil:
		what = fmt.Sprintf("the RPO is unknown: disk %s never reported a sync (last_synced_at), against %s",
			joinKeys(rep.NeverSynced), target)
	default:
		what = fmt.Sprintf("the RPO is %s (disk %d, the oldest, last synced at %s), %s", rep.RPO.Round(time.Second),
			*rep.OldestDisk, rep.OldestSyncedAt.UTC().Format(time.RFC3339), target)
	}
	switch {
	case !rep.Behind():
		add(Pass, "%s", what)
	case live && cfg.AcceptRPO:
		add(Warn, "accepted on request (accept_rpo, audited): %s; the writes since that sync are lost unless the final sync copies them", what)
	case live:
		add(Fail, "%s: a live failover would lose the writes since the oldest replica's last sync unless the final sync copies them; accept_rpo accepts that (audited), or bring the replicas up to date, or set a longer target (the VM's rpo_target, or FAILOVER_RPO_TARGET)", what)
	default:
		add(Warn, "%s: the test failover boots a copy that old (a live failover would need accept_rpo)", what)
	}
}

func joinKeys(keys []int32) string {
	s := make([]string, len(keys))
	for i, k := range keys {
		s[i] = fmt.Sprint(k)
	}
	return strings.Join(s, ", ")
}

// checkChangeIDs checks each disk's stored change id against vCenter
// while the source still runs (QueryChangedDiskAreas against a temporary
// snapshot): a change id vCenter no longer accepts would fail the final
// sync after the source is already off.
func (e *Engine) checkChangeIDs(ctx context.Context, r *Report, vm *store.VMContext) {
	ids := map[int32]string{}
	var noExport []string
	for _, d := range vm.Disks {
		ids[d.DiskKey] = d.ChangeID
		if d.SourceNBDURI == "" {
			noExport = append(noExport, fmt.Sprint(d.DiskKey))
		}
	}
	if len(noExport) > 0 {
		r.add("change-ids", Fail, "disks %s have no source export: a final sync cannot read them", strings.Join(noExport, ", "))
		return
	}
	vc, err := e.VCenter(ctx)
	if err != nil {
		r.add("change-ids", Fail, "the change ids cannot be checked: %v", err)
		return
	}
	res, err := vc.CheckChangeIDs(ctx, vm.VMwareVMID, ids)
	if err != nil {
		r.add("change-ids", Fail, "the change ids cannot be checked against vCenter: %v", err)
		return
	}
	var bad []string
	for _, d := range vm.Disks {
		if err := res[d.DiskKey]; err != nil {
			bad = append(bad, err.Error())
		}
	}
	if len(bad) > 0 {
		r.add("change-ids", Fail, "%s", strings.Join(bad, "; "))
		return
	}
	r.add("change-ids", Pass, "vCenter accepts the stored change id of each of the %d disk(s)", len(vm.Disks))
}

// checkOwnership checks that the API key's account owns the appliance and
// every replica: CloudStack refuses to attach a volume of one account to a
// VM of another.
func (e *Engine) checkOwnership(ctx context.Context, r *Report, vm *store.VMContext) error {
	var foreign []string
	switch own, err := e.cs.OwnsVM(ctx, e.cfg.ApplianceVMID); {
	case err != nil:
		return err
	case !own:
		foreign = append(foreign, "the appliance VM "+e.cfg.ApplianceVMID)
	}
	for _, d := range vm.Disks {
		if d.VolumeID == "" {
			continue
		}
		switch own, err := e.cs.OwnsVolume(ctx, d.VolumeID); {
		case err != nil:
			return err
		case !own:
			foreign = append(foreign, "replica volume "+d.VolumeID)
		}
	}
	if len(foreign) > 0 {
		r.add("account", Fail, "the API key's account does not own %s: CloudStack refuses attaches across accounts", strings.Join(foreign, ", "))
	} else {
		r.add("account", Pass, "the API key's account owns the appliance and the %d replica(s)", len(vm.Disks))
	}
	return nil
}

// checkRollbackFacts reports the CloudStack facts that decide whether a
// rollback is possible: each replica's storage pool (KVM reverts volume
// snapshots only for QCOW2 volumes, on file pools) and kvm.snapshot.enabled.
func (e *Engine) checkRollbackFacts(ctx context.Context, r *Report, vm *store.VMContext, cfg *Config) error {
	capa, err := e.cs.Capabilities(ctx)
	if err != nil {
		return err
	}
	r.add("kvm-snapshots", Pass, "kvm.snapshot.enabled is %v; rollback snapshots are taken of detached replicas, so no running instance is involved either way", capa.KVMSnapshotEnabled)
	if cfg.SnapshotType == SnapshotNone {
		return nil
	}
	pools := map[string]*cloudstack.StoragePool{}
	var facts, bad []string
	for _, d := range vm.Disks {
		v, err := e.cs.GetVolume(ctx, d.VolumeID)
		if errs.Is(err, errs.NotFound) {
			continue // reported by the replicas check
		}
		if err != nil {
			return err
		}
		if v.StorageID == "" {
			facts = append(facts, fmt.Sprintf("%s on an unnamed pool", v.ID))
			continue
		}
		p, ok := pools[v.StorageID]
		if !ok {
			if p, err = e.cs.GetStoragePool(ctx, v.StorageID); errs.Is(err, errs.NotFound) || errs.Is(err, errs.PermissionDenied) {
				facts = append(facts, fmt.Sprintf("%s on pool %s (type not visible to this account)", v.ID, v.Storage))
				continue
			} else if err != nil {
				return err
			}
			pools[v.StorageID] = p
		}
		facts = append(facts, fmt.Sprintf("%s on %s (%s)", v.ID, p.Name, p.Type))
		if !p.RevertsSnapshots() {
			bad = append(bad, fmt.Sprintf("replica %s is on pool %s of type %s", v.ID, p.Name, p.Type))
		}
	}
	if len(bad) > 0 {
		r.add("rollback-point", Fail, "%s: KVM reverts volume snapshots only for QCOW2 volumes on file pools, so this failover could not be rolled back", strings.Join(bad, "; "))
	} else {
		r.add("rollback-point", Pass, "snapshots of these replicas can be reverted: %s", strings.Join(facts, ", "))
	}
	return nil
}

// checkNICLayout fails a plan that puts two NICs on one destination
// network: CloudStack gives a VM at most one NIC per network, on deploy
// and on addNicToVirtualMachine alike.
func checkNICLayout(r *Report, cfg *Config) {
	if shared := SharedNetworks(cfg.NICs); shared != "" {
		r.add("nic-layout", Fail, "%s: CloudStack gives a VM at most one NIC per network (a deploy merges them, addNicToVirtualMachine refuses the second); map them to different networks", shared)
		return
	}
	if len(cfg.NICs) > 0 {
		r.add("nic-layout", Pass, "%d NIC(s), each on its own destination network, in the source's order with its MAC", len(cfg.NICs))
	}
}

// checkIsolation gives each NIC of a failover that leaves the source
// running its isolation verdict: a network that a live mapping (of any
// VM) uses, or that CloudStack shares across accounts (a Shared network,
// as production networks are), is not isolated. Such a network fails the
// check unless the operator allowed it (allow_non_isolated_network, with
// keep_macs false: see Resolve), which makes it a warning.
func (e *Engine) checkIsolation(ctx context.Context, r *Report, cfg *Config) error {
	if cfg.PowerOffSource || len(cfg.NICs) == 0 {
		return nil
	}
	live, err := e.store.ListMappings(ctx, "", store.MappingLive)
	if err != nil {
		return err
	}
	usedLive := map[string]string{}
	for _, m := range live {
		usedLive[m.DestinationNetworkID] = m.SourceNetworkName
	}
	nets, err := e.cs.ListNetworks(ctx)
	if err != nil {
		return err
	}
	typeOf := map[string]string{}
	for _, n := range nets {
		typeOf[n.ID] = n.Type
	}
	var bad []string
	for i := range cfg.NICs {
		n := &cfg.NICs[i]
		var why []string
		if src, ok := usedLive[n.DestinationNetworkID]; ok {
			why = append(why, fmt.Sprintf("a live mapping uses it (for %s)", src))
		}
		if strings.EqualFold(typeOf[n.DestinationNetworkID], "Shared") {
			why = append(why, "CloudStack shares it across accounts (Shared)")
		}
		n.Isolation = "isolated"
		if len(why) > 0 {
			n.Isolation = "not isolated: " + strings.Join(why, ", ")
			bad = append(bad, fmt.Sprintf("%s → %s is %s", n.SourceNetworkName, n.DestinationNetworkID, n.Isolation))
		}
	}
	switch {
	case len(bad) == 0:
		r.add("test-isolation", Pass, "every network of the VM is isolated from production")
	case cfg.AllowNonIsolatedNetwork:
		r.add("test-isolation", Warn, "allowed on request, with new MACs: %s", strings.Join(bad, "; "))
	default:
		r.add("test-isolation", Fail, "the source keeps running, so its clone must stay off production: %s (allow_non_isolated_network with keep_macs false allows it, audited)",
			strings.Join(bad, "; "))
	}
	return nil
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
	switch o := pickOffering(offs, cfg.CPUCount, cfg.MemoryMB); {
	case o != nil && o.Customized:
		r.add("service-offering", Pass, "customized offering %s, sized to the source: %d CPU, %d MB", o.Name, cfg.CPUCount, cfg.MemoryMB)
	case o != nil:
		r.add("service-offering", Pass, "%s (%d CPU, %d MB) fits %d CPU, %d MB", o.Name, o.CPUs, o.MemoryMB, cfg.CPUCount, cfg.MemoryMB)
	default:
		r.add("service-offering", Fail, "no service offering has %d CPU and %d MB", cfg.CPUCount, cfg.MemoryMB)
	}
	return nil
}

func (e *Engine) checkVCenter(ctx context.Context, r *Report, vm *store.VMContext) {
	vc, err := e.VCenter(ctx)
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

// pickOffering returns the offering a destination VM is deployed with:
// a customized offering, sized to the source exactly (real clouds size VMs
// that way, and a fixed offering rarely fits a source VM), or else the
// smallest fixed offering with at least cpus CPUs and memMB memory,
// preferring an exact fit. Nil when none fits.
func pickOffering(offs []cloudstack.ServiceOffering, cpus, memMB int) *cloudstack.ServiceOffering {
	var fit []cloudstack.ServiceOffering
	for _, o := range offs {
		if o.Customized || (o.CPUs >= cpus && o.MemoryMB >= memMB) {
			fit = append(fit, o)
		}
	}
	if len(fit) == 0 {
		return nil
	}
	sort.Slice(fit, func(i, j int) bool {
		if fit[i].Customized != fit[j].Customized {
			return fit[i].Customized
		}
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

// stepCapabilities are the worker capabilities (store.Capability*) the
// failover chain's steps need beyond the worker binary, and what the
// operator can do when no live worker has one.
var stepCapabilities = map[string]struct{ capability, remedy string }{
	StepVirtio: {store.CapabilityVirtio, "install the VirtIO command on a worker (on its PATH, or where its " +
		"FAILOVER_VIRTIO_COMMAND points; the next heartbeat reports it), or set skip_virtio if the guest already has its VirtIO drivers"},
}

// checkWorkers fails a plan with a step that no live worker can run, by
// what the workers report with their heartbeats (queue.Heartbeat): today
// the virtio-injection step of a Windows guest, unless skip_virtio. The
// steps and their skip reasons are the chain's (the engine's Planner), so
// the check runs exactly when the step would. With no live worker at all
// it warns: the job waits in the queue for a worker rather than failing,
// and its validation step runs this check again on the worker that takes
// it.
func (e *Engine) checkWorkers(ctx context.Context, r *Report, cfg *Config) error {
	const name = "worker-capabilities"
	var needed, skipped []string
	for _, s := range e.planSteps(JobFailover, PlanInput{Config: cfg}) {
		if _, ok := stepCapabilities[s.Name]; !ok {
			continue
		}
		if s.SkipReason != "" {
			skipped = append(skipped, fmt.Sprintf("%s is skipped (%s)", s.Name, s.SkipReason))
			continue
		}
		needed = append(needed, s.Name)
	}
	if len(needed) == 0 {
		r.add(name, Pass, "no step of the plan needs more than a worker: %s", strings.Join(skipped, "; "))
		return nil
	}
	lctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	workers, err := e.store.LiveWorkers(lctx)
	cancel()
	if err != nil {
		return err
	}
	if len(workers) == 0 {
		r.add(name, Warn, "no worker is live (none has sent a heartbeat within %d of its FAILOVER_WORKER_HEARTBEAT intervals): "+
			"the job will wait for one, and its validation step checks again that the worker can run %s",
			store.LiveBeats, strings.Join(needed, ", "))
		return nil
	}
	var bad, good []string
	for _, step := range needed {
		need := stepCapabilities[step]
		var can, cannot []string
		for _, w := range workers {
			switch c, ok := w.Capabilities[need.capability]; {
			case ok && c.Available:
				can = append(can, w.ID)
			case !ok:
				cannot = append(cannot, fmt.Sprintf("worker %s does not report the %s capability (an older version?)", w.ID, need.capability))
			default:
				cannot = append(cannot, fmt.Sprintf("worker %s: %s", w.ID, c.Problem))
			}
		}
		if len(can) == 0 {
			bad = append(bad, fmt.Sprintf("%d live worker(s), none can run the %s step: %s; %s", len(workers), step,
				strings.Join(cannot, "; "), need.remedy))
			continue
		}
		good = append(good, fmt.Sprintf("%s can run on %d of %d live worker(s) (%s)", step, len(can), len(workers), strings.Join(can, ", ")))
	}
	if len(bad) > 0 {
		r.add(name, Fail, "%s", strings.Join(bad, ". "))
		return nil
	}
	r.add(name, Pass, "%s", strings.Join(good, "; "))
	return nil
}

// checkMappings fails a plan when a stored mapping of the type the plan
// uses (test for the isolated strategy, live for production) names a
// source network that no NIC of the VM is on: the operator meant a NIC
// the VM does not have (a renamed port group, a mapping saved for another
// VM), and the mapping would silently do nothing. A stale mapping of the
// other type is reported as a warning; a custom plan uses none of them.
func (e *Engine) checkMappings(ctx context.Context, r *Report, vm *store.VMContext, cfg *Config) error {
	const name = "network-mappings"
	ms, err := e.store.ListMappings(ctx, vm.ContextID, "")
	if err != nil {
		return err
	}
	if len(ms) == 0 {
		return nil
	}
	var used store.MappingType
	if cfg.NetworkStrategy != NetworkCustom {
		used = MappingType(cfg.NetworkStrategy)
	}
	onNIC := map[string]bool{}
	for _, n := range vm.NICs {
		onNIC[n.NetworkName] = true
	}
	var bad, other []string
	for _, m := range ms {
		if onNIC[m.SourceNetworkName] {
			continue
		}
		d := fmt.Sprintf("the %s mapping of %q (to %s)", m.MappingType, m.SourceNetworkName, m.DestinationNetworkID)
		if m.MappingType == used {
			bad = append(bad, d)
		} else {
			other = append(other, d)
		}
	}
	nics := nicNetworks(vm)
	switch {
	case len(bad) > 0:
		r.add(name, Fail, "VM %s has no NIC on the network of %s (%s): correct or delete the mapping", vm.VMName, strings.Join(bad, ", "), nics)
	case len(other) > 0:
		r.add(name, Warn, "VM %s has no NIC on the network of %s (%s); this failover does not use it", vm.VMName, strings.Join(other, ", "), nics)
	default:
		r.add(name, Pass, "each of the VM's %d stored mapping(s) names a network one of its NICs is on", len(ms))
	}
	return nil
}

// nicNetworks describes the source networks of vm's NICs, for messages.
func nicNetworks(vm *store.VMContext) string {
	var nets []string
	seen := map[string]bool{}
	for _, n := range vm.NICs {
		if !seen[n.NetworkName] {
			seen[n.NetworkName] = true
			nets = append(nets, fmt.Sprintf("%q", n.NetworkName))
		}
	}
	if len(nets) == 0 {
		return "it has no NIC"
	}
	return "its NICs are on " + strings.Join(nets, ", ")
}
