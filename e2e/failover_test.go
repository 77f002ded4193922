package e2e

import (
	"bytes"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ossea/unifiedfailover/api/apiv1"
	"github.com/ossea/unifiedfailover/failover"
	"github.com/ossea/unifiedfailover/store"
)

func TestTestFailoverAndRollback(t *testing.T) {
	t.Parallel()
	b := setup(t, options{vms: 3})
	used := map[string]bool{}
	linux := b.pick(t, "linux", "", used)
	windows := b.pick(t, "windows", "efi", used)
	for _, vm := range []*struct {
		name    string
		windows bool
	}{{linux.Name, false}, {windows.Name, true}} {
		lvm, _ := b.lab.VMByName(vm.name)
		before := map[string]string{}
		for _, d := range lvm.Disks {
			before[d.VolumeID] = b.checksum(t, d.Replica.URI)
		}
		st := b.failover(t, failover.FailoverRequest{ContextID: b.contexts[vm.name], FailoverType: failover.Test})
		if st.Status != store.JobCompleted {
			t.Fatalf("%s: test failover ended %s: %s", vm.name, st.Status, st.Error)
		}
		if s := st.Step("source-power-off"); s.Status != store.StepSkipped || st.Step("final-sync").Status != store.StepSkipped {
			t.Fatalf("%s: a test failover must skip power-off and final sync: %+v", vm.name, st.Steps)
		}
		if got := st.Step("virtio-injection").Status; (got == store.StepCompleted) != vm.windows {
			t.Fatalf("%s: virtio-injection is %s", vm.name, got)
		}
		dest := b.assertFailedOver(t, lvm, "", false, lvm.TestMappings)
		if b.contextStatus(t, vm.name) != store.StatusFailedOverTest {
			t.Fatalf("%s: context is %s", vm.name, b.contextStatus(t, vm.name))
		}
		if got := b.powerState(t, lvm); got != "poweredOn" {
			t.Fatalf("%s: a test failover left the source %s", vm.name, got)
		}
		if called := strings.Contains(b.virtioCalls(t), vm.name+" "); called != vm.windows {
			t.Fatalf("%s: VirtIO injection ran=%v for a windows=%v guest: %q", vm.name, called, vm.windows, b.virtioCalls(t))
		}
		// The destination VM writes to its disks; a rollback must undo that.
		if err := writeReplica(b, lvm.Disks[0].Replica.URI, 4096, bytes.Repeat([]byte{0xd5}, 8192)); err != nil {
			t.Fatal(err)
		}
		rb := b.rollback(t, failover.RollbackRequest{ContextID: b.contexts[vm.name]})
		if rb.Status != store.JobCompleted || rb.Step("power-on-source").Status != store.StepSkipped {
			t.Fatalf("%s: rollback ended %s: %s %+v", vm.name, rb.Status, rb.Error, rb.Steps)
		}
		b.assertRolledBack(t, lvm)
		for _, d := range lvm.Disks {
			if got := b.checksum(t, d.Replica.URI); got != before[d.VolumeID] {
				t.Fatalf("%s: replica %s was not reverted to its snapshot", vm.name, d.VolumeID)
			}
		}
		if _, ok := b.lab.CloudStack.VM(dest.ID); ok {
			if v, _ := b.lab.CloudStack.VM(dest.ID); v.State != "Destroyed" && v.State != "Expunging" {
				t.Fatalf("%s: destination VM %s still %s", vm.name, dest.ID, v.State)
			}
		}
		if b.contextStatus(t, vm.name) != store.StatusReadyForFailover {
			t.Fatalf("%s: context is %s after rollback", vm.name, b.contextStatus(t, vm.name))
		}
	}
}

func TestLiveFailoverNeedsApprovalThenRollsBackAndCommits(t *testing.T) {
	t.Parallel()
	b := setup(t, options{vms: 2})
	vm := &b.lab.VMs[0]
	ctxID := b.contexts[vm.Name]

	_, err := b.api.Failover(b.ctx, failover.FailoverRequest{ContextID: ctxID, FailoverType: failover.Live})
	if apiStatus(err) != http.StatusPreconditionRequired {
		t.Fatalf("live failover without confirm: %v, want 428", err)
	}
	if p := planOf(err); p == nil || p.Config == nil || p.Config.DestinationVMName != vm.Name || len(p.Steps) != 10 || p.Preflight == nil {
		t.Fatalf("428 should carry the plan: %+v", p)
	}
	if jobs, _ := b.api.Context(b.ctx, ctxID); len(jobs.Jobs) != 0 {
		t.Fatalf("a refused live failover created jobs: %+v", jobs.Jobs)
	}

	// Bytes written to the source after the last sync must reach the replica.
	payload := bytes.Repeat([]byte("live-final-sync!"), 4096) // 64 KiB
	for i := range vm.Disks {
		if err := b.lab.WriteSource(b.ctx, vm.Name, i, vm.Disks[i].SizeBytes-int64(len(payload)), payload); err != nil {
			t.Fatal(err)
		}
	}
	st := b.failover(t, failover.FailoverRequest{ContextID: ctxID, FailoverType: failover.Live, Confirm: vm.Name})
	if st.Status != store.JobCompleted {
		t.Fatalf("live failover ended %s: %s", st.Status, st.Error)
	}
	if got := b.powerState(t, vm); got != "poweredOff" {
		t.Fatalf("live failover left the source %s", got)
	}
	for _, d := range vm.Disks {
		if b.checksum(t, d.Source.URI) != b.checksum(t, d.Replica.URI) {
			t.Fatalf("replica of disk %d differs from the source after the final sync", d.Key)
		}
	}
	if s := st.Step("final-sync"); s.Status != store.StepCompleted || s.Progress == nil || s.Progress.BytesDone != s.Progress.BytesTotal || s.Progress.BytesTotal == 0 {
		t.Fatalf("final-sync step: %+v", s)
	}
	// The final sync brought every replica up to date: the RPO reads near zero.
	if c, err := b.api.Context(b.ctx, ctxID); err != nil || c.RPOSeconds == nil || *c.RPOSeconds >= 60 ||
		c.ReplicationState != apiv1.ReplicationInSync {
		t.Fatalf("context after the final sync: %+v, %v", c, err)
	} else {
		for _, d := range c.Disks {
			if d.LastSyncedAt == nil || time.Since(*d.LastSyncedAt) > time.Minute {
				t.Fatalf("disk %d after the final sync: last_synced_at %v", d.DiskKey, d.LastSyncedAt)
			}
		}
	}
	b.assertFailedOver(t, vm, vm.Name, true, vm.LiveMappings)
	if b.contextStatus(t, vm.Name) != store.StatusFailedOverLive {
		t.Fatalf("context is %s", b.contextStatus(t, vm.Name))
	}

	if _, err := b.api.Rollback(b.ctx, failover.RollbackRequest{ContextID: ctxID}); apiStatus(err) != http.StatusPreconditionRequired {
		t.Fatalf("rollback of a live failover without confirm: %v, want 428", err)
	}
	rb := b.rollback(t, failover.RollbackRequest{ContextID: ctxID, Confirm: vm.Name})
	if rb.Status != store.JobCompleted || rb.Step("power-on-source").Status != store.StepCompleted {
		t.Fatalf("rollback ended %s: %s", rb.Status, rb.Error)
	}
	b.assertRolledBack(t, vm)
	if got := b.powerState(t, vm); got != "poweredOn" {
		t.Fatalf("rollback of a live failover left the source %s", got)
	}
	// The rollback of a live failover waits for VMware Tools in the source.
	if events, err := b.api.Events(b.ctx, rb.ID); err != nil ||
		!slices.ContainsFunc(events, func(e apiv1.Event) bool { return e.Message == "source VM powered on; VMware Tools run in it" }) {
		t.Fatalf("the rollback did not wait for VMware Tools: %v", err)
	}

	// Fail over again and commit: snapshots go, the context is completed.
	st = b.failover(t, failover.FailoverRequest{ContextID: ctxID, FailoverType: failover.Live, Confirm: vm.Name})
	if st.Status != store.JobCompleted || len(st.Failover.SnapshotIDs) != len(vm.Disks) {
		t.Fatalf("second live failover: %s %s snapshots=%v", st.Status, st.Error, st.Failover.SnapshotIDs)
	}
	// A commit destroys the rollback points: it needs the VM's name.
	if _, err := b.api.Commit(b.ctx, st.ID, ""); apiStatus(err) != http.StatusPreconditionRequired || planOf(err) == nil {
		t.Fatalf("commit without confirm: %v, want 428 with the plan", err)
	}
	cm, err := b.api.Commit(b.ctx, st.ID, vm.Name)
	if err != nil {
		t.Fatal(err)
	}
	if c := b.wait(t, cm.JobID); c.Status != store.JobCompleted {
		t.Fatalf("commit ended %s: %s", c.Status, c.Error)
	}
	for _, s := range b.lab.CloudStack.Snapshots() {
		for _, d := range vm.Disks {
			if s.VolumeID == d.VolumeID {
				t.Fatalf("snapshot %s left after commit", s.ID)
			}
		}
	}
	if b.contextStatus(t, vm.Name) != store.StatusCompleted || b.powerState(t, vm) != "poweredOff" {
		t.Fatalf("after commit: context %s, source %s", b.contextStatus(t, vm.Name), b.powerState(t, vm))
	}
	if _, err := b.api.Rollback(b.ctx, failover.RollbackRequest{ContextID: ctxID, Confirm: vm.Name}); apiStatus(err) != http.StatusConflict {
		t.Fatalf("rollback after commit: %v, want 409", err)
	}
}
