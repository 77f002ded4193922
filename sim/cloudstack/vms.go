package cloudstack

import (
	"fmt"
	"net"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
)

var iptonetRe = regexp.MustCompile(`^iptonetworklist\[(\d+)\]\.(\w+)$`)

// nicRequest is one requested NIC of deployVirtualMachine.
type nicRequest struct {
	networkID string
	mac       string
}

// parseNICs reads iptonetworklist[n].networkid/.mac in index order, or
// else networkids.
func parseNICs(r request) []nicRequest {
	byIndex := map[int]*nicRequest{}
	for k, vs := range r.params {
		m := iptonetRe.FindStringSubmatch(k)
		if m == nil || len(vs) == 0 {
			continue
		}
		i, _ := strconv.Atoi(m[1])
		n := byIndex[i]
		if n == nil {
			n = &nicRequest{}
			byIndex[i] = n
		}
		switch strings.ToLower(m[2]) {
		case "networkid":
			n.networkID = vs[0]
		case "mac":
			n.mac = vs[0]
		}
	}
	if len(byIndex) > 0 {
		idx := make([]int, 0, len(byIndex))
		for i := range byIndex {
			idx = append(idx, i)
		}
		sort.Ints(idx)
		out := make([]nicRequest, 0, len(idx))
		for _, i := range idx {
			out = append(out, *byIndex[i])
		}
		return out
	}
	var out []nicRequest
	for _, id := range strings.Split(r.get("networkids"), ",") {
		if id = strings.TrimSpace(id); id != "" {
			out = append(out, nicRequest{networkID: id})
		}
	}
	return out
}

func (s *Sim) deployVM(r request) (map[string]any, *apiError) {
	offID, aerr := r.require("serviceofferingid")
	if aerr != nil {
		return nil, aerr
	}
	tmplID, aerr := r.require("templateid")
	if aerr != nil {
		return nil, aerr
	}
	zoneID, aerr := r.require("zoneid")
	if aerr != nil {
		return nil, aerr
	}
	nics := parseNICs(r)
	startVM := r.boolean("startvm", true)

	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.zones[zoneID]; !ok {
		return nil, noEntity(r.cmd, "zoneid", zoneID)
	}
	if _, ok := s.offerings[offID]; !ok {
		return nil, noEntity(r.cmd, "serviceofferingid", offID)
	}
	tmpl, ok := s.templates[tmplID]
	if !ok {
		return nil, noEntity(r.cmd, "templateid", tmplID)
	}
	if len(nics) == 0 {
		return nil, paramErr("Can't deploy VM: no network specified and no default network found")
	}
	for _, n := range nics {
		net, ok := s.networks[n.networkID]
		if !ok {
			return nil, noEntity(r.cmd, "networkid", n.networkID)
		}
		if net.ZoneID != "" && net.ZoneID != zoneID {
			return nil, paramErr("Network id=%s doesn't belong to zone %s", n.networkID, zoneID)
		}
		if n.mac != "" {
			if err := s.checkMAC(n.networkID, n.mac); err != nil {
				return nil, err
			}
		}
	}
	id := newID()
	name := r.get("name")
	if name == "" {
		name = "VM-" + id
	}
	for _, vm := range s.vms {
		if strings.EqualFold(vm.Name, name) {
			return nil, paramErr("The vm with hostName %s already exists in the network domain: cs1cloud.internal; network=%s", name, nics[0].networkID)
		}
	}
	vm := &VM{
		ID: id, Name: name, DisplayName: r.get("displayname"), State: StateStopped, ZoneID: zoneID,
		ServiceOfferingID: offID, TemplateID: tmplID, Created: time.Now(),
	}
	if vm.DisplayName == "" {
		vm.DisplayName = name
	}
	if bt := r.get("boottype"); bt != "" {
		vm.BootType = strings.ToUpper(bt)
		vm.BootMode = strings.ToUpper(r.get("bootmode"))
		if vm.BootMode == "" {
			vm.BootMode = "LEGACY"
		}
	}
	for i, n := range nics {
		mac := strings.ToLower(n.mac)
		if mac == "" {
			mac = s.newMAC()
		}
		vm.NICs = append(vm.NICs, NIC{ID: newID(), NetworkID: n.networkID, MAC: mac, DeviceID: i, IsDefault: i == 0})
	}
	if startVM {
		vm.State = StateStarting
	}
	s.vms[id] = vm
	s.nextSeq(id)
	if tmpl.SizeBytes > 0 {
		root := &Volume{
			ID: newID(), Name: fmt.Sprintf("ROOT-%d", s.seq), Type: VolumeRoot, SizeBytes: tmpl.SizeBytes,
			ZoneID: zoneID, VMID: id, DeviceID: 0, State: "Ready", Created: time.Now(),
		}
		s.volumes[root.ID] = root
		s.nextSeq(root.ID)
	}
	return s.startJob(r.cmd, "VirtualMachine", id, jobOp{
		begin: func() *apiError { return nil },
		finish: func() map[string]any {
			if vm.State == StateStarting {
				vm.State = StateRunning
			}
			return map[string]any{"virtualmachine": s.renderVM(vm)}
		},
	}), nil
}

// checkMAC validates a requested MAC and refuses one in use on the network.
// Callers hold s.mu.
func (s *Sim) checkMAC(networkID, mac string) *apiError {
	hw, err := net.ParseMAC(mac)
	if err != nil || len(hw) != 6 {
		return paramErr("Mac address is not valid: %s", mac)
	}
	for _, vm := range s.vms {
		for _, n := range vm.NICs {
			if n.NetworkID == networkID && strings.EqualFold(n.MAC, mac) {
				return paramErr("Mac address %s is already in use in network %s", mac, networkID)
			}
		}
	}
	return nil
}

func (s *Sim) listVMs(r request) (map[string]any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []map[string]any
	for _, vm := range sortedByCreation(s, s.vms, func(v *VM) string { return v.ID }) {
		if id := r.get("id"); id != "" && id != vm.ID {
			continue
		}
		if name := r.get("name"); name != "" && !strings.EqualFold(name, vm.Name) {
			continue
		}
		if zid := r.get("zoneid"); zid != "" && zid != vm.ZoneID {
			continue
		}
		if st := r.get("state"); st != "" && !strings.EqualFold(st, vm.State) {
			continue
		}
		out = append(out, s.renderVM(vm))
	}
	return listResponse("virtualmachine", out), nil
}

// lookupVM returns the VM named by parameter "id". Callers hold s.mu.
func (s *Sim) lookupVM(r request, param string) (*VM, *apiError) {
	id, aerr := r.require(param)
	if aerr != nil {
		return nil, aerr
	}
	vm, ok := s.vms[id]
	if !ok {
		return nil, noEntity(r.cmd, param, id)
	}
	return vm, nil
}

// hasBootDisk reports whether vm has a volume at device 0. Callers hold s.mu.
func (s *Sim) hasBootDisk(vm *VM) bool { return s.volumeAtDevice(vm.ID, 0) != nil }

func (s *Sim) startVM(r request) (map[string]any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	vm, aerr := s.lookupVM(r, "id")
	if aerr != nil {
		return nil, aerr
	}
	return s.startJob(r.cmd, "VirtualMachine", vm.ID, jobOp{
		begin: func() *apiError {
			if vm.State != StateStopped {
				return stateErr("Unable to start VM %s: VM is in %s state; it can be started only from Stopped", vm.Name, vm.State)
			}
			if !s.hasBootDisk(vm) {
				return stateErr("Unable to start VM %s: no volume attached at device id 0 to boot from", vm.Name)
			}
			vm.State = StateStarting
			return nil
		},
		finish: func() map[string]any {
			vm.State = StateRunning
			return map[string]any{"virtualmachine": s.renderVM(vm)}
		},
	}), nil
}

func (s *Sim) stopVM(r request) (map[string]any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	vm, aerr := s.lookupVM(r, "id")
	if aerr != nil {
		return nil, aerr
	}
	return s.startJob(r.cmd, "VirtualMachine", vm.ID, jobOp{
		begin: func() *apiError {
			switch vm.State {
			case StateRunning, StateStopped:
			default:
				return stateErr("Unable to stop VM %s: VM is in %s state", vm.Name, vm.State)
			}
			if vm.State == StateRunning {
				vm.State = StateStopping
			}
			return nil
		},
		finish: func() map[string]any {
			vm.State = StateStopped
			return map[string]any{"virtualmachine": s.renderVM(vm)}
		},
	}), nil
}

func (s *Sim) destroyVM(r request) (map[string]any, *apiError) {
	expunge := r.boolean("expunge", false)
	s.mu.Lock()
	defer s.mu.Unlock()
	vm, aerr := s.lookupVM(r, "id")
	if aerr != nil {
		return nil, aerr
	}
	return s.startJob(r.cmd, "VirtualMachine", vm.ID, jobOp{
		begin: func() *apiError {
			switch vm.State {
			case StateStopped:
			case StateDestroyed:
				if !expunge {
					return stateErr("Unable to destroy VM %s: VM is already in Destroyed state", vm.Name)
				}
			default:
				return stateErr("Unable to destroy VM %s in %s state: stop the VM first", vm.Name, vm.State)
			}
			if expunge {
				vm.State = StateExpunging
			} else {
				vm.State = StateDestroyed
			}
			return nil
		},
		finish: func() map[string]any {
			res := map[string]any{"virtualmachine": s.renderVM(vm)}
			if vm.State == StateExpunging {
				s.expunge(vm)
			}
			return res
		},
	}), nil
}

// expunge removes vm, its ROOT volume and detaches its data volumes.
// Callers hold s.mu.
func (s *Sim) expunge(vm *VM) {
	for id, v := range s.volumes {
		if v.VMID != vm.ID {
			continue
		}
		if v.Type == VolumeRoot {
			delete(s.volumes, id)
			delete(s.order, id)
			continue
		}
		v.VMID = ""
		v.DeviceID = 0
	}
	delete(s.vms, vm.ID)
	delete(s.order, vm.ID)
}
