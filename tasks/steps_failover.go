package tasks

import (
	"context"
	"encoding/json"
	"strings"
	"time"

	"github.com/ossea/unifiedfailover/cloudstack"
	"github.com/ossea/unifiedfailover/errs"
	"github.com/ossea/unifiedfailover/failover"
	"github.com/ossea/unifiedfailover/store"
)

// validate re-runs the pre-flight checks at the start of the job; with
// skip_validation only the hard ones count.
func (s *stepEnv) validate(ctx context.Context) error {
	if err := s.e.store.MarkFailoverRunning(ctx, s.failover.JobID, sourceSpec(s.vm)); err != nil {
		return err
	}
	rep, err := s.e.Preflight(ctx, s.vm, s.cfg, s.Job.ID)
	if err != nil {
		return err
	}
	if err := rep.Gate(s.cfg.SkipValidation); err != nil {
		return err
	}
	if s.cfg.SkipValidation {
		s.closing(ctx, "hard checks passed; the others skipped on the operator's request (audited)",
			"checks", len(rep.Checks), "skipped", strings.Join(rep.SoftChecks(), ","), "failures", strings.Join(rep.Failures(), "; "))
		return nil
	}
	s.closing(ctx, "pre-flight passed", "checks", len(rep.Checks))
	return nil
}

// sourceSpec is the source VM's spec as the job starts from it (the
// context's record: CPU, memory, OS, firmware, disks, NICs).
func sourceSpec(vm *store.VMContext) json.RawMessage {
	spec, _ := json.Marshal(map[string]any{"vm_name": vm.VMName, "vmware_vm_id": vm.VMwareVMID,
		"vcenter_host": vm.VCenterHost, "datacenter": vm.Datacenter, "cpu_count": vm.CPUCount, "memory_mb": vm.MemoryMB,
		"os_type": vm.OSType, "firmware": vm.Firmware, "disks": vm.Disks, "networks": vm.NICs})
	return spec
}

// powerOffSource shuts the source VM down (guest shutdown, then hard off
// after the timeout) and confirms poweredOff. Already off is done.
func (s *stepEnv) powerOffSource(ctx context.Context) error {
	vc, err := s.e.VCenter(ctx)
	if err != nil {
		return err
	}
	res, err := vc.ShutdownGuest(ctx, s.cfg.VMwareVMID, time.Duration(s.cfg.ShutdownTimeout))
	if err != nil {
		return err
	}
	s.closing(ctx, "source VM is powered off", "path", string(res.Path), "took_ms", res.Took.Milliseconds(), "reason", res.Reason)
	return nil
}

// snapshotReplicas snapshots every replica volume, detached: the rollback
// point. A snapshot of a detached volume involves no instance, so KVM
// takes it whatever kvm.snapshot.enabled says, and no two snapshots
// contend for the appliance ("There is other active snapshot tasks on the
// instance", SnapshotManagerImpl.supportedByHypervisor). Each snapshot is
// waited for until BackedUp, the wait scaled by the volume's size. On a
// retry, a snapshot this failover already took (recorded, or found by its
// name after a crash) is adopted only once BackedUp; one still being
// taken is waited for; one in Error is deleted and taken again.
func (s *stepEnv) snapshotReplicas(ctx context.Context) error {
	for _, d := range s.vm.Disks {
		if err := s.snapshotReplica(ctx, d); err != nil {
			return err
		}
	}
	return nil
}

// snapshotBackupRate is the slowest backup to secondary storage a
// snapshot's wait allows for, on top of snapshotBaseWait.
const (
	snapshotBackupRate = 25 << 20 // bytes per second
	snapshotBaseWait   = 5 * time.Minute
)

// snapshotWait is how long one volume's snapshot may take.
func snapshotWait(sizeBytes int64) time.Duration {
	return snapshotBaseWait + time.Duration(sizeBytes/snapshotBackupRate)*time.Second
}

func (s *stepEnv) snapshotReplica(ctx context.Context, d store.Disk) error {
	v, err := s.e.cs.GetVolume(ctx, d.VolumeID)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, snapshotWait(max(v.SizeBytes, d.SizeBytes)))
	defer cancel()
	name := snapshotName(s.failover.ExternalJobID, d.VolumeID)
	snap, err := s.existingSnapshot(ctx, d.VolumeID, name)
	if err != nil {
		return err
	}
	if snap != nil && snap.State == cloudstack.SnapshotError {
		if err := s.e.cs.DeleteVolumeSnapshot(ctx, snap.ID); err != nil && !errs.Is(err, errs.NotFound) {
			return err
		}
		s.event(ctx, "snapshot in Error deleted; taking it again", "volume_id", d.VolumeID, "snapshot_id", snap.ID)
		snap = nil
	}
	if snap == nil {
		if v.VMID != "" {
			return errs.New(errs.FailedPrecondition, "replica %s is attached to VM %s: rollback snapshots are taken of detached replicas", v.ID, v.VMID)
		}
		if snap, err = s.e.cs.CreateVolumeSnapshot(ctx, d.VolumeID, name); err != nil {
			return err
		}
	}
	if !snap.Ready() {
		if snap, err = s.e.cs.WaitSnapshot(ctx, snap.ID); err != nil {
			return err
		}
	}
	if s.failover.SnapshotIDs[d.VolumeID] == snap.ID {
		return nil
	}
	return s.e.store.SetSnapshotID(ctx, s.failover.JobID, d.VolumeID, snap.ID,
		s.record(ctx, "replica snapshotted", "volume_id", d.VolumeID, "snapshot_id", snap.ID, "state", snap.State))
}

// existingSnapshot returns the snapshot this failover took of a volume:
// the recorded one, or the one with its name; nil when there is none.
func (s *stepEnv) existingSnapshot(ctx context.Context, volumeID, name string) (*cloudstack.Snapshot, error) {
	if id := s.failover.SnapshotIDs[volumeID]; id != "" {
		snap, err := s.e.cs.GetVolumeSnapshot(ctx, id)
		if err == nil {
			return snap, nil
		}
		if !errs.Is(err, errs.NotFound) {
			return nil, err
		}
	}
	return s.findSnapshot(ctx, volumeID, name)
}

func snapshotName(externalJobID, volumeID string) string {
	return "rollback-" + externalJobID + "-" + volumeID
}

func (s *stepEnv) findSnapshot(ctx context.Context, volumeID, name string) (*cloudstack.Snapshot, error) {
	snaps, err := s.e.cs.ListVolumeSnapshots(ctx, volumeID)
	if err != nil {
		return nil, err
	}
	for i := range snaps {
		if snaps[i].Name == name {
			return &snaps[i], nil
		}
	}
	return nil, nil
}

// injectVirtio runs VirtIO injection on the boot replica of a Windows
// guest, after its rollback snapshot. The tool works on the replica's
// block device on the appliance, so the step attaches the detached boot
// replica to the appliance (at its registered device id), injects, and
// detaches it again. The tool converts a converted guest again without
// harm, so a retry simply runs it again.
func (s *stepEnv) injectVirtio(ctx context.Context) error {
	boot := s.vm.Disks[0]
	v, err := s.e.cs.GetVolume(ctx, boot.VolumeID)
	if err != nil {
		return err
	}
	switch v.VMID {
	case s.e.cfg.ApplianceVMID:
	case "":
		if _, err := s.e.cs.AttachVolume(ctx, v.ID, s.e.cfg.ApplianceVMID, applianceDeviceID(boot)); err != nil {
			return err
		}
		s.event(ctx, "boot replica attached to the appliance for VirtIO injection", "volume_id", v.ID)
	default:
		return errs.New(errs.FailedPrecondition, "boot replica %s is attached to VM %s, not the appliance: VirtIO injection needs it on the appliance", v.ID, v.VMID)
	}
	out, err := s.e.inject(ctx, s, boot)
	if err != nil {
		return err
	}
	if _, err := s.e.cs.DetachVolume(ctx, v.ID); err != nil {
		return err
	}
	s.closing(ctx, "VirtIO drivers injected", "volume_id", boot.VolumeID, "output", out)
	return nil
}

// applianceDeviceID is the device id a replica had on the appliance at
// registration, or AutoDeviceID when it was not recorded.
func applianceDeviceID(d store.Disk) int {
	if d.ApplianceDeviceID != nil {
		return *d.ApplianceDeviceID
	}
	return cloudstack.AutoDeviceID
}

// startVM starts the destination VM and waits until it runs.
func (s *stepEnv) startVM(ctx context.Context) error {
	vm, err := s.destinationVM(ctx)
	if err != nil {
		return err
	}
	if vm == nil {
		return errs.New(errs.FailedPrecondition, "the destination VM %s does not exist", s.cfg.HostName())
	}
	if vm.State != cloudstack.StateRunning {
		if vm, err = s.e.cs.StartVM(ctx, vm.ID); err != nil {
			return err
		}
	}
	for vm.State != cloudstack.StateRunning {
		if vm.State != cloudstack.StateStarting {
			return errs.New(errs.FailedPrecondition, "the destination VM %s is %s, not Running", vm.ID, vm.State)
		}
		select {
		case <-ctx.Done():
			return errs.Transient(ctx.Err(), "waiting for VM %s to run", vm.ID)
		case <-time.After(time.Second):
		}
		if vm, err = s.e.cs.GetVM(ctx, vm.ID); err != nil {
			return err
		}
	}
	s.closing(ctx, "destination VM is running", "vm_id", vm.ID, "rto_seconds", time.Since(s.cfg.RequestedAt).Seconds())
	return nil
}

// finishFailover records the outcome: the failover completed and the VM
// context failed over.
func (s *stepEnv) finishFailover(ctx context.Context) error {
	status := store.StatusFailedOverTest
	if s.cfg.FailoverType == failover.Live {
		status = store.StatusFailedOverLive
	}
	return s.e.store.SetFailoverAndContextStatus(ctx, s.failover.JobID, store.FailoverCompleted, s.vm.ContextID, status)
}
