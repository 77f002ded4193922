package tasks

import (
	"context"

	"github.com/ossea/unifiedfailover/cloudstack"
	"github.com/ossea/unifiedfailover/errs"
	"github.com/ossea/unifiedfailover/failover"
)

// createVM deploys the destination VM, stopped, unless this failover
// already made it: one NIC per source NIC, in order, on its mapped
// network, keeping its MAC.
func (s *stepEnv) createVM(ctx context.Context) error {
	vm, err := s.destinationVM(ctx)
	if err != nil {
		return err
	}
	if vm != nil {
		s.event(ctx, "destination VM already exists", "vm_id", vm.ID)
		return nil
	}
	_, err = s.deployVM(ctx)
	return err
}

func (s *stepEnv) deployVM(ctx context.Context) (*cloudstack.VM, error) {
	name := s.cfg.HostName()
	if existing, err := s.e.cs.FindVMByName(ctx, name); err == nil {
		return nil, errs.New(errs.FailedPrecondition, "a CloudStack VM named %s already exists (%s) and was not made by this failover",
			name, existing.ID)
	} else if !errs.Is(err, errs.NotFound) {
		return nil, err
	}
	offs, err := s.e.cs.ListServiceOfferings(ctx)
	if err != nil {
		return nil, err
	}
	off := failover.PickOffering(offs, s.cfg.CPUCount, s.cfg.MemoryMB)
	if off == nil {
		return nil, errs.New(errs.FailedPrecondition, "no service offering has %d CPU and %d MB", s.cfg.CPUCount, s.cfg.MemoryMB)
	}
	spec := cloudstack.DeploySpec{Name: name, ServiceOfferingID: off.ID,
		DisplayName: failover.DisplayName(s.cfg.DestinationVMName, s.failover.ExternalJobID),
		TemplateID:  s.e.cfg.TemplateID, ZoneID: s.e.cfg.ZoneID, BootMode: cloudstack.BootBIOS}
	if off.Customized {
		spec.CPUs, spec.MemoryMB = s.cfg.CPUCount, s.cfg.MemoryMB
		if off.CPUSpeedMHz == 0 {
			spec.CPUSpeedMHz = customCPUSpeedMHz
		}
	}
	if s.cfg.Firmware == "efi" {
		spec.BootMode = cloudstack.BootUEFI
	}
	for _, n := range s.cfg.NICs {
		if n.DestinationNetworkID == "" {
			return nil, errs.New(errs.FailedPrecondition, "source network %s has no destination network", n.SourceNetworkName)
		}
	}
	if shared := failover.SharedNetworks(s.cfg.NICs); shared != "" {
		return nil, errs.New(errs.FailedPrecondition, "%s: CloudStack gives a VM at most one NIC per network; map them to different networks", shared)
	}
	for _, n := range s.cfg.NICs {
		spec.NICs = append(spec.NICs, cloudstack.NICSpec{NetworkID: n.DestinationNetworkID, MAC: n.MAC})
	}
	vm, err := s.e.cs.DeployVM(ctx, spec)
	if err != nil {
		return nil, err
	}
	if err := s.e.store.SetDestinationVM(ctx, s.failover.JobID, vm.ID,
		s.record(ctx, "destination VM created", "vm_id", vm.ID, "name", vm.Name, "display_name", spec.DisplayName,
			"offering", off.Name, "customized", off.Customized, "nics", len(vm.NICs))); err != nil {
		return nil, err
	}
	s.failover.DestinationVMID = vm.ID
	return vm, nil
}

// customCPUSpeedMHz is the CPU speed a VM deployed from a customized
// offering that leaves the speed open is given (CloudStack needs one; on
// KVM it sets the VM's CPU shares). vCenter has no such figure for the
// source VM.
const customCPUSpeedMHz = 2000

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
	vm, err := s.e.cs.FindVMByName(ctx, s.cfg.HostName())
	if errs.Is(err, errs.NotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if !failover.MadeBy(vm, s.failover.ExternalJobID) {
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
