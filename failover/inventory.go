package failover

import (
	"context"
	"fmt"

	"github.com/ossea/unifiedfailover/cloudstack"
	"github.com/ossea/unifiedfailover/store"
	"github.com/ossea/unifiedfailover/vsphere"
)

// InventoryEntry is one of vCenter's VMs as a candidate for protection:
// the VM, its context when it is protected, and each disk's replica.
type InventoryEntry struct {
	VM vsphere.InventoryVM
	// Context is the VM's context; nil when the VM is not protected.
	Context *store.VMContext
	// Replicas by disk key.
	Replicas map[int32]ReplicaMatch
}

// ReplicaMatch is the replica of one disk: the registered one, or the
// volume ReplicaRules name on the appliance, or why there is none.
type ReplicaMatch struct {
	VolumeID   string
	VolumeName string
	// FoundBy is "registered" or "naming_rule"; empty with Problem.
	FoundBy string
	// Problem says why no replica was found (none, or several, by the
	// naming rule).
	Problem string
}

// Replica match sources.
const (
	FoundRegistered = "registered"
	FoundByName     = "naming_rule"
)

// Inventory lists vCenter's VMs with, for each, whether it is protected
// and each disk's replica: the registered volume of a protected VM, the
// appliance volume the naming rule finds for the others.
func (e *Engine) Inventory(ctx context.Context) ([]InventoryEntry, error) {
	vc, err := e.VCenter(ctx)
	if err != nil {
		return nil, err
	}
	vms, err := vc.Inventory(ctx)
	if err != nil {
		return nil, err
	}
	cs, err := e.store.ListContexts(ctx)
	if err != nil {
		return nil, err
	}
	byUUID := make(map[string]*store.VMContext, len(cs))
	for _, c := range cs {
		byUUID[c.VMwareVMID] = c
	}
	appliance, err := e.listApplianceVolumes(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]InventoryEntry, 0, len(vms))
	for _, vm := range vms {
		en := InventoryEntry{VM: vm, Replicas: map[int32]ReplicaMatch{}}
		if c := byUUID[vm.UUID]; c != nil {
			// The list has no disks: read the whole context.
			full, err := e.store.GetContext(ctx, c.ContextID)
			if err != nil {
				return nil, err
			}
			en.Context = full
			for _, d := range full.Disks {
				m := ReplicaMatch{VolumeID: d.VolumeID, FoundBy: FoundRegistered}
				if v := appliance.byID[d.VolumeID]; v != nil {
					m.VolumeName = v.Name
				}
				en.Replicas[d.DiskKey] = m
			}
		} else {
			for _, d := range vm.Disks {
				vars := TemplateVars{VMUUID: vm.UUID, VMName: vm.Name, DiskKey: d.Key, DiskNumber: d.Order + 1}
				v, problem := appliance.replicaOf(e.cfg.Replicas, vars)
				if problem != "" {
					en.Replicas[d.Key] = ReplicaMatch{Problem: problem}
					continue
				}
				en.Replicas[d.Key] = ReplicaMatch{VolumeID: v.ID, VolumeName: v.Name, FoundBy: FoundByName}
			}
		}
		out = append(out, en)
	}
	return out, nil
}

// applianceVolumes are the volumes attached to the appliance VM, by name
// and by id.
type applianceVolumes struct {
	vmID   string
	byName map[string][]*cloudstack.Volume
	byID   map[string]*cloudstack.Volume
}

func (e *Engine) listApplianceVolumes(ctx context.Context) (*applianceVolumes, error) {
	vols, err := e.cs.ListVolumes(ctx, cloudstack.VolumeFilter{VMID: e.cfg.ApplianceVMID})
	if err != nil {
		return nil, fmt.Errorf("listing the appliance VM's volumes: %w", err)
	}
	a := &applianceVolumes{vmID: e.cfg.ApplianceVMID, byName: map[string][]*cloudstack.Volume{}, byID: map[string]*cloudstack.Volume{}}
	for i := range vols {
		v := &vols[i]
		a.byName[v.Name] = append(a.byName[v.Name], v)
		a.byID[v.ID] = v
	}
	return a, nil
}

// replicaOf finds the replica of a disk by ReplicaRules.ReplicaVolumeName:
// exactly one volume of that name on the appliance, or a problem.
func (a *applianceVolumes) replicaOf(rules ReplicaRules, vars TemplateVars) (*cloudstack.Volume, string) {
	name, err := expand(rules.WithDefaults().ReplicaVolumeName, vars, false)
	if err != nil {
		return nil, err.Error()
	}
	switch vs := a.byName[name]; len(vs) {
	case 0:
		return nil, fmt.Sprintf("no volume_id given, and no volume named %q is attached to the appliance VM %s (FAILOVER_REPLICA_VOLUME_NAME)", name, a.vmID)
	case 1:
		return vs[0], ""
	default:
		return nil, fmt.Sprintf("%d volumes named %q are attached to the appliance VM %s: give volume_id", len(vs), name, a.vmID)
	}
}
