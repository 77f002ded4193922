package tasks

import (
	"context"
	"fmt"
	"time"

	"github.com/ossea/unifiedfailover/cloudstack"
	"github.com/ossea/unifiedfailover/errs"
	"github.com/ossea/unifiedfailover/failover"
	"github.com/ossea/unifiedfailover/queue"
	"github.com/ossea/unifiedfailover/store"
)

// stopDestinationVM stops the destination VM if the failover made one and
// it is not stopped: a graceful stop first. A forced stop only marks the
// VM Stopped in CloudStack, even when its host did not answer (StopVMCmd),
// and the guest may still be writing its disks; so it is used only when
// the operator asked for force_cleanup, and it is recorded.
func (s *stepEnv) stopDestinationVM(ctx context.Context) error {
	vm, err := s.destinationVM(ctx)
	if err != nil || vm == nil {
		if vm == nil && err == nil {
			s.event(ctx, "no destination VM to stop")
		}
		return err
	}
	if vm.State == cloudstack.StateStopped {
		return nil
	}
	_, err = s.e.cs.StopVM(ctx, vm.ID, false)
	if err == nil {
		s.closing(ctx, "destination VM stopped", "vm_id", vm.ID)
		return nil
	}
	if !s.rollback.ForceCleanup {
		return err
	}
	s.event(ctx, "graceful stop failed; forcing the stop (force_cleanup)", "vm_id", vm.ID, "error", err.Error())
	if _, err := s.e.cs.StopVM(ctx, vm.ID, true); err != nil {
		return s.goPast(ctx, "vm", vm.ID, err)
	}
	return s.e.store.SetDestinationVM(ctx, s.failover.JobID, vm.ID,
		s.record(ctx, "destination VM stopped with forced=true (force_cleanup): CloudStack marks it Stopped even if its host did not answer", "vm_id", vm.ID))
}

// detachReplicas detaches every replica from the destination VM, and from
// the appliance too when it has a snapshot to revert (CloudStack reverts a
// volume only while it is detached or its VM stopped).
func (s *stepEnv) detachReplicas(ctx context.Context) error {
	vm, err := s.destinationVM(ctx)
	if err != nil {
		return err
	}
	for _, d := range s.vm.Disks {
		v, err := s.e.cs.GetVolume(ctx, d.VolumeID)
		if err != nil {
			if err := s.goPast(ctx, "volume", d.VolumeID, err); err != nil {
				return err
			}
			continue
		}
		onDestination := vm != nil && v.VMID == vm.ID
		forRevert := v.VMID == s.e.cfg.ApplianceVMID && s.failover.SnapshotIDs[d.VolumeID] != ""
		if !onDestination && !forRevert {
			continue
		}
		if _, err := s.e.cs.DetachVolume(ctx, v.ID); err != nil {
			if err := s.goPast(ctx, "volume", v.ID, err); err != nil {
				return err
			}
			continue
		}
		s.event(ctx, "replica detached", "volume_id", v.ID, "from_vm", v.VMID)
	}
	return nil
}

// destroyDestinationVM expunges the destination VM. Expunging destroys
// the ROOT-typed volumes attached to the VM (VolumeOrchestrator.
// cleanupVolumes), and the boot replica is ROOT-typed while it is at
// device 0: so the step first checks that no replica is attached to the
// VM, and fails with a clear error if one is. A template ROOT volume the
// failover left detached is deleted too.
func (s *stepEnv) destroyDestinationVM(ctx context.Context) error {
	vm, err := s.destinationVM(ctx)
	if err != nil {
		return err
	}
	if vm != nil {
		vols, err := s.e.cs.ListVolumes(ctx, cloudstack.VolumeFilter{VMID: vm.ID})
		if err != nil {
			return err
		}
		// This guard is never gone past, force_cleanup or not: the VM is
		// left (a leftover) rather than the replica destroyed.
		attached := ""
		for _, v := range vols {
			if s.isReplica(v.ID) {
				attached = fmt.Sprintf("replica %s is still attached to the destination VM %s as device %d (%s): expunging the VM would destroy it; detach it first",
					v.ID, vm.ID, v.DeviceID, v.Type)
				break
			}
		}
		switch {
		case attached != "":
			if err := s.goPast(ctx, "vm", vm.ID, errs.New(errs.FailedPrecondition, "%s", attached)); err != nil {
				return err
			}
		default:
			if err := s.e.cs.DestroyVM(ctx, vm.ID, true); err != nil && !errs.Is(err, errs.NotFound) {
				if err := s.goPast(ctx, "vm", vm.ID, err); err != nil {
					return err
				}
				break
			}
			if err := s.e.store.SetDestinationVM(ctx, s.failover.JobID, "", s.record(ctx, "destination VM destroyed", "vm_id", vm.ID)); err != nil {
				return err
			}
		}
	}
	if id := s.failover.TemplateVolumeID; id != "" {
		return s.goPast(ctx, "template-volume", id, s.deleteTemplateVolume(ctx, id))
	}
	return nil
}

// isReplica reports whether a volume is one of the VM's replicas.
func (s *stepEnv) isReplica(volumeID string) bool {
	for _, d := range s.vm.Disks {
		if d.VolumeID == volumeID {
			return true
		}
	}
	return false
}

// revertSnapshots reverts every replica to the failover's snapshot, so
// what the destination VM wrote is gone. Reverting twice is harmless.
func (s *stepEnv) revertSnapshots(ctx context.Context) error {
	for _, d := range s.vm.Disks {
		id := s.failover.SnapshotIDs[d.VolumeID]
		if id == "" {
			s.event(ctx, "no snapshot of replica: nothing to revert", "volume_id", d.VolumeID)
			continue
		}
		if err := s.e.cs.RevertVolumeSnapshot(ctx, id); err != nil {
			// Not reverted, the replica still holds what the destination
			// VM wrote: a leftover the operator must see.
			if err := s.goPast(ctx, "snapshot", id, err); err != nil {
				return err
			}
			continue
		}
		s.event(ctx, "replica reverted to its snapshot", "volume_id", d.VolumeID, "snapshot_id", id)
	}
	return nil
}

// reattachToAppliance attaches every detached replica to the appliance at
// the device id it had at registration, so whatever serves it from the
// appliance keeps pointing at the right disk. Detached from a device 0,
// the boot replica is a DATADISK again (VolumeDaoImpl.detachVolume).
func (s *stepEnv) reattachToAppliance(ctx context.Context) error {
	for _, d := range s.vm.Disks {
		v, err := s.e.cs.GetVolume(ctx, d.VolumeID)
		if err != nil {
			if err := s.goPast(ctx, "volume", d.VolumeID, err); err != nil {
				return err
			}
			continue
		}
		switch v.VMID {
		case s.e.cfg.ApplianceVMID:
			continue
		case "":
		default:
			if !s.rollback.ForceCleanup {
				return errs.New(errs.FailedPrecondition, "volume %s is attached to VM %s; force_cleanup detaches it", v.ID, v.VMID)
			}
			if _, err := s.e.cs.DetachVolume(ctx, v.ID); err != nil {
				if err := s.goPast(ctx, "volume", v.ID, err); err != nil {
					return err
				}
				continue
			}
		}
		dev := applianceDeviceID(d)
		if _, err := s.e.cs.AttachVolume(ctx, v.ID, s.e.cfg.ApplianceVMID, dev); err != nil {
			if err := s.goPast(ctx, "volume", v.ID, err); err != nil {
				return err
			}
			continue
		}
		s.event(ctx, "replica attached to the appliance", "volume_id", v.ID, "device_id", dev)
	}
	return nil
}

// deleteSnapshots deletes the failover's rollback snapshots; a snapshot
// whose revert this rollback could not do (a leftover) is kept, so a
// second rollback can still revert it.
func (s *stepEnv) deleteSnapshots(ctx context.Context) error {
	fo, err := s.e.store.GetFailoverJob(ctx, s.failover.JobID)
	if err != nil {
		return err
	}
	for vol, id := range s.failover.SnapshotIDs {
		if id == "" {
			continue
		}
		if fo.HasLeftover("snapshot", id) {
			s.event(ctx, "snapshot kept: its revert is a leftover", "snapshot_id", id, "volume_id", vol)
			continue
		}
		if err := s.e.cs.DeleteVolumeSnapshot(ctx, id); err != nil && !errs.Is(err, errs.NotFound) {
			if err := s.goPast(ctx, "snapshot", id, err); err != nil {
				return err
			}
			continue
		}
		if err := s.e.store.SetSnapshotID(ctx, s.failover.JobID, vol, "",
			s.record(ctx, "rollback snapshot deleted", "volume_id", vol, "snapshot_id", id)); err != nil {
			return err
		}
	}
	return nil
}

// powerOnSource powers the source VM on.
func (s *stepEnv) powerOnSource(ctx context.Context) error {
	vc, err := s.e.VCenter(ctx)
	if err != nil {
		return err
	}
	wait := false
	if s.rollback.WaitForTools {
		installed, err := vc.ToolsInstalled(ctx, s.cfg.VMwareVMID)
		if err != nil {
			return err
		}
		wait = installed
		if !installed {
			s.event(ctx, "the source VM has no VMware Tools: not waiting for them")
		}
	}
	pctx, cancel := ctx, context.CancelFunc(func() {})
	if wait {
		pctx, cancel = context.WithTimeout(ctx, toolsWait)
	}
	err = vc.PowerOn(pctx, s.cfg.VMwareVMID, wait)
	cancel()
	if err != nil {
		if wait && ctx.Err() == nil && pctx.Err() != nil {
			err = errs.New(errs.FailedPrecondition, "the source VM is on, but VMware Tools did not start in it within %s", toolsWait)
		}
		return s.goPast(ctx, "source-vm", s.cfg.VMwareVMID, err)
	}
	if wait {
		s.closing(ctx, "source VM powered on; VMware Tools run in it")
		return nil
	}
	s.closing(ctx, "source VM powered on")
	return nil
}

// toolsWait bounds the wait for VMware Tools after the source's power-on.
const toolsWait = 10 * time.Minute

// finishRollback records the outcome: the failover rolled back, the VM
// context ready for a failover again.
//
// After a forced cleanup that left resources behind, the failover is
// rolled back but the context stays cleanup_required, with the list in
// the failover's record, the job's events and the audit; a second forced
// rollback retries just them (every step reads the real state first).
func (s *stepEnv) finishRollback(ctx context.Context) error {
	fo, err := s.e.store.GetFailoverJob(ctx, s.failover.JobID)
	if err != nil {
		return err
	}
	if len(fo.Leftovers) > 0 {
		s.closing(ctx, "rolled back with leftovers: the VM stays cleanup_required", "leftovers", fo.Leftovers)
		if err := s.e.store.RecordDecision(ctx, nil, store.Decision{Decision: "cleanup-leftovers", Actor: s.Job.Actor,
			ContextID: s.vm.ContextID, JobID: s.Job.ID, ExternalJobID: s.Job.ExternalID,
			Choice: map[string]any{"failover_job_id": fo.JobID, "leftovers": fo.Leftovers}}); err != nil {
			return err
		}
		return s.e.store.SetFailoverAndContextStatus(ctx, s.failover.JobID, store.FailoverRolledBack,
			s.vm.ContextID, store.StatusCleanupRequired)
	}
	return s.e.store.SetFailoverAndContextStatus(ctx, s.failover.JobID, store.FailoverRolledBack,
		s.vm.ContextID, store.StatusReadyForFailover)
}

// goPast is how a rollback step meets the error of one of its resources:
// without force_cleanup, or for a transient error (retried as usual), it
// is the step's error; with force_cleanup a permanent one is recorded as
// a leftover (kind, id, error) and the step goes on.
func (s *stepEnv) goPast(ctx context.Context, kind, id string, err error) error {
	if err == nil {
		return nil
	}
	if !s.rollback.ForceCleanup || errs.IsTransient(err) {
		return err
	}
	l := store.Leftover{Kind: kind, ID: id, Step: s.Step.Name, Error: err.Error()}
	return s.e.store.AddLeftover(ctx, s.failover.JobID, l,
		s.record(ctx, "left behind (force_cleanup): "+err.Error(), "kind", kind, "id", id))
}

// finishCommit records a committed live failover.
func (s *stepEnv) finishCommit(ctx context.Context) error {
	return s.e.store.SetFailoverAndContextStatus(ctx, s.failover.JobID, store.FailoverCommitted,
		s.vm.ContextID, store.StatusCompleted)
}

// onFailed runs once when a step of a failover, rollback or commit finally
// fails: the failover is marked failed (for a failover job) and the VM
// context cleanup_required, so the operator decides what next.
func (e *engine) onFailed(ctx context.Context, run *queue.StepRun, cause error) error {
	if run.Job.Type == failover.JobFailover {
		if err := e.store.SetFailoverStatus(ctx, run.Job.ID, store.FailoverFailed); err != nil {
			return err
		}
	}
	if run.Job.ContextID == "" {
		return nil
	}
	return e.store.SetContextStatus(ctx, run.Job.ContextID, store.StatusCleanupRequired)
}
