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

// The VM commands. The real server's rules come from
// api/.../command/user/vm/BaseDeployVMCmd.java (getIpToNetworkMap,
// getIpAddressesFromIpMap), server/.../vm/UserVmManagerImpl.java
// (checkNameForRFCCompliance, validateCustomParameters,
// addNicToVirtualMachine, stopVirtualMachine) and engine/orchestration/.../
// VirtualMachineManagerImpl.java (allocateRootVolume, advanceExpunge).

var (
	iptonetRe = regexp.MustCompile(`^iptonetworklist\[(\d+)\]\.(\w+)$`)
	detailsRe = regexp.MustCompile(`^details\[(\d+)\]\.(\w+)$`)
)

// nicRequest is one requested NIC of deployVirtualMachine.
type nicRequest struct {
	networkID string
	mac       string
	ip        string
}

// indexedMaps reads params named prefix[n].key into one map per index, in
// index order (the real server reads a MAP parameter into a HashMap keyed
// "0", "1", …, which iterates in that order for small indices).
func indexedMaps(r request, re *regexp.Regexp) []map[string]string {
	byIndex := map[int]map[string]string{}
	for k, vs := range r.params {
		m := re.FindStringSubmatch(k)
		if m == nil || len(vs) == 0 {
			continue
		}
		i, _ := strconv.Atoi(m[1])
		if byIndex[i] == nil {
			byIndex[i] = map[string]string{}
		}
		key := m[2]
		if re != detailsRe {
			key = strings.ToLower(key) // detail names are case-sensitive (cpuNumber)
		}
		byIndex[i][key] = vs[0]
	}
	idx := make([]int, 0, len(byIndex))
	for i := range byIndex {
		idx = append(idx, i)
	}
	sort.Ints(idx)
	out := make([]map[string]string, 0, len(idx))
	for _, i := range idx {
		out = append(out, byIndex[i])
	}
	return out
}

// parseNICs reads iptonetworklist[n].networkid/.ip/.mac, or else
// networkids. BaseDeployVMCmd.getIpToNetworkMap puts the entries into a
// LinkedHashMap keyed by network id: two entries for one network become
// one NIC, at the position of the first (a re-put keeps the insertion
// order), with the addresses of the last. Each entry's MAC is validated
// (getIpAddressesFromIpMap), the overridden ones included.
func (s *Sim) parseNICs(r request) ([]nicRequest, *apiError) {
	entries := indexedMaps(r, iptonetRe)
	if len(entries) > 0 && (r.get("networkids") != "" || r.get("ipaddress") != "") {
		return nil, paramErr("NetworkIds and ipAddress can't be specified along with ipToNetworkMap parameter")
	}
	var out []nicRequest
	pos := map[string]int{}
	for _, e := range entries {
		nid := e["networkid"]
		if _, ok := s.networks[nid]; !ok {
			return nil, paramErr("Unable to translate and find entity with networkId: %s", nid)
		}
		n := nicRequest{networkID: nid, ip: e["ip"]}
		if mac, ok := e["mac"]; ok {
			std, aerr := checkMACFormat(mac)
			if aerr != nil {
				return nil, aerr
			}
			n.mac = std
		}
		if i, ok := pos[nid]; ok {
			out[i] = n
			continue
		}
		pos[nid] = len(out)
		out = append(out, n)
	}
	if len(entries) > 0 {
		return out, nil
	}
	for _, id := range strings.Split(r.get("networkids"), ",") {
		if id = strings.TrimSpace(id); id != "" {
			out = append(out, nicRequest{networkID: id})
		}
	}
	if len(out) > 0 {
		if mac := r.get("macaddress"); mac != "" {
			std, aerr := checkMACFormat(mac)
			if aerr != nil {
				return nil, aerr
			}
			out[0].mac = std
		}
		out[0].ip = r.get("ipaddress")
	}
	return out, nil
}

// parseMAC is NetUtils.isValidMac (six groups of one or two hex digits,
// one separator among '-', ':', '.', case-insensitive) followed by
// standardizeMacAddress (long2Mac(mac2Long): lower case, colons, two
// digits a group). It returns "" when the MAC is not valid.
func parseMAC(mac string) (string, []byte) {
	sep := strings.IndexAny(mac, "-:.")
	if sep < 0 {
		return "", nil
	}
	groups := strings.Split(mac, mac[sep:sep+1])
	if len(groups) != 6 {
		return "", nil
	}
	b := make([]byte, 6)
	for i, g := range groups {
		if len(g) < 1 || len(g) > 2 {
			return "", nil
		}
		n, err := strconv.ParseUint(g, 16, 8)
		if err != nil {
			return "", nil
		}
		b[i] = byte(n)
	}
	return fmt.Sprintf("%02x:%02x:%02x:%02x:%02x:%02x", b[0], b[1], b[2], b[3], b[4], b[5]), b
}

// checkMACFormat validates a requested MAC as BaseDeployVMCmd and
// AddNicToVMCmd do and returns it standardised.
func checkMACFormat(mac string) (string, *apiError) {
	std, b := parseMAC(mac)
	if std == "" {
		return "", paramErr("Mac address is not valid: %s", mac)
	}
	// NetUtils.isUnicastMac: the least significant bit of the first octet.
	if b[0]&1 != 0 {
		return "", paramErr("Mac address is not unicast: %s", mac)
	}
	return std, nil
}

// hostnameLabelOK is NetUtils.verifyDomainNameLabel(name, true): 1 to 63
// characters of [a-z0-9-] (case-insensitive), not starting or ending
// with '-', not starting with a digit.
func hostnameLabelOK(name string) bool {
	if len(name) < 1 || len(name) > 63 {
		return false
	}
	for _, c := range strings.ToLower(name) {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	if strings.HasPrefix(name, "-") || strings.HasSuffix(name, "-") {
		return false
	}
	return !(name[0] >= '0' && name[0] <= '9')
}

// rfcNameText is UserVmManagerImpl.checkNameForRFCCompliance's refusal.
const rfcNameText = "Invalid name. Vm name can contain ASCII letters 'a' through 'z', the digits '0' through '9', and the hyphen ('-'), must be between 1 and 63 characters long, and can't start or end with \"-\" and can't start with digit"

// parseDetails reads details[n].key/.value pairs and details[n].<name>=v
// entries (BaseCmd.convertDetailsToMap accepts both; cloudstack-go's
// SetDetails sends details[i].<name>=value).
func parseDetails(r request) map[string]string {
	out := map[string]string{}
	for _, e := range indexedMaps(r, detailsRe) {
		if k, ok := e["key"]; ok {
			out[k] = e["value"]
			continue
		}
		for k, v := range e {
			out[k] = v
		}
	}
	return out
}

const maxInt = 2147483647

// customSizes is UserVmManagerImpl.validateCustomParameters for a
// customized offering: it returns the CPUs, CPU speed and memory to give
// the VM.
func customSizes(o *ServiceOffering, details map[string]string) (cpus, speed, mem int, aerr *apiError) {
	if len(details) == 0 {
		return 0, 0, 0, paramErr("Need to specify custom parameter values cpu, cpu speed and memory when using custom offering")
	}
	num := func(k string) int {
		n, err := strconv.Atoi(details[k])
		if err != nil {
			return -1
		}
		return n
	}
	def := func(v, d int) int {
		if v == 0 {
			return d
		}
		return v
	}
	_, hasCPU := details["cpuNumber"]
	_, hasSpeed := details["cpuSpeed"]
	_, hasMem := details["memory"]
	cpus, speed, mem = o.CPUs, o.CPUSpeedMHz, o.MemoryMB
	if o.CPUs == 0 {
		lo, hi := def(o.MinCPUs, 1), def(o.MaxCPUs, maxInt)
		if cpus = num("cpuNumber"); cpus < lo || cpus > hi {
			return 0, 0, 0, paramErr("Invalid cpu cores value, specify a value between %d and %d", lo, hi)
		}
	} else if hasCPU {
		return 0, 0, 0, paramErr("The cpu cores of this offering id:%s is not customizable. This is predefined in the template.", o.ID)
	}
	if o.CPUSpeedMHz == 0 {
		if speed = num("cpuSpeed"); speed <= 0 {
			return 0, 0, 0, paramErr("Invalid cpu speed value, specify a value between 1 and %d", maxInt)
		}
	} else if hasSpeed {
		return 0, 0, 0, paramErr("The cpu speed of this offering id:%s is not customizable. This is predefined in the template.", o.ID)
	}
	if o.MemoryMB == 0 {
		lo, hi := def(o.MinMemoryMB, 32), def(o.MaxMemoryMB, maxInt)
		if mem = num("memory"); mem < lo || mem > hi {
			return 0, 0, 0, paramErr("Invalid memory value, specify a value between %d and %d", lo, hi)
		}
	} else if hasMem {
		return 0, 0, 0, paramErr("The memory of this offering id:%s is not customizable. This is predefined in the template.", o.ID)
	}
	return cpus, speed, mem, nil
}

// deployVM is DeployVMCmd, a BaseAsyncCreateCmd: create() validates and
// allocates synchronously (refusals answered at once with 431), the job
// starts the VM when startvm is not false.
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
	startVM := r.boolean("startvm", true)

	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.zones[zoneID]; !ok {
		return nil, noEntity(r.cmd, "zoneid", zoneID)
	}
	off, ok := s.offerings[offID]
	if !ok {
		return nil, noEntity(r.cmd, "serviceofferingid", offID)
	}
	tmpl, ok := s.templates[tmplID]
	if !ok {
		return nil, noEntity(r.cmd, "templateid", tmplID)
	}
	nics, aerr := s.parseNICs(r)
	if aerr != nil {
		return nil, aerr
	}
	if len(nics) == 0 {
		return nil, paramErr("Can't deploy VM: no network specified and no default network found")
	}
	for _, n := range nics {
		net, ok := s.networks[n.networkID]
		if !ok {
			return nil, noEntity(r.cmd, "networkids", n.networkID)
		}
		if net.ZoneID != "" && net.ZoneID != zoneID {
			return nil, paramErr("Network id=%s doesn't belong to zone %s", n.networkID, zoneID)
		}
		if n.mac != "" {
			if err := s.checkMACInUse(n.networkID, n.mac); err != nil {
				return nil, err
			}
		}
	}
	name := r.get("name")
	if name != "" && !hostnameLabelOK(name) {
		return nil, paramErr("%s", rfcNameText)
	}
	var cpus, speed, mem int
	if off.Customized {
		if cpus, speed, mem, aerr = customSizes(off, parseDetails(r)); aerr != nil {
			return nil, aerr
		}
	}
	id := newID()
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
		ServiceOfferingID: offID, TemplateID: tmplID, Created: time.Now(), Account: s.cfg.Account,
		CPUs: cpus, CPUSpeedMHz: speed, MemoryMB: mem, dbID: s.nextDBID(),
	}
	vm.InstanceName = fmt.Sprintf("i-2-%d-VM", vm.dbID)
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
		mac := n.mac
		if mac == "" {
			mac = s.newMAC()
		}
		vm.NICs = append(vm.NICs, NIC{ID: newID(), NetworkID: n.networkID, MAC: mac, IPAddress: n.ip, DeviceID: i, IsDefault: i == 0})
	}
	s.vms[id] = vm
	s.nextSeq(id)
	// VirtualMachineManagerImpl.allocateRootVolume: every template gets a
	// ROOT volume at device 0, Allocated (not yet on primary storage) until
	// the VM first starts.
	size := tmpl.SizeBytes
	if size <= 0 {
		size = DefaultRootSize
	}
	root := &Volume{
		ID: newID(), Type: VolumeRoot, SizeBytes: size, ZoneID: zoneID, VMID: id, DeviceID: 0,
		State: VolumeAllocated, Created: time.Now(), Account: vm.Account, StorageID: s.defaultPoolID(),
		Format: FormatQCOW2, dbID: s.nextDBID(),
	}
	root.Name = fmt.Sprintf("ROOT-%d", vm.dbID)
	s.volumes[root.ID] = root
	s.nextSeq(root.ID)
	if startVM {
		vm.State = StateStarting
	}
	return s.startJob(r.cmd, "VirtualMachine", id, jobOp{
		begin: func() *apiError { return nil },
		abort: func() {
			if vm.State == StateStarting {
				vm.State = StateStopped
			}
		},
		finish: func() map[string]any {
			if vm.State == StateStarting {
				s.powerOn(vm)
			}
			return map[string]any{"virtualmachine": s.renderVM(vm)}
		},
	}), nil
}

// powerOn marks vm Running; its Allocated volumes are created on primary
// storage and become Ready. Callers hold s.mu.
func (s *Sim) powerOn(vm *VM) {
	vm.State = StateRunning
	for _, v := range s.volumes {
		if v.VMID == vm.ID && v.State == VolumeAllocated {
			v.State = VolumeReady
		}
	}
}

// checkMACInUse refuses a MAC already in use on the network (not found
// in the source: the sim's own text). Callers hold s.mu.
func (s *Sim) checkMACInUse(networkID, mac string) *apiError {
	if _, err := net.ParseMAC(mac); err != nil {
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
		if !s.listedFor(r, vm.Account) {
			continue
		}
		out = append(out, s.renderVM(vm))
	}
	return listResponse("virtualmachine", out), nil
}

// lookupVM returns the VM named by param. Callers hold s.mu.
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
		abort: func() {
			if vm.State == StateStarting {
				vm.State = StateStopped
			}
		},
		finish: func() map[string]any {
			s.powerOn(vm)
			return map[string]any{"virtualmachine": s.renderVM(vm)}
		},
	}), nil
}

// unreachableStopText is UserVmManagerImpl.stopVirtualMachine's refusal
// when the agent cannot be reached (ResourceUnavailableException).
func unreachableStopText(vm *VM) string {
	return "Unable to contact the agent to stop the virtual machine " + vmString(vm)
}

// stopVM is StopVMCmd. forced=true marks the VM Stopped even when the
// command cannot reach the host; the guest may then still be running.
func (s *Sim) stopVM(r request) (map[string]any, *apiError) {
	forced := r.boolean("forced", false)
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
			if vm.State == StateRunning && s.hostUnreachable[vm.ID] {
				if !forced {
					return stateErr("%s", unreachableStopText(vm))
				}
				s.stillRunning[vm.ID] = true
			}
			if vm.State == StateRunning {
				vm.State = StateStopping
			}
			return nil
		},
		abort: func() {
			if vm.State == StateStopping {
				vm.State = StateRunning
			}
		},
		finish: func() map[string]any {
			vm.State = StateStopped
			return map[string]any{"virtualmachine": s.renderVM(vm)}
		},
	}), nil
}

// destroyVM is DestroyVMCmd. A Running VM is stopped first
// (VirtualMachineManagerImpl.advanceExpunge/destroy call advanceStop);
// with expunge=true its ROOT-typed volumes are destroyed and its data
// volumes detached (VolumeOrchestrator.cleanupVolumes).
func (s *Sim) destroyVM(r request) (map[string]any, *apiError) {
	expunge := r.boolean("expunge", false)
	s.mu.Lock()
	defer s.mu.Unlock()
	vm, aerr := s.lookupVM(r, "id")
	if aerr != nil {
		return nil, aerr
	}
	var prev string
	return s.startJob(r.cmd, "VirtualMachine", vm.ID, jobOp{
		begin: func() *apiError {
			prev = vm.State
			switch vm.State {
			case StateStopped:
			case StateRunning:
				if s.hostUnreachable[vm.ID] {
					return stateErr("%s", unreachableStopText(vm))
				}
			case StateDestroyed:
				if !expunge {
					return stateErr("Unable to destroy VM %s: VM is already in Destroyed state", vm.Name)
				}
			default:
				return stateErr("Unable to destroy VM %s in %s state", vm.Name, vm.State)
			}
			if expunge {
				vm.State = StateExpunging
			} else {
				vm.State = StateDestroyed
			}
			return nil
		},
		abort: func() { vm.State = prev },
		finish: func() map[string]any {
			res := map[string]any{"virtualmachine": s.renderVM(vm)}
			if vm.State == StateExpunging {
				s.expunge(vm)
			}
			return res
		},
	}), nil
}

// expunge removes vm, its ROOT-typed volumes and detaches its data volumes
// (VolumeOrchestrator.cleanupVolumes). Callers hold s.mu.
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
	delete(s.vmSnapshots, vm.ID)
}

// addNIC is AddNicToVMCmd (async) → UserVmManagerImpl.addNicToVirtualMachine.
// macaddress is validated in AddNicToVMCmd.getMacAddress, which runs in
// the job, so a bad MAC fails the job with 431.
func (s *Sim) addNIC(r request) (map[string]any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	vm, aerr := s.lookupVM(r, "virtualmachineid")
	if aerr != nil {
		return nil, aerr
	}
	netID, aerr := r.require("networkid")
	if aerr != nil {
		return nil, aerr
	}
	network, ok := s.networks[netID]
	if !ok {
		return nil, noEntity(r.cmd, "networkid", netID)
	}
	mac, ip := r.get("macaddress"), r.get("ipaddress")
	return s.startJob(r.cmd, "VirtualMachine", vm.ID, jobOp{
		begin: func() *apiError {
			if mac != "" {
				std, aerr := checkMACFormat(mac)
				if aerr != nil {
					return aerr
				}
				mac = std
			}
			if s.vmSnapshots[vm.ID] > 0 {
				return paramErr("NIC cannot be added to VM with VM Snapshots")
			}
			for _, n := range vm.NICs {
				if n.NetworkID == network.ID {
					return stateErr("A NIC already exists for VM:%s in network: %s", vm.InstanceName, network.ID)
				}
			}
			if mac == "" {
				mac = s.newMAC()
			}
			for _, o := range s.vms {
				for _, n := range o.NICs {
					if n.NetworkID == network.ID && n.MAC == mac {
						return stateErr("A NIC with this MAC address exists for network: %s", network.ID)
					}
				}
			}
			if ip != "" && net.ParseIP(ip) == nil {
				return paramErr("Invalid format for IP address parameter: %s", ip)
			}
			if vm.State != StateRunning && vm.State != StateStopped {
				return stateErr("Unable to add NIC to %s: com.cloud.exception.ResourceUnavailableException: Resource [DataCenter:1] is unreachable: Unable to add vm %s to network, is not in the right state", vmString(vm), vmString(vm))
			}
			dev := 0
			for _, n := range vm.NICs {
				dev = max(dev, n.DeviceID+1)
			}
			vm.NICs = append(vm.NICs, NIC{ID: newID(), NetworkID: network.ID, MAC: mac, IPAddress: ip, DeviceID: dev, IsDefault: len(vm.NICs) == 0})
			return nil
		},
		finish: func() map[string]any {
			return map[string]any{"virtualmachine": s.renderVM(vm)}
		},
	}), nil
}
