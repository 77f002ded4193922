package cloudstack

import (
	"fmt"
	"slices"
	"time"
)

// The Go API the lab and tests use to set the scene and inspect it.

// AddZone adds a zone; an empty ID is generated. It returns the zone.
func (s *Sim) AddZone(z Zone) Zone {
	s.mu.Lock()
	defer s.mu.Unlock()
	if z.ID == "" {
		z.ID = newID()
	}
	s.zones[z.ID] = &z
	s.nextSeq(z.ID)
	return z
}

// AddNetwork adds a network (State "Implemented" when empty). It returns
// the network.
func (s *Sim) AddNetwork(n Network) Network {
	s.mu.Lock()
	defer s.mu.Unlock()
	if n.ID == "" {
		n.ID = newID()
	}
	if n.Type == "" {
		n.Type = "Isolated"
	}
	if n.State == "" {
		n.State = "Implemented"
	}
	s.networks[n.ID] = &n
	s.nextSeq(n.ID)
	return n
}

// AddServiceOffering adds a compute offering. It returns the offering.
func (s *Sim) AddServiceOffering(o ServiceOffering) ServiceOffering {
	s.mu.Lock()
	defer s.mu.Unlock()
	if o.ID == "" {
		o.ID = newID()
	}
	s.offerings[o.ID] = &o
	s.nextSeq(o.ID)
	return o
}

// AddTemplate adds a template. Deploying it always creates a ROOT volume;
// SizeBytes 0 gives a ROOT of DefaultRootSize (8 GiB). It returns the
// template.
func (s *Sim) AddTemplate(t Template) Template {
	s.mu.Lock()
	defer s.mu.Unlock()
	if t.ID == "" {
		t.ID = newID()
	}
	s.templates[t.ID] = &t
	s.nextSeq(t.ID)
	return t
}

// AddVM adds a VM directly (for example the appliance VM). State defaults
// to Running, Account to Config.Account; NICs without an ID or MAC get
// generated ones. Unlike deployVirtualMachine, no volume is created (the
// caller adds and attaches the VM's disks itself). It returns the VM.
func (s *Sim) AddVM(vm VM) VM {
	s.mu.Lock()
	defer s.mu.Unlock()
	if vm.ID == "" {
		vm.ID = newID()
	}
	if vm.State == "" {
		vm.State = StateRunning
	}
	if vm.DisplayName == "" {
		vm.DisplayName = vm.Name
	}
	if vm.Created.IsZero() {
		vm.Created = time.Now()
	}
	if vm.Account == "" {
		vm.Account = s.cfg.Account
	}
	vm.dbID = s.nextDBID()
	if vm.InstanceName == "" {
		vm.InstanceName = fmt.Sprintf("i-2-%d-VM", vm.dbID)
	}
	vm.NICs = slices.Clone(vm.NICs)
	for i := range vm.NICs {
		if vm.NICs[i].ID == "" {
			vm.NICs[i].ID = newID()
		}
		if vm.NICs[i].MAC == "" {
			vm.NICs[i].MAC = s.newMAC()
		}
		vm.NICs[i].DeviceID = i
		vm.NICs[i].IsDefault = i == 0
	}
	s.vms[vm.ID] = &vm
	s.nextSeq(vm.ID)
	return cloneVM(&vm)
}

// AddVolume adds a detached volume, in state Ready unless spec.State says
// otherwise, on spec.StorageID (the default NFS pool when empty). It
// returns the volume.
func (s *Sim) AddVolume(spec VolumeSpec) Volume {
	s.mu.Lock()
	defer s.mu.Unlock()
	v := &Volume{
		ID: spec.ID, Name: spec.Name, Type: spec.Type, SizeBytes: spec.SizeBytes, Path: spec.Path,
		ZoneID: spec.ZoneID, State: spec.State, Created: time.Now(), Account: spec.Account,
		StorageID: spec.StorageID, Format: spec.Format, dbID: s.nextDBID(),
	}
	if v.ID == "" {
		v.ID = newID()
	}
	if v.Type == "" {
		v.Type = VolumeDataDisk
	}
	if v.State == "" {
		v.State = VolumeReady
	}
	if v.Account == "" {
		v.Account = s.cfg.Account
	}
	if v.StorageID == "" {
		v.StorageID = s.defaultPoolID()
	}
	if v.Format == "" {
		v.Format = s.defaultFormat(v.StorageID)
	}
	if v.Name == "" {
		v.Name = fmt.Sprintf("DATA-%d", v.dbID)
	}
	s.volumes[v.ID] = v
	s.nextSeq(v.ID)
	return *v
}

// AttachVolumeDirect attaches a volume to a VM at deviceID without a job
// and without state checks other than existence and a free device id. At
// device 0 the volume becomes ROOT, as VolumeDaoImpl.attachVolume makes it.
func (s *Sim) AttachVolumeDirect(volumeID, vmID string, deviceID int) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.volumes[volumeID]
	if !ok {
		return fmt.Errorf("volume %s not found", volumeID)
	}
	if _, ok := s.vms[vmID]; !ok {
		return fmt.Errorf("vm %s not found", vmID)
	}
	if other := s.volumeAtDevice(vmID, deviceID); other != nil && other.ID != volumeID {
		return fmt.Errorf("device id %d of vm %s is used by volume %s", deviceID, vmID, other.ID)
	}
	v.VMID = vmID
	v.DeviceID = deviceID
	if deviceID == 0 {
		v.Type = VolumeRoot
	}
	return nil
}

// SetVMState sets a VM's state directly (for tests and chaos).
func (s *Sim) SetVMState(vmID, state string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	vm, ok := s.vms[vmID]
	if !ok {
		return fmt.Errorf("vm %s not found", vmID)
	}
	vm.State = state
	return nil
}

// VMs returns copies of all VMs not expunged, in creation order.
func (s *Sim) VMs() []VM {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []VM
	for _, vm := range sortedByCreation(s, s.vms, func(v *VM) string { return v.ID }) {
		out = append(out, cloneVM(vm))
	}
	return out
}

// VM returns a copy of one VM.
func (s *Sim) VM(id string) (VM, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	vm, ok := s.vms[id]
	if !ok {
		return VM{}, false
	}
	return cloneVM(vm), true
}

// Volumes returns copies of all volumes, in creation order.
func (s *Sim) Volumes() []Volume {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Volume
	for _, v := range sortedByCreation(s, s.volumes, func(v *Volume) string { return v.ID }) {
		out = append(out, *v)
	}
	return out
}

// Volume returns a copy of one volume.
func (s *Sim) Volume(id string) (Volume, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.volumes[id]
	if !ok {
		return Volume{}, false
	}
	return *v, true
}

// Snapshots returns copies of all snapshots, in creation order.
func (s *Sim) Snapshots() []Snapshot {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Snapshot
	for _, sn := range sortedByCreation(s, s.snapshots, func(v *Snapshot) string { return v.ID }) {
		out = append(out, *sn)
	}
	return out
}

// Calls returns how many requests for command (case-insensitive) the sim
// received, failed ones included.
func (s *Sim) Calls(command string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[normCmd(command)]
}

// Refusal is an error the sim's own rules answered a request with (an
// injected fault is not one).
type Refusal struct {
	// Command is the lower-cased command name.
	Command string
	// Code is the errorcode (431, 530, …) and Text the errortext.
	Code int
	Text string
}

// Refusals returns the requests for command (case-insensitive; "" for
// every command) the sim's rules refused, oldest first.
func (s *Sim) Refusals(command string) []Refusal {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Refusal
	for _, r := range s.refusals {
		if command == "" || r.Command == normCmd(command) {
			out = append(out, r)
		}
	}
	return out
}

func cloneVM(vm *VM) VM {
	c := *vm
	c.NICs = slices.Clone(vm.NICs)
	return c
}

// volumeAtDevice returns the volume attached to vmID at deviceID, or nil.
// Callers hold s.mu.
func (s *Sim) volumeAtDevice(vmID string, deviceID int) *Volume {
	for _, v := range s.volumes {
		if v.VMID == vmID && v.DeviceID == deviceID {
			return v
		}
	}
	return nil
}

// SetVolumeState sets a volume's state directly (for tests and chaos).
func (s *Sim) SetVolumeState(volumeID, state string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.volumes[volumeID]
	if !ok {
		return fmt.Errorf("volume %s not found", volumeID)
	}
	v.State = state
	return nil
}
