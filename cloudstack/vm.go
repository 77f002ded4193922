package cloudstack

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"strings"

	cs "github.com/apache/cloudstack-go/v2/cloudstack"

	"github.com/ossea/unifiedfailover/errs"
)

// VM states as CloudStack reports them.
const (
	StateStopped   = "Stopped"
	StateStarting  = "Starting"
	StateRunning   = "Running"
	StateStopping  = "Stopping"
	StateDestroyed = "Destroyed"
	StateExpunging = "Expunging"
)

// Boot modes of DeploySpec.
const (
	BootDefault = ""
	BootBIOS    = "BIOS"
	BootUEFI    = "UEFI"
)

// VM is a CloudStack virtual machine.
type VM struct {
	ID                string
	Name              string
	DisplayName       string
	State             string
	ZoneID            string
	ServiceOfferingID string
	TemplateID        string
	Account           string
	NICs              []NIC
}

// NIC is a VM's network interface.
type NIC struct {
	ID        string
	NetworkID string
	MAC       string
	DeviceID  int
}

// NICSpec asks for one NIC on NetworkID, keeping MAC when it is set.
type NICSpec struct {
	NetworkID string
	MAC       string
}

// DeploySpec describes a VM to deploy. ZoneID defaults to the configured
// zone. BootMode is "", "BIOS" or "UEFI".
type DeploySpec struct {
	Name              string
	DisplayName       string
	ServiceOfferingID string
	TemplateID        string
	ZoneID            string
	NICs              []NICSpec
	BootMode          string
	// CPUs, MemoryMB and CPUSpeedMHz size a VM deployed from a customized
	// offering (sent as details cpuNumber, memory and cpuSpeed, which
	// UserVmManagerImpl.validateCustomParameters requires where the
	// offering does not fix them); zero for a fixed offering.
	CPUs        int
	MemoryMB    int
	CPUSpeedMHz int
}

func (s DeploySpec) validate() error {
	switch {
	case s.Name == "":
		return errs.New(errs.InvalidArgument, "deploy spec: name is required")
	case s.ServiceOfferingID == "" || s.TemplateID == "":
		return errs.New(errs.InvalidArgument, "deploy spec %s: service offering and template are required", s.Name)
	case s.ZoneID == "":
		return errs.New(errs.InvalidArgument, "deploy spec %s: zone is required", s.Name)
	case len(s.NICs) == 0:
		return errs.New(errs.InvalidArgument, "deploy spec %s: at least one NIC is required", s.Name)
	case s.CPUs < 0 || s.MemoryMB < 0 || (s.CPUs > 0) != (s.MemoryMB > 0):
		return errs.New(errs.InvalidArgument, "deploy spec %s: a customized size needs both CPUs and memory", s.Name)
	}
	switch strings.ToUpper(s.BootMode) {
	case BootDefault, BootBIOS, BootUEFI:
	default:
		return errs.New(errs.InvalidArgument, "deploy spec %s: boot mode %q is not BIOS or UEFI", s.Name, s.BootMode)
	}
	seen := map[string]bool{}
	for i, n := range s.NICs {
		if seen[n.NetworkID] {
			return errs.New(errs.InvalidArgument, "deploy spec %s: NIC %d is a second NIC on network %s: CloudStack would merge them; add it with addNicToVirtualMachine", s.Name, i, n.NetworkID)
		}
		seen[n.NetworkID] = true
		if n.NetworkID == "" {
			return errs.New(errs.InvalidArgument, "deploy spec %s: NIC %d has no network", s.Name, i)
		}
		if n.MAC != "" {
			if hw, err := net.ParseMAC(n.MAC); err != nil || len(hw) != 6 {
				return errs.New(errs.InvalidArgument, "deploy spec %s: NIC %d: %q is not a MAC address", s.Name, i, n.MAC)
			}
		}
	}
	return nil
}

// DeployVM creates a VM, stopped, with one NIC per spec entry in order
// (keeping the MACs given), and waits for the deploy job. CloudStack keys
// the NICs of a deploy by network (BaseDeployVMCmd.getIpToNetworkMap): two
// entries on one network would become one NIC, so the spec is refused.
// A second NIC on a network cannot be added later either:
// addNicToVirtualMachine refuses it (UserVmManagerImpl.
// checkIfNetExistsForVM, "A NIC already exists for VM").
func (c *Client) DeployVM(ctx context.Context, spec DeploySpec) (*VM, error) {
	if spec.ZoneID == "" {
		spec.ZoneID = c.cfg.ZoneID
	}
	if err := spec.validate(); err != nil {
		return nil, err
	}
	what := fmt.Sprintf("cloudstack: deploying VM %s", spec.Name)
	raw, err := c.runJob(ctx, "deployVirtualMachine", what, func(api *cs.CloudStackClient) (string, error) {
		p := api.VirtualMachine.NewDeployVirtualMachineParams(spec.ServiceOfferingID, spec.TemplateID, spec.ZoneID)
		p.SetName(spec.Name)
		if spec.DisplayName != "" {
			p.SetDisplayname(spec.DisplayName)
		}
		p.SetStartvm(false)
		nics := make([]map[string]string, 0, len(spec.NICs))
		for _, n := range spec.NICs {
			m := map[string]string{"networkid": n.NetworkID}
			if n.MAC != "" {
				m["mac"] = strings.ToLower(n.MAC)
			}
			nics = append(nics, m)
		}
		p.SetIptonetworklist(nics)
		if spec.CPUs > 0 || spec.MemoryMB > 0 {
			details := map[string]string{"cpuNumber": strconv.Itoa(spec.CPUs), "memory": strconv.Itoa(spec.MemoryMB)}
			if spec.CPUSpeedMHz > 0 {
				details["cpuSpeed"] = strconv.Itoa(spec.CPUSpeedMHz)
			}
			p.SetDetails(details)
		}
		if bm := strings.ToUpper(spec.BootMode); bm != BootDefault {
			p.SetBoottype(bm)
			p.SetBootmode("LEGACY")
		}
		r, err := api.VirtualMachine.DeployVirtualMachine(p)
		if err != nil {
			return "", err
		}
		return r.JobID, nil
	})
	if err != nil {
		return nil, err
	}
	return decodeVM(raw, what)
}

// FindVMByName returns the VM named name; errs.NotFound when there is none.
func (c *Client) FindVMByName(ctx context.Context, name string) (*VM, error) {
	what := fmt.Sprintf("cloudstack: finding VM %s", name)
	vms, err := c.listVMs(ctx, what, func(p *cs.ListVirtualMachinesParams) { p.SetName(name) })
	if err != nil {
		return nil, err
	}
	var found *VM
	for i := range vms {
		if vms[i].Name != name {
			continue
		}
		if found == nil || found.State == StateDestroyed || found.State == StateExpunging {
			found = &vms[i]
		}
	}
	if found == nil {
		return nil, errs.New(errs.NotFound, "%s: no such VM", what)
	}
	return found, nil
}

// OwnsVM reports whether the API key's account owns the VM (see
// OwnsVolume).
func (c *Client) OwnsVM(ctx context.Context, id string) (bool, error) {
	what := fmt.Sprintf("cloudstack: listing VM %s of the caller's account", id)
	api, x := c.api(ctx)
	p := api.VirtualMachine.NewListVirtualMachinesParams()
	p.SetId(id)
	r, err := api.VirtualMachine.ListVirtualMachines(p)
	if err != nil {
		return false, c.fail(ctx, x, "listVirtualMachines", what, err)
	}
	for _, v := range r.VirtualMachines {
		if v.Id == id {
			return true, nil
		}
	}
	return false, nil
}

// GetVM returns the VM with id; errs.NotFound when there is none.
func (c *Client) GetVM(ctx context.Context, id string) (*VM, error) {
	what := fmt.Sprintf("cloudstack: getting VM %s", id)
	vms, err := c.listVMs(ctx, what, func(p *cs.ListVirtualMachinesParams) { p.SetId(id) })
	if err != nil {
		return nil, err
	}
	for i := range vms {
		if vms[i].ID == id {
			return &vms[i], nil
		}
	}
	return nil, errs.New(errs.NotFound, "%s: no such VM", what)
}

func (c *Client) listVMs(ctx context.Context, what string, filter func(*cs.ListVirtualMachinesParams)) ([]VM, error) {
	api, x := c.api(ctx)
	p := api.VirtualMachine.NewListVirtualMachinesParams()
	p.SetListall(true)
	filter(p)
	r, err := api.VirtualMachine.ListVirtualMachines(p)
	if err != nil {
		return nil, c.fail(ctx, x, "listVirtualMachines", what, err)
	}
	out := make([]VM, 0, len(r.VirtualMachines))
	for _, v := range r.VirtualMachines {
		out = append(out, fromCSVM(v))
	}
	return out, nil
}

// StartVM starts a stopped VM and waits until CloudStack reports it running.
func (c *Client) StartVM(ctx context.Context, id string) (*VM, error) {
	what := fmt.Sprintf("cloudstack: starting VM %s", id)
	raw, err := c.runJob(ctx, "startVirtualMachine", what, func(api *cs.CloudStackClient) (string, error) {
		r, err := api.VirtualMachine.StartVirtualMachine(api.VirtualMachine.NewStartVirtualMachineParams(id))
		if err != nil {
			return "", err
		}
		return r.JobID, nil
	})
	if err != nil {
		return nil, err
	}
	return decodeVM(raw, what)
}

// StopVM stops a VM (forced: power off without guest shutdown) and waits
// until it is stopped.
func (c *Client) StopVM(ctx context.Context, id string, forced bool) (*VM, error) {
	what := fmt.Sprintf("cloudstack: stopping VM %s", id)
	raw, err := c.runJob(ctx, "stopVirtualMachine", what, func(api *cs.CloudStackClient) (string, error) {
		p := api.VirtualMachine.NewStopVirtualMachineParams(id)
		p.SetForced(forced)
		r, err := api.VirtualMachine.StopVirtualMachine(p)
		if err != nil {
			return "", err
		}
		return r.JobID, nil
	})
	if err != nil {
		return nil, err
	}
	return decodeVM(raw, what)
}

// DestroyVM destroys a VM, expunging it (and its ROOT volume; data volumes
// are detached) when expunge is set, and waits for the job.
func (c *Client) DestroyVM(ctx context.Context, id string, expunge bool) error {
	what := fmt.Sprintf("cloudstack: destroying VM %s", id)
	_, err := c.runJob(ctx, "destroyVirtualMachine", what, func(api *cs.CloudStackClient) (string, error) {
		p := api.VirtualMachine.NewDestroyVirtualMachineParams(id)
		p.SetExpunge(expunge)
		r, err := api.VirtualMachine.DestroyVirtualMachine(p)
		if err != nil {
			return "", err
		}
		return r.JobID, nil
	})
	return err
}

func decodeVM(raw []byte, what string) (*VM, error) {
	var v cs.VirtualMachine
	if err := decodeResult(raw, &v, what); err != nil {
		return nil, err
	}
	vm := fromCSVM(&v)
	return &vm, nil
}

func fromCSVM(v *cs.VirtualMachine) VM {
	vm := VM{
		ID: v.Id, Name: v.Name, DisplayName: v.Displayname, State: v.State, ZoneID: v.Zoneid,
		ServiceOfferingID: v.Serviceofferingid, TemplateID: v.Templateid, Account: v.Account,
	}
	for _, n := range v.Nic {
		d, _ := strconv.Atoi(n.Deviceid)
		vm.NICs = append(vm.NICs, NIC{ID: n.Id, NetworkID: n.Networkid, MAC: n.Macaddress, DeviceID: d})
	}
	return vm
}
