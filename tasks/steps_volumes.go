package tasks

import (
	"context"

	"github.com/ossea/unifiedfailover/cloudstack"
	"github.com/ossea/unifiedfailover/errs"
)

// detachFromAppliance detaches every replica from the appliance, after the
// final sync (which writes through it) and before the snapshots (which
// are taken of detached replicas). A replica already detached, or on the
// destination VM this failover made, is left alone.
func (s *stepEnv) detachFromAppliance(ctx context.Context) error {
	n := 0
	for _, d := range s.vm.Disks {
		v, err := s.e.cs.GetVolume(ctx, d.VolumeID)
		if err != nil {
			return err
		}
		switch v.VMID {
		case "":
			continue
		case s.e.cfg.ApplianceVMID:
		default:
			if s.failover.DestinationVMID != "" && v.VMID == s.failover.DestinationVMID {
				continue
			}
			return errs.New(errs.FailedPrecondition, "replica %s is attached to VM %s (%s), neither the appliance nor this failover's VM", v.ID, v.VMName, v.VMID)
		}
		if _, err := s.e.cs.DetachVolume(ctx, v.ID); err != nil {
			return err
		}
		n++
		s.event(ctx, "replica detached from the appliance", "volume_id", v.ID, "device_id", v.DeviceID)
	}
	s.closing(ctx, "replicas detached from the appliance", "detached", n)
	return nil
}

// moveVolumesToVM makes the replicas the destination VM's disks. CloudStack
// gave the VM a ROOT volume from the template at device 0
// (VirtualMachineManagerImpl.allocateRootVolume), and refuses device 0
// while it is there ("Vm already has root volume attached to it",
// VolumeApiServiceImpl.checkDeviceId). So the template's ROOT volume is
// recorded, detached (the VM is stopped) and deleted; then the boot
// replica is attached at device 0 (it becomes the ROOT volume) and the
// others in disk order at 1, 2, 4, … (3 is the CD-ROM's). A retry after a
// crash anywhere in that sequence reads what is attached where and goes
// on: never two ROOT volumes, never a stray template volume.
func (s *stepEnv) moveVolumesToVM(ctx context.Context) error {
	vm, err := s.destinationVM(ctx)
	if err != nil {
		return err
	}
	if vm == nil {
		return errs.New(errs.FailedPrecondition, "the destination VM %s does not exist", s.cfg.HostName())
	}
	if err := s.removeTemplateVolume(ctx, vm); err != nil {
		return err
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

// deviceID is the CloudStack device id of the disk at order i: the boot
// disk is 0; 3 is CloudStack's CD-ROM slot.
func deviceID(order int) int {
	if order >= 3 {
		return order + 1
	}
	return order
}

// removeTemplateVolume detaches and deletes the ROOT volume CloudStack
// made from the template for the destination VM. The volume is recorded
// on the failover before it is detached, so it is found again after a
// crash between the detach and the delete.
func (s *stepEnv) removeTemplateVolume(ctx context.Context, vm *cloudstack.VM) error {
	replicas := map[string]bool{}
	for _, d := range s.vm.Disks {
		replicas[d.VolumeID] = true
	}
	id := s.failover.TemplateVolumeID
	if id == "" {
		vols, err := s.e.cs.ListVolumes(ctx, cloudstack.VolumeFilter{VMID: vm.ID})
		if err != nil {
			return err
		}
		for _, v := range vols {
			if v.Type == cloudstack.VolumeRoot && !replicas[v.ID] {
				id = v.ID
			}
		}
		if id == "" {
			return nil // removed already, or a template without one
		}
		if err := s.e.store.SetTemplateVolume(ctx, s.failover.JobID, id,
			s.record(ctx, "template ROOT volume of the destination VM to remove", "volume_id", id, "vm_id", vm.ID)); err != nil {
			return err
		}
		s.failover.TemplateVolumeID = id
	}
	return s.deleteTemplateVolume(ctx, id)
}

// deleteTemplateVolume detaches (when attached) and deletes the template
// ROOT volume id; a volume already gone is done.
func (s *stepEnv) deleteTemplateVolume(ctx context.Context, id string) error {
	v, err := s.e.cs.GetVolume(ctx, id)
	if errs.Is(err, errs.NotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if v.VMID != "" {
		if _, err := s.e.cs.DetachVolume(ctx, id); err != nil {
			return err
		}
	}
	if err := s.e.cs.DeleteVolume(ctx, id); err != nil && !errs.Is(err, errs.NotFound) {
		return err
	}
	s.event(ctx, "template ROOT volume deleted", "volume_id", id)
	return nil
}
