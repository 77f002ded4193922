package vcenter

import (
	"fmt"
	"net/http"

	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/types"
	"github.com/vmware/govmomi/vim25/xml"
)

// vmState is the lab's view of one VM it created.
type vmState struct {
	ref  types.ManagedObjectReference
	uuid string
	// disks by device key
	disks map[int32]*diskState
	// tools: VMware Tools run whenever the VM is powered on.
	tools bool
	// ignoreShutdown: the guest accepts a guest shutdown and does nothing.
	ignoreShutdown bool
	// noCBT: changed block tracking is disabled, so no disk gets a change
	// id.
	noCBT bool
}

func (s *Server) vmByRef(ref types.ManagedObjectReference) *vmState {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.vms[ref.Value]
}

func (s *Server) vmByUUID(uuid string) (*vmState, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.byUUID[uuid]
	if st == nil {
		return nil, fmt.Errorf("no lab VM with instance uuid %s", uuid)
	}
	return st, nil
}

// SetToolsRunning says whether VMware Tools run in the VM's guest: from now
// on they run whenever the VM is powered on (and the status changes at
// once if it is on). VMs are created with tools running unless
// VMDef.NoTools is set.
func (s *Server) SetToolsRunning(uuid string, running bool) error {
	st, err := s.vmByUUID(uuid)
	if err != nil {
		return fmt.Errorf("setting tools status: %w", err)
	}
	s.mu.Lock()
	st.tools = running
	s.mu.Unlock()
	vm := s.vmObject(st.ref)
	if vm == nil {
		return fmt.Errorf("setting tools status: VM %s is gone", uuid)
	}
	ctx := s.lockingContext()
	ctx.WithLock(vm, func() {
		ctx.Update(vm, toolsChanges(running && vm.Runtime.PowerState == types.VirtualMachinePowerStatePoweredOn))
	})
	return nil
}

// IgnoreGuestShutdown makes the VM's guest accept guest shutdown requests
// and not shut down, so a caller has to fall back to a hard power-off.
func (s *Server) IgnoreGuestShutdown(uuid string, ignore bool) error {
	st, err := s.vmByUUID(uuid)
	if err != nil {
		return fmt.Errorf("setting guest shutdown behaviour: %w", err)
	}
	s.mu.Lock()
	st.ignoreShutdown = ignore
	s.mu.Unlock()
	return nil
}

// PowerState returns the VM's power state ("poweredOn", "poweredOff",
// "suspended").
func (s *Server) PowerState(uuid string) (string, error) {
	st, err := s.vmByUUID(uuid)
	if err != nil {
		return "", fmt.Errorf("reading power state: %w", err)
	}
	vm := s.vmObject(st.ref)
	if vm == nil {
		return "", fmt.Errorf("reading power state: VM %s is gone", uuid)
	}
	var state types.VirtualMachinePowerState
	s.lockingContext().WithLock(vm, func() { state = vm.Runtime.PowerState })
	return string(state), nil
}

func toolsChanges(running bool) []types.PropertyChange {
	if running {
		return []types.PropertyChange{
			{Name: "guest.toolsStatus", Val: types.VirtualMachineToolsStatusToolsOk},
			{Name: "guest.toolsRunningStatus", Val: string(types.VirtualMachineToolsRunningStatusGuestToolsRunning)},
			{Name: "summary.guest.toolsRunningStatus", Val: string(types.VirtualMachineToolsRunningStatusGuestToolsRunning)},
		}
	}
	return []types.PropertyChange{
		{Name: "guest.toolsStatus", Val: types.VirtualMachineToolsStatusToolsNotRunning},
		{Name: "guest.toolsRunningStatus", Val: string(types.VirtualMachineToolsRunningStatusGuestToolsNotRunning)},
		{Name: "summary.guest.toolsRunningStatus", Val: string(types.VirtualMachineToolsRunningStatusGuestToolsNotRunning)},
	}
}

// toolsFollower is a registry handler that makes a lab VM's tools status
// follow its power state.
type toolsFollower struct{ s *Server }

func (f *toolsFollower) Reference() types.ManagedObjectReference {
	return types.ManagedObjectReference{Type: "LabToolsFollower", Value: "lab-tools-follower"}
}

func (f *toolsFollower) PutObject(*simulator.Context, mo.Reference) {}

func (f *toolsFollower) RemoveObject(*simulator.Context, types.ManagedObjectReference) {}

func (f *toolsFollower) UpdateObject(ctx *simulator.Context, obj mo.Reference, changes []types.PropertyChange) {
	vm, ok := obj.(*mo.VirtualMachine)
	if !ok {
		return
	}
	for _, c := range changes {
		if c.Name != "runtime.powerState" {
			continue
		}
		st := f.s.vmByRef(vm.Self)
		if st == nil {
			return
		}
		f.s.mu.Lock()
		tools := st.tools
		f.s.mu.Unlock()
		if target := f.s.vmObject(vm.Self); target != nil {
			ctx.Update(target, toolsChanges(tools && c.Val == types.VirtualMachinePowerStatePoweredOn))
		}
		return
	}
}

// serveShutdownGuest answers ShutdownGuest where vcsim would get it wrong
// for the lab: without running tools it fails with ToolsUnavailable (vcsim
// shuts down anyway), and a guest set to ignore shutdowns accepts the call
// and stays on. It reports whether it answered.
func (s *Server) serveShutdownGuest(w http.ResponseWriter, ref types.ManagedObjectReference) bool {
	st, vm := s.vmByRef(ref), s.vmObject(ref)
	if st == nil || vm == nil {
		return false
	}
	var power types.VirtualMachinePowerState
	var tools string
	s.lockingContext().WithLock(vm, func() {
		power = vm.Runtime.PowerState
		if vm.Guest != nil {
			tools = vm.Guest.ToolsRunningStatus
		}
	})
	if power != types.VirtualMachinePowerStatePoweredOn {
		return false // vcsim answers InvalidPowerState
	}
	if tools != string(types.VirtualMachineToolsRunningStatusGuestToolsRunning) {
		writeFault(w, "Cannot complete operation because VMware Tools is not running in this virtual machine.",
			&types.ToolsUnavailable{})
		return true
	}
	s.mu.Lock()
	ignore := st.ignoreShutdown
	s.mu.Unlock()
	if !ignore {
		return false
	}
	writeSOAP(w, struct {
		XMLName xml.Name `xml:"urn:vim25 ShutdownGuestResponse"`
	}{})
	return true
}

// Resize changes the VM's CPU count and memory, as a reconfigure in
// vCenter would: a record refresh then sees them.
func (s *Server) Resize(uuid string, numCPU, memoryMB int) error {
	st, err := s.vmByUUID(uuid)
	if err != nil {
		return fmt.Errorf("resizing: %w", err)
	}
	vm := s.vmObject(st.ref)
	if vm == nil {
		return fmt.Errorf("resizing: VM %s is gone", uuid)
	}
	ctx := s.lockingContext()
	ctx.WithLock(vm, func() {
		ctx.Update(vm, []types.PropertyChange{
			{Name: "config.hardware.numCPU", Val: int32(numCPU)},
			{Name: "config.hardware.memoryMB", Val: int32(memoryMB)},
		})
	})
	return nil
}
