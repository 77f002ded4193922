package lab

import (
	"context"
	"fmt"
	"runtime"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/ossea/unifiedfailover/sim/vcenter"
	"github.com/ossea/unifiedfailover/vsphere"
)

// seedVMs creates the planned VMs: first, several at once, their disks'
// exports with the seeded data written to the sources and copied to the
// replicas; then, one by one and in order, the VMs in the vCenter simulator
// (powered on); then, several at once, the change ids the replicas are in
// sync with. Creating VMs one at a time is not only deterministic: vcsim
// races when a VM is created while another task resolves datastore paths.
func (l *Lab) seedVMs(ctx context.Context, plans []vmPlan, sc scene) error {
	l.VMs = make([]VM, len(plans))
	// nbdkit start-up and the simulator's SOAP calls wait more than they
	// compute: a few VMs per core keep both cores busy.
	limit := 4 * runtime.GOMAXPROCS(0)

	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(limit)
	for i, p := range plans {
		g.Go(func() error {
			vm, err := l.startVMDisks(gctx, p, sc)
			if err != nil {
				return fmt.Errorf("seeding the disks of VM %s: %w", p.name, err)
			}
			l.VMs[i] = vm
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return err
	}

	for i, p := range plans {
		if err := l.createVM(ctx, &l.VMs[i], p); err != nil {
			return fmt.Errorf("creating VM %s: %w", p.name, err)
		}
	}

	vc, err := vsphere.Dial(ctx, vsphere.Config{
		URL: l.VCenter.URL, User: l.VCenter.User, Password: l.VCenter.Password, Insecure: true,
	})
	if err != nil {
		return fmt.Errorf("logging in to the vcenter simulator: %w", err)
	}
	defer func() { _ = vc.Close(context.WithoutCancel(ctx)) }()
	g, gctx = errgroup.WithContext(ctx)
	g.SetLimit(limit)
	for i := range l.VMs {
		vm := &l.VMs[i]
		// One disk after the other: each query takes a snapshot of the VM.
		g.Go(func() error {
			for j := range vm.Disks {
				at := time.Now().UTC()
				id, err := vc.CurrentChangeID(gctx, vm.UUID, vm.Disks[j].Key)
				if err != nil {
					return fmt.Errorf("reading the change id of disk %d of VM %s: %w", j+1, vm.Name, err)
				}
				vm.Disks[j].ChangeID, vm.Disks[j].SyncedAt = id, at
			}
			return nil
		})
	}
	return g.Wait()
}

// startVMDisks starts the exports of the planned VM's disks and seeds
// them. It returns the VM without what vCenter assigns.
func (l *Lab) startVMDisks(ctx context.Context, p vmPlan, sc scene) (VM, error) {
	vm := VM{
		Name: p.name, OS: p.os, GuestID: p.guestID, Firmware: p.firmware,
		NumCPU: p.offering.cpus, MemoryMB: p.offering.memoryMB,
	}
	for j := range p.disks {
		d, err := l.startDisk(ctx, p.name, j)
		if err != nil {
			return VM{}, err
		}
		if err := seedDisk(ctx, &d, diskSeed(l.cfg.Seed, p.index, j), p.name, j); err != nil {
			return VM{}, err
		}
		vm.Disks = append(vm.Disks, d)
	}
	for _, n := range p.networks {
		live, test := sc.networks[n.live], sc.networks[n.test]
		vm.LiveMappings = append(vm.LiveMappings, Mapping{n.source, live.ID, live.Name})
		vm.TestMappings = append(vm.TestMappings, Mapping{n.source, test.ID, test.Name})
	}
	return vm, nil
}

// createVM creates the planned VM in the vCenter simulator, powered on,
// its disks' changes answered by their source exports, and records what
// vCenter assigned (UUID, ref, disk keys, NICs).
func (l *Lab) createVM(ctx context.Context, vm *VM, p vmPlan) error {
	def := vcenter.VMDef{
		Name: p.name, NumCPU: p.offering.cpus, MemoryMB: p.offering.memoryMB,
		GuestID: p.guestID, Firmware: p.firmware, PowerOn: true,
	}
	for _, d := range vm.Disks {
		def.Disks = append(def.Disks, vcenter.DiskDef{SizeBytes: d.SizeBytes, Changes: exportChanges{d.Source}})
	}
	for j, n := range p.networks {
		def.NICs = append(def.NICs, vcenter.NICDef{NetworkName: n.source, MAC: p.macs[j]})
	}
	info, err := l.VCenter.CreateVM(ctx, def)
	if err != nil {
		return fmt.Errorf("creating the VM in the vcenter simulator: %w", err)
	}
	vm.UUID, vm.Ref = info.UUID, info.Ref
	for _, n := range info.NICs {
		vm.NICs = append(vm.NICs, NIC{NetworkName: n.NetworkName, MAC: n.MAC})
	}
	for j := range vm.Disks {
		vm.Disks[j].Key = info.Disks[j].Key
	}
	return nil
}
