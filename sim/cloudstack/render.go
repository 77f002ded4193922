package cloudstack

import (
	"cmp"
	"slices"
	"strconv"
)

// The render functions turn objects into CloudStack's JSON shapes.
// Callers hold s.mu.

func (s *Sim) zoneName(id string) string {
	if z, ok := s.zones[id]; ok {
		return z.Name
	}
	return ""
}

func (s *Sim) renderZone(z *Zone) map[string]any {
	return map[string]any{"id": z.ID, "name": z.Name, "allocationstate": "Enabled", "networktype": "Advanced"}
}

func (s *Sim) renderNetwork(n *Network) map[string]any {
	m := map[string]any{
		"id": n.ID, "name": n.Name, "displaytext": n.Name, "type": n.Type, "zoneid": n.ZoneID,
		"zonename": s.zoneName(n.ZoneID), "state": n.State, "traffictype": "Guest", "account": s.cfg.Account,
	}
	if n.CIDR != "" {
		m["cidr"] = n.CIDR
	}
	return m
}

func (s *Sim) renderOffering(o *ServiceOffering) map[string]any {
	m := map[string]any{"id": o.ID, "name": o.Name, "displaytext": o.Name, "iscustomized": o.Customized}
	if o.CPUs > 0 {
		m["cpunumber"] = o.CPUs
	}
	if o.MemoryMB > 0 {
		m["memory"] = o.MemoryMB
	}
	switch {
	case o.CPUSpeedMHz > 0:
		m["cpuspeed"] = o.CPUSpeedMHz
	case !o.Customized:
		m["cpuspeed"] = 1000
	}
	return m
}

func (s *Sim) renderTemplate(t *Template) map[string]any {
	return map[string]any{
		"id": t.ID, "name": t.Name, "displaytext": t.Name, "zoneid": t.ZoneID, "zonename": s.zoneName(t.ZoneID),
		"size": t.SizeBytes, "isready": true, "status": "Download Complete", "hypervisor": "KVM", "format": "QCOW2",
	}
}

func (s *Sim) renderVM(vm *VM) map[string]any {
	nics := make([]map[string]any, 0, len(vm.NICs))
	for _, n := range vm.NICs {
		nm := map[string]any{
			"id": n.ID, "networkid": n.NetworkID, "macaddress": n.MAC, "deviceid": strconv.Itoa(n.DeviceID),
			"isdefault": n.IsDefault, "traffictype": "Guest",
		}
		if n.IPAddress != "" {
			nm["ipaddress"] = n.IPAddress
		}
		if net, ok := s.networks[n.NetworkID]; ok {
			nm["networkname"] = net.Name
			nm["type"] = net.Type
		}
		nics = append(nics, nm)
	}
	m := map[string]any{
		"id": vm.ID, "name": vm.Name, "displayname": vm.DisplayName, "state": vm.State,
		"zoneid": vm.ZoneID, "zonename": s.zoneName(vm.ZoneID), "serviceofferingid": vm.ServiceOfferingID,
		"templateid": vm.TemplateID, "hypervisor": "KVM", "account": vm.Account,
		"created": vm.Created.Format(timeFormat), "nic": nics, "instancename": vm.InstanceName,
	}
	cpus, speed, mem := vm.CPUs, vm.CPUSpeedMHz, vm.MemoryMB
	if o, ok := s.offerings[vm.ServiceOfferingID]; ok {
		m["serviceofferingname"] = o.Name
		if cpus == 0 {
			cpus = o.CPUs
		}
		if mem == 0 {
			mem = o.MemoryMB
		}
		if speed == 0 {
			speed = o.CPUSpeedMHz
		}
		if speed == 0 && !o.Customized {
			speed = 1000
		}
	}
	m["cpunumber"] = cpus
	m["memory"] = mem
	if speed > 0 {
		m["cpuspeed"] = speed
	}
	if vm.BootType != "" {
		m["boottype"] = vm.BootType
		m["bootmode"] = vm.BootMode
	}
	return m
}

func (s *Sim) renderVolume(v *Volume) map[string]any {
	m := map[string]any{
		"id": v.ID, "name": v.Name, "type": v.Type, "size": v.SizeBytes, "virtualsize": v.SizeBytes,
		"state": v.State, "zoneid": v.ZoneID, "zonename": s.zoneName(v.ZoneID), "storagetype": "shared",
		"created": v.Created.Format(timeFormat), "account": v.Account, "hypervisor": "KVM",
		"storageid": v.StorageID,
	}
	if p, ok := s.pools[v.StorageID]; ok {
		m["storage"] = p.Name
	}
	if v.Path != "" {
		m["path"] = v.Path
	}
	if vm, ok := s.vms[v.VMID]; ok && v.VMID != "" {
		m["virtualmachineid"] = vm.ID
		m["vmname"] = vm.Name
		m["vmdisplayname"] = vm.DisplayName
		m["vmstate"] = vm.State
		m["deviceid"] = v.DeviceID
	}
	return m
}

func (s *Sim) renderSnapshot(sn *Snapshot) map[string]any {
	m := map[string]any{
		"id": sn.ID, "name": sn.Name, "volumeid": sn.VolumeID, "state": sn.State,
		"snapshottype": "MANUAL", "intervaltype": "MANUAL", "created": sn.Created.Format(timeFormat),
		"account": s.cfg.Account, "locationtype": "PRIMARY",
	}
	if v, ok := s.volumes[sn.VolumeID]; ok {
		m["volumename"] = v.Name
		m["volumetype"] = v.Type
		m["virtualsize"] = v.SizeBytes
		m["zoneid"] = v.ZoneID
	}
	return m
}

// sortedByCreation returns the values of m in creation order.
func sortedByCreation[T any](s *Sim, m map[string]*T, id func(*T) string) []*T {
	out := make([]*T, 0, len(m))
	for _, v := range m {
		out = append(out, v)
	}
	slices.SortFunc(out, func(a, b *T) int { return cmp.Compare(s.order[id(a)], s.order[id(b)]) })
	return out
}
