package failover

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"time"

	"github.com/ossea/unifiedfailover/calltime"
	"github.com/ossea/unifiedfailover/cloudstack"
	"github.com/ossea/unifiedfailover/errs"
	"github.com/ossea/unifiedfailover/store"
)

// validate re-runs the pre-flight checks at the start of the job.
func (s *stepEnv) validate(ctx context.Context) error {
	rep, err := s.e.Preflight(ctx, s.vm, s.cfg, s.Job.ID)
	if err != nil {
		return err
	}
	if !rep.Passed {
		return errs.New(errs.FailedPrecondition, "pre-flight failed: %s", strings.Join(rep.Failures(), "; "))
	}
	s.closing(ctx, "pre-flight passed", "checks", len(rep.Checks))
	return nil
}

// powerOffSource shuts the source VM down (guest shutdown, then hard off
// after the timeout) and confirms poweredOff. Already off is done.
func (s *stepEnv) powerOffSource(ctx context.Context) error {
	vc, err := s.e.vcenter(ctx)
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

// snapshotReplicas snapshots every replica volume: the rollback point. A
// volume whose snapshot this failover already took (recorded, or found by
// its name after a crash) is not snapshotted again.
func (s *stepEnv) snapshotReplicas(ctx context.Context) error {
	for _, d := range s.vm.Disks {
		if id := s.failover.SnapshotIDs[d.VolumeID]; id != "" {
			if _, err := s.e.cs.GetVolumeSnapshot(ctx, id); err == nil {
				continue
			} else if !errs.Is(err, errs.NotFound) {
				return err
			}
		}
		name := snapshotName(s.failover.ExternalJobID, d.VolumeID)
		snap, err := s.findSnapshot(ctx, d.VolumeID, name)
		if err != nil {
			return err
		}
		if snap == nil {
			if snap, err = s.e.cs.CreateVolumeSnapshot(ctx, d.VolumeID, name); err != nil {
				return err
			}
		}
		if err := s.e.store.SetSnapshotID(ctx, s.failover.JobID, d.VolumeID, snap.ID,
			s.record(ctx, "replica snapshotted", "volume_id", d.VolumeID, "snapshot_id", snap.ID)); err != nil {
			return err
		}
	}
	return nil
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

// injectVirtio runs the VirtIO injection command on the boot replica of a
// Windows guest. The command is idempotent (virt-v2v-in-place converts a
// converted guest again without harm).
func (s *stepEnv) injectVirtio(ctx context.Context) error {
	boot := s.vm.Disks[0]
	fields := strings.Fields(s.e.cfg.VirtioCommand)
	if len(fields) == 0 {
		return errs.New(errs.FailedPrecondition, "FAILOVER_VIRTIO_COMMAND is empty")
	}
	args := append(fields[1:], "-i", "disk", boot.ReplicaNBDURI)
	cmd := exec.CommandContext(ctx, fields[0], args...)
	cmd.Env = append(cmd.Environ(), "FAILOVER_VM_NAME="+s.cfg.VMName, "FAILOVER_VOLUME_ID="+boot.VolumeID,
		"FAILOVER_FIRMWARE="+s.cfg.Firmware, "FAILOVER_JOB_ID="+s.Job.ExternalID)
	ran := calltime.Start(ctx) // the command's run is time spent outside the orchestration
	out, err := cmd.CombinedOutput()
	ran()
	tail := string(out)
	if len(tail) > 2000 {
		tail = tail[len(tail)-2000:]
	}
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return errs.New(errs.FailedPrecondition, "VirtIO injection exited %d: %s", ee.ExitCode(), tail)
		}
		if ctx.Err() != nil {
			return errs.Transient(err, "running VirtIO injection")
		}
		return errs.Wrap(errs.FailedPrecondition, err, "running VirtIO injection command %q", fields[0])
	}
	s.closing(ctx, "VirtIO drivers injected", "volume_id", boot.VolumeID, "output", tail)
	return nil
}

// createVM deploys the destination VM, stopped, unless this failover
// already made it.
func (s *stepEnv) createVM(ctx context.Context) error {
	if vm, err := s.destinationVM(ctx); err != nil || vm != nil {
		if vm != nil {
			s.event(ctx, "destination VM already exists", "vm_id", vm.ID)
		}
		return err
	}
	if existing, err := s.e.cs.FindVMByName(ctx, s.cfg.DestinationVMName); err == nil {
		return errs.New(errs.FailedPrecondition, "a CloudStack VM named %s already exists (%s) and was not made by this failover",
			s.cfg.DestinationVMName, existing.ID)
	} else if !errs.Is(err, errs.NotFound) {
		return err
	}
	offs, err := s.e.cs.ListServiceOfferings(ctx)
	if err != nil {
		return err
	}
	off := pickOffering(offs, s.cfg.CPUCount, s.cfg.MemoryMB)
	if off == nil {
		return errs.New(errs.FailedPrecondition, "no service offering has %d CPU and %d MB", s.cfg.CPUCount, s.cfg.MemoryMB)
	}
	spec := cloudstack.DeploySpec{Name: s.cfg.DestinationVMName, ServiceOfferingID: off.ID,
		DisplayName: fmt.Sprintf("%s (failover %s)", s.cfg.DestinationVMName, s.failover.ExternalJobID),
		TemplateID:  s.e.cfg.TemplateID, ZoneID: s.e.cfg.ZoneID, BootMode: cloudstack.BootBIOS}
	if s.cfg.Firmware == "efi" {
		spec.BootMode = cloudstack.BootUEFI
	}
	for _, n := range s.cfg.NICs {
		if n.DestinationNetworkID == "" {
			return errs.New(errs.FailedPrecondition, "source network %s has no destination network", n.SourceNetworkName)
		}
		spec.NICs = append(spec.NICs, cloudstack.NICSpec{NetworkID: n.DestinationNetworkID, MAC: n.MAC})
	}
	vm, err := s.e.cs.DeployVM(ctx, spec)
	if err != nil {
		return err
	}
	return s.e.store.SetDestinationVM(ctx, s.failover.JobID, vm.ID,
		s.record(ctx, "destination VM created", "vm_id", vm.ID, "name", vm.Name, "offering", off.Name, "nics", len(vm.NICs)))
}

// destinationVM finds the VM this failover made: by the recorded id, or
// by name and the job id in its display name (after a crash between deploy
// and record). It returns nil when there is none.
func (s *stepEnv) destinationVM(ctx context.Context) (*cloudstack.VM, error) {
	if id := s.failover.DestinationVMID; id != "" {
		vm, err := s.e.cs.GetVM(ctx, id)
		switch {
		case err == nil && vm.State != cloudstack.StateDestroyed && vm.State != cloudstack.StateExpunging:
			return vm, nil
		case err != nil && !errs.Is(err, errs.NotFound):
			return nil, err
		}
	}
	vm, err := s.e.cs.FindVMByName(ctx, s.cfg.DestinationVMName)
	if errs.Is(err, errs.NotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if !madeBy(vm, s.failover.ExternalJobID) {
		return nil, nil
	}
	if vm.ID != s.failover.DestinationVMID {
		if err := s.e.store.SetDestinationVM(ctx, s.failover.JobID, vm.ID); err != nil {
			return nil, err
		}
		s.failover.DestinationVMID = vm.ID
	}
	return vm, nil
}

// deviceID is the CloudStack device id of the disk at order i: the boot
// disk is 0; 3 is CloudStack's CD-ROM slot.
func deviceID(order int) int {
	if order >= 3 {
		return order + 1
	}
	return order
}

// moveVolumesToVM detaches each replica from the appliance and attaches it
// to the destination VM in disk order, the boot disk as device 0. A volume
// already where it belongs is left alone.
func (s *stepEnv) moveVolumesToVM(ctx context.Context) error {
	vm, err := s.destinationVM(ctx)
	if err != nil {
		return err
	}
	if vm == nil {
		return errs.New(errs.FailedPrecondition, "the destination VM %s does not exist", s.cfg.DestinationVMName)
	}
	for i, d := range s.vm.Disks {
		v, err := s.e.cs.GetVolume(ctx, d.VolumeID)
		if err != nil {
			return err
		}
		want := deviceID(i)
		switch v.VMID {
		case vm.ID:
			if v.DeviceID != want {
				return errs.New(errs.FailedPrecondition, "volume %s is attached to %s as device %d, not %d", v.ID, vm.ID, v.DeviceID, want)
			}
			continue
		case s.e.cfg.ApplianceVMID:
			if _, err := s.e.cs.DetachVolume(ctx, v.ID); err != nil {
				return err
			}
		case "":
		default:
			return errs.New(errs.FailedPrecondition, "volume %s is attached to VM %s, neither the appliance nor the destination", v.ID, v.VMID)
		}
		if _, err := s.e.cs.AttachVolume(ctx, v.ID, vm.ID, want); err != nil {
			return err
		}
		s.event(ctx, "replica attached to the destination VM", "volume_id", v.ID, "device_id", want)
	}
	return nil
}

// startVM starts the destination VM and waits until it runs.
func (s *stepEnv) startVM(ctx context.Context) error {
	vm, err := s.destinationVM(ctx)
	if err != nil {
		return err
	}
	if vm == nil {
		return errs.New(errs.FailedPrecondition, "the destination VM %s does not exist", s.cfg.DestinationVMName)
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
	if s.cfg.FailoverType == Live {
		status = store.StatusFailedOverLive
	}
	return s.e.store.SetFailoverAndContextStatus(ctx, s.failover.JobID, store.FailoverCompleted, s.vm.ContextID, status)
}
