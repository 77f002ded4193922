package e2e

import (
	"bytes"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ossea/unifiedfailover/api/apiv1"
	"github.com/ossea/unifiedfailover/client"
	"github.com/ossea/unifiedfailover/failover"
	cssim "github.com/ossea/unifiedfailover/sim/cloudstack"
	"github.com/ossea/unifiedfailover/store"
)

// TestSkipValidationKeepsTheHardGuards: a second test failover of a VM
// already failed over, sent with skip_validation, is refused before
// anything is made (the context's status is a hard guard), so the first
// test failover still rolls back cleanly. A skip_validation failover of a
// ready VM runs, its validation step enforcing the hard checks and the
// plan naming the checks it skipped.
func TestSkipValidationKeepsTheHardGuards(t *testing.T) {
	t.Parallel()
	b := setup(t, options{vms: 2})
	vm := &b.lab.VMs[0]
	ctxID := b.contexts[vm.Name]
	skip := failover.FailoverRequest{ContextID: ctxID, FailoverType: failover.Test, Options: failover.Options{SkipValidation: true}}

	if st := b.failover(t, failover.FailoverRequest{ContextID: ctxID, FailoverType: failover.Test}); st.Status != store.JobCompleted {
		t.Fatalf("first test failover ended %s: %s", st.Status, st.Error)
	}
	vmsBefore, volsBefore := len(b.lab.CloudStack.VMs()), len(b.lab.CloudStack.Volumes())
	_, err := b.api.Failover(b.ctx, skip)
	if apiStatus(err) != http.StatusConflict || !strings.Contains(err.Error(), "context-status") ||
		!strings.Contains(err.Error(), "skip_validation does not skip") {
		t.Fatalf("second test failover with skip_validation: %v, want 409 on the context-status guard", err)
	}
	if n, m := len(b.lab.CloudStack.VMs()), len(b.lab.CloudStack.Volumes()); n != vmsBefore || m != volsBefore {
		t.Fatalf("the refused failover changed CloudStack: %d→%d VMs, %d→%d volumes", vmsBefore, n, volsBefore, m)
	}
	if jobs, _ := b.api.Context(b.ctx, ctxID); len(jobs.Jobs) != 1 {
		t.Fatalf("the refused failover created a job: %+v", jobs.Jobs)
	}
	if rb := b.rollback(t, failover.RollbackRequest{ContextID: ctxID}); rb.Status != store.JobCompleted {
		t.Fatalf("rollback of the first test failover ended %s: %s", rb.Status, rb.Error)
	}
	b.assertRolledBack(t, vm)

	// On a ready VM skip_validation runs; the plan says what it skipped
	// and the validation step still runs, on the hard checks.
	other := &b.lab.VMs[1]
	skip.ContextID = b.contexts[other.Name]
	skip.DryRun = true
	dry, err := b.api.Failover(b.ctx, skip)
	if err != nil || dry.Plan == nil || len(dry.Plan.SkippedChecks) == 0 || slices.Contains(dry.Plan.SkippedChecks, "context-status") {
		t.Fatalf("dry run with skip_validation: %+v %v, want the soft checks named as skipped", dry, err)
	}
	skip.DryRun = false
	st := b.failover(t, skip)
	if st.Status != store.JobCompleted || st.Step("validation").Status != store.StepCompleted {
		t.Fatalf("skip_validation failover ended %s (validation %s): %s", st.Status, st.Step("validation").Status, st.Error)
	}
	if rb := b.rollback(t, failover.RollbackRequest{ContextID: skip.ContextID}); rb.Status != store.JobCompleted {
		t.Fatalf("rollback ended %s: %s", rb.Status, rb.Error)
	}

	// A VM still replicating has no consistent copy: refused, skip or not.
	b.exec(`UPDATE vm_replication_contexts SET current_status = 'replicating' WHERE context_id = '` + ctxID + `'`)
	skip.ContextID = ctxID
	if _, err := b.api.Failover(b.ctx, skip); apiStatus(err) != http.StatusConflict || !strings.Contains(err.Error(), "replicating") {
		t.Fatalf("failover of a replicating VM: %v, want 409", err)
	}
}

// TestTestFailoverStaysOffProduction: a test failover whose test mapping
// points at a production network (one a live mapping uses, or a Shared
// one) is refused while the source runs; each NIC's verdict is in the
// plan. allow_non_isolated_network allows it only with new MACs, by an
// admin who confirms, and the decision is audited.
func TestTestFailoverStaysOffProduction(t *testing.T) {
	t.Parallel()
	b := setup(t, options{vms: 1})
	vm := &b.lab.VMs[0]
	ctxID := b.contexts[vm.Name]
	prod := vm.LiveMappings[0]
	if _, err := b.api.SetMapping(b.ctx, ctxID, clientMapping(prod.SourceNetworkName, prod.DestinationNetworkID, "test")); err != nil {
		t.Fatal(err)
	}
	req := failover.FailoverRequest{ContextID: ctxID, FailoverType: failover.Test, DryRun: true}
	dry, err := b.api.Failover(b.ctx, req)
	if err != nil || dry.Plan == nil || dry.Plan.Config == nil {
		t.Fatalf("dry run: %+v %v", dry, err)
	}
	if n := dry.Plan.Config.NICs[0]; !strings.HasPrefix(n.Isolation, "not isolated: a live mapping uses it") {
		t.Fatalf("NIC 0 on the live network %s has verdict %q", prod.DestinationNetworkID, n.Isolation)
	}
	req.DryRun = false
	vmsBefore := len(b.lab.CloudStack.VMs())
	if _, err := b.api.Failover(b.ctx, req); apiStatus(err) != http.StatusConflict || !strings.Contains(err.Error(), "test-isolation") {
		t.Fatalf("test failover onto a production network: %v, want 409 naming test-isolation", err)
	}
	// skip_validation does not skip it.
	req.SkipValidation = true
	if _, err := b.api.Failover(b.ctx, req); apiStatus(err) != http.StatusConflict || !strings.Contains(err.Error(), "test-isolation") {
		t.Fatalf("with skip_validation: %v, want 409 naming test-isolation", err)
	}
	req.SkipValidation = false
	// Allowed only with new MACs …
	req.AllowNonIsolatedNetwork = true
	if _, err := b.api.Failover(b.ctx, req); apiStatus(err) != http.StatusBadRequest || !strings.Contains(err.Error(), "keep_macs") {
		t.Fatalf("allow with the source MACs: %v, want 400 on keep_macs", err)
	}
	req.KeepMACs = ptr(false)
	// … by an admin who confirms (b.api is an admin).
	if _, err := b.api.Failover(b.ctx, req); apiStatus(err) != http.StatusPreconditionRequired {
		t.Fatalf("allow without confirm: %v, want 428", err)
	}
	if n := len(b.lab.CloudStack.VMs()); n != vmsBefore {
		t.Fatalf("refused failovers made %d VMs", n-vmsBefore)
	}
	req.Confirm = vm.Name
	st := b.failover(t, req)
	if st.Status != store.JobCompleted {
		t.Fatalf("allowed failover ended %s: %s", st.Status, st.Error)
	}
	dests := b.destinationVMs(vm.Name + "-test-")
	if len(dests) != 1 {
		t.Fatalf("want one destination VM, got %+v", dests)
	}
	for i, n := range dests[0].NICs {
		if strings.EqualFold(n.MAC, vm.NICs[i].MAC) {
			t.Fatalf("NIC %d kept the source MAC %s on a non-isolated network", i, n.MAC)
		}
	}
	audit, err := b.api.Audit(b.ctx, client.AuditFilter{JobID: st.ID})
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[string]bool{}
	for _, d := range audit {
		kinds[d.Decision] = true
	}
	if !kinds["non-isolated-network"] || !kinds["approval"] {
		t.Fatalf("the allowed failover's decisions: %v, want non-isolated-network and approval", kinds)
	}
	if rb := b.rollback(t, failover.RollbackRequest{ContextID: ctxID}); rb.Status != store.JobCompleted {
		t.Fatalf("rollback ended %s: %s", rb.Status, rb.Error)
	}
}

// TestRegistrationProbesTheExports: a registration whose replica export
// does not answer is refused (400 naming the disk), before anything is
// stored.
func TestRegistrationProbesTheExports(t *testing.T) {
	t.Parallel()
	b := setup(t, options{vms: 1})
	body := b.lab.Manifest().VMs[0].Register
	body.Disks = slices.Clone(body.Disks)
	body.Disks[0].ReplicaNBDURI = "nbd://127.0.0.1:1/nothing-here"
	_, err := b.api.Register(b.ctx, body)
	if apiStatus(err) != http.StatusBadRequest || !strings.Contains(err.Error(), "replica_nbd_uri nbd://127.0.0.1:1/nothing-here does not answer") {
		t.Fatalf("registering with a dead replica export: %v, want 400 naming it", err)
	}
}

// TestCancelStopsAFailoverAndTheRollbackCleansUp: a cancel during a long
// CloudStack call (the deploy, slowed to a minute) ends the job at once:
// cancelled, the running step interrupted and never retried, no later
// step run, the VM cleanup_required; the rollback then cleans what the
// job made. A rollback cannot be cancelled, nor can a job twice.
func TestCancelStopsAFailoverAndTheRollbackCleansUp(t *testing.T) {
	t.Parallel()
	b := setup(t, options{vms: 1, workers: 1})
	vm := &b.lab.VMs[0]
	ctxID := b.contexts[vm.Name]
	b.lab.CloudStack.SetLatency("deployVirtualMachine", time.Minute)
	jobID := b.startFailover(t, vm, false, failover.Options{})
	b.waitStep(t, jobID, "vm-creation")
	began := time.Now()
	j, err := b.api.Cancel(b.ctx, jobID, "wrong VM")
	if err != nil || j.Status != store.JobCancelled {
		t.Fatalf("cancel: %+v %v", j, err)
	}
	// The worker running the step stops it (its context is cancelled: the
	// CloudStack call ends now, not in a minute); the job stays cancelled
	// and no other step runs.
	var st *client.FailoverStatus
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if st, err = b.api.Status(b.ctx, jobID); err != nil {
			t.Fatal(err)
		}
		if st.Step("vm-creation").Error == store.StepStoppedByCancel || time.Now().After(deadline) {
			break
		}
	}
	if got := st.Step("vm-creation").Error; got != store.StepStoppedByCancel {
		t.Fatalf("the running step was not interrupted: %q", got)
	}
	b.lab.CloudStack.SetLatency("deployVirtualMachine", 0)
	if st.Status != store.JobCancelled || !strings.Contains(st.Error, "cancelled by") || st.Step("vm-creation").Status != store.StepFailed ||
		st.Step("vm-creation").ErrorClass != store.CancelledClass {
		t.Fatalf("after the cancel: job %s (%s), vm-creation %+v", st.Status, st.Error, st.Step("vm-creation"))
	}
	for _, name := range []string{"volume-operations", "vm-startup", "status-update"} {
		if s := st.Step(name); s.Status != store.StepPending {
			t.Fatalf("step %s after the cancel is %s", name, s.Status)
		}
	}
	if got := b.contextStatus(t, vm.Name); got != store.StatusCleanupRequired {
		t.Fatalf("context after the cancel: %s", got)
	}
	if left := b.destinationVMs(vm.Name); len(left) != 0 {
		t.Fatalf("the interrupted deploy made a VM: %+v", left)
	}
	if time.Since(began) > 30*time.Second {
		t.Fatalf("the cancel took %s", time.Since(began))
	}
	if _, err := b.api.Cancel(b.ctx, jobID, ""); apiStatus(err) != http.StatusConflict {
		t.Fatalf("a second cancel: %v, want 409", err)
	}
	audit, err := b.api.Audit(b.ctx, client.AuditFilter{JobID: jobID, Decision: "cancel"})
	if err != nil || len(audit) != 1 || audit[0].Choice["reason"] != "wrong VM" {
		t.Fatalf("cancel audit: %+v %v", audit, err)
	}
	// A rollback cleans what the job made (detached replicas, snapshots).
	rbStarted, err := b.api.Rollback(b.ctx, failover.RollbackRequest{ContextID: ctxID})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.api.Cancel(b.ctx, rbStarted.JobID, ""); apiStatus(err) != http.StatusConflict || !strings.Contains(err.Error(), "cannot be cancelled") {
		t.Fatalf("cancelling a rollback: %v, want 409", err)
	}
	if rb := b.wait(t, rbStarted.JobID); rb.Status != store.JobCompleted {
		t.Fatalf("rollback after the cancel ended %s: %s", rb.Status, rb.Error)
	}
	b.assertRolledBack(t, vm)
	if got := b.contextStatus(t, vm.Name); got != store.StatusReadyForFailover {
		t.Fatalf("context after the rollback: %s", got)
	}
}

// TestLivingRecord: a VM's record follows vCenter (refresh), the
// replication side sets its status (update), and it can be unregistered;
// all three are refused while the VM is failed over, and audited. A VM
// replicating cannot fail over.
func TestLivingRecord(t *testing.T) {
	t.Parallel()
	b := setup(t, options{vms: 2})
	vm := &b.lab.VMs[0]
	ctxID := b.contexts[vm.Name]

	rep, err := b.api.Refresh(b.ctx, ctxID)
	if err != nil || len(rep.Changes) != 0 {
		t.Fatalf("refresh with nothing changed: %+v %v", rep, err)
	}
	if err := b.lab.VCenter.Resize(vm.UUID, 6, 12288); err != nil {
		t.Fatal(err)
	}
	rep, err = b.api.Refresh(b.ctx, ctxID)
	if err != nil || rep.Context.CPUCount != 6 || rep.Context.MemoryMB != 12288 || len(rep.Changes) != 2 {
		t.Fatalf("refresh after a resize: %+v %v", rep, err)
	}

	// The replication side: replicating refuses a failover; ready again.
	c, err := b.api.UpdateContext(b.ctx, ctxID, failover.ContextUpdate{Status: store.StatusReplicating})
	if err != nil || c.CurrentStatus != store.StatusReplicating {
		t.Fatalf("update to replicating: %+v %v", c, err)
	}
	if _, err := b.api.Failover(b.ctx, failover.FailoverRequest{ContextID: ctxID, FailoverType: failover.Test}); apiStatus(err) != http.StatusConflict {
		t.Fatalf("failover while replicating: %v, want 409", err)
	}
	if _, err := b.api.UpdateContext(b.ctx, ctxID, failover.ContextUpdate{Status: store.StatusFailedOverLive}); apiStatus(err) != http.StatusBadRequest {
		t.Fatalf("update to failed_over_live: %v, want 400", err)
	}
	if _, err := b.api.UpdateContext(b.ctx, ctxID, failover.ContextUpdate{Disks: []failover.DiskUpdate{{DiskKey: vm.Disks[0].Key,
		ReplicaNBDURI: "nbd://127.0.0.1:1/gone"}}}); apiStatus(err) != http.StatusBadRequest {
		t.Fatalf("update to a dead export: %v, want 400", err)
	}
	if c, err = b.api.UpdateContext(b.ctx, ctxID, failover.ContextUpdate{Status: store.StatusReadyForFailover,
		Disks: []failover.DiskUpdate{{DiskKey: vm.Disks[0].Key, ChangeID: vm.Disks[0].ChangeID}}}); err != nil || c.CurrentStatus != store.StatusReadyForFailover {
		t.Fatalf("update to ready: %+v %v", c, err)
	}

	// Failed over: refresh, update and unregister wait.
	if st := b.failover(t, failover.FailoverRequest{ContextID: ctxID, FailoverType: failover.Test}); st.Status != store.JobCompleted {
		t.Fatalf("test failover ended %s: %s", st.Status, st.Error)
	}
	if _, err := b.api.Refresh(b.ctx, ctxID); apiStatus(err) != http.StatusConflict {
		t.Fatalf("refresh while failed over: %v, want 409", err)
	}
	if _, err := b.api.UpdateContext(b.ctx, ctxID, failover.ContextUpdate{Status: store.StatusReplicating}); apiStatus(err) != http.StatusConflict {
		t.Fatalf("update while failed over: %v, want 409", err)
	}
	if err := b.api.Unregister(b.ctx, ctxID); apiStatus(err) != http.StatusConflict {
		t.Fatalf("unregister while failed over: %v, want 409", err)
	}
	if rb := b.rollback(t, failover.RollbackRequest{ContextID: ctxID}); rb.Status != store.JobCompleted {
		t.Fatalf("rollback ended %s: %s", rb.Status, rb.Error)
	}
	if err := b.api.Unregister(b.ctx, ctxID); err != nil {
		t.Fatalf("unregister: %v", err)
	}
	if _, err := b.api.Context(b.ctx, ctxID); apiStatus(err) != http.StatusNotFound {
		t.Fatalf("the unregistered context: %v, want 404", err)
	}
	// The audit keeps every decision on the VM, unregistered as it is.
	for _, k := range []string{"refresh", "update-context", "unregister"} {
		audit, err := b.api.Audit(b.ctx, client.AuditFilter{Decision: k})
		if err != nil {
			t.Fatal(err)
		}
		if !slices.ContainsFunc(audit, func(d apiv1.Decision) bool { return d.ContextID == ctxID }) {
			t.Errorf("no %s decision on %s in the audit: %+v", k, ctxID, audit)
		}
	}
	// The VM registers again.
	if _, err := b.api.Register(b.ctx, b.lab.Manifest().VMs[0].Register); err != nil {
		t.Fatalf("registering again: %v", err)
	}
}

// TestForcedCleanupForces: a forced cleanup goes past what it cannot
// clean (a revert CloudStack refuses), lists it (the failover's record,
// the job's events, the audit) and leaves the VM cleanup_required with
// the snapshot kept; a second forced cleanup retries just that and ends
// ready_for_failover, the replica reverted.
func TestForcedCleanupForces(t *testing.T) {
	t.Parallel()
	b := setup(t, options{vms: 1})
	vm := &b.lab.VMs[0]
	ctxID := b.contexts[vm.Name]
	before := map[string]string{}
	for _, d := range vm.Disks {
		before[d.VolumeID] = b.checksum(t, d.Replica.URI)
	}
	if st := b.failover(t, failover.FailoverRequest{ContextID: ctxID, FailoverType: failover.Test}); st.Status != store.JobCompleted {
		t.Fatalf("test failover ended %s: %s", st.Status, st.Error)
	}
	if err := writeReplica(b, vm.Disks[0].Replica.URI, 4096, bytes.Repeat([]byte{0xee}, 8192)); err != nil {
		t.Fatal(err)
	}
	b.lab.CloudStack.FailNext("revertSnapshot", 1, 530, "Failed to revert snapshot")
	forced := failover.RollbackRequest{ContextID: ctxID, ForceCleanup: true, Confirm: vm.Name}
	rb := b.rollback(t, forced)
	if rb.Status != store.JobCompleted || rb.Failover == nil || len(rb.Failover.Leftovers) != 1 {
		t.Fatalf("forced rollback: %s %s, failover %+v", rb.Status, rb.Error, rb.Failover)
	}
	left := rb.Failover.Leftovers[0]
	if left.Kind != "snapshot" || left.Step != "revert-snapshots" || !strings.Contains(left.Error, "Failed to revert snapshot") ||
		rb.Failover.Status != store.FailoverRolledBack {
		t.Fatalf("leftover %+v, failover %s", left, rb.Failover.Status)
	}
	if got := b.contextStatus(t, vm.Name); got != store.StatusCleanupRequired {
		t.Fatalf("context with a leftover: %s, want cleanup_required", got)
	}
	if !slices.ContainsFunc(b.lab.CloudStack.Snapshots(), func(s cssim.Snapshot) bool { return s.ID == left.ID }) {
		t.Fatalf("the snapshot whose revert is a leftover was deleted")
	}
	events, err := b.api.Events(b.ctx, rb.ID)
	if err != nil || !slices.ContainsFunc(events, func(e apiv1.Event) bool { return strings.HasPrefix(e.Message, "left behind (force_cleanup)") }) {
		t.Fatalf("the rollback's events do not list the leftover: %v", err)
	}
	if audit, err := b.api.Audit(b.ctx, client.AuditFilter{JobID: rb.ID, Decision: "cleanup-leftovers"}); err != nil || len(audit) != 1 {
		t.Fatalf("leftovers audit: %+v %v", audit, err)
	}
	// The second forced cleanup retries it.
	rb = b.rollback(t, forced)
	if rb.Status != store.JobCompleted || len(rb.Failover.Leftovers) != 0 {
		t.Fatalf("second forced rollback: %s %s, leftovers %+v", rb.Status, rb.Error, rb.Failover.Leftovers)
	}
	if got := b.contextStatus(t, vm.Name); got != store.StatusReadyForFailover {
		t.Fatalf("context after the second cleanup: %s", got)
	}
	b.assertRolledBack(t, vm)
	for _, d := range vm.Disks {
		if b.checksum(t, d.Replica.URI) != before[d.VolumeID] {
			t.Fatalf("replica %s was not reverted by the second cleanup", d.VolumeID)
		}
	}
}
