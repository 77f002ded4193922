package vsphere

import (
	"cmp"
	"context"
	"slices"
	"strings"

	"github.com/vmware/govmomi/property"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/types"

	"github.com/ossea/unifiedfailover/errs"
)

// VMSpec is what a failover needs to know about a source VM.
type VMSpec struct {
	UUID     string // instance UUID
	Name     string
	NumCPU   int
	MemoryMB int
	GuestID  string
	// OSFamily is "windows", "linux" or "other".
	OSFamily string
	// Firmware is "bios" or "efi".
	Firmware   string
	PowerState string
	// CBTEnabled is the VM's changeTrackingEnabled setting: without it
	// vCenter keeps no change ids, and no incremental sync is possible.
	CBTEnabled bool
	// Disks in boot order (see Disk.Order).
	Disks []Disk
	NICs  []NIC
}

// Disk is one virtual disk of a VM.
type Disk struct {
	Key int32
	// Order is the 0-based position of the disk ordered by controller
	// type (SCSI, SATA, NVMe, IDE), controller bus number and unit number.
	Order         int
	Label         string
	CapacityBytes int64
	FileName      string
	// ChangeID is the disk backing's current CBT change id ("" when
	// changed block tracking has not produced one).
	ChangeID string
}

// NIC is one network adapter of a VM.
type NIC struct {
	Key   int32
	Label string
	MAC   string
	// AdapterType is "vmxnet3", "e1000", "e1000e", "vmxnet2", "vmxnet",
	// "pcnet32", "sriov" or "vmxnet3vrdma".
	AdapterType string
	// NetworkName is the standard network or distributed port group the
	// adapter is connected to.
	NetworkName string
}

// VMSpec reads the specification of the VM with instance UUID uuid.
func (c *Client) VMSpec(ctx context.Context, uuid string) (*VMSpec, error) {
	vm, err := c.FindByUUID(ctx, uuid)
	if err != nil {
		return nil, err
	}
	var props mo.VirtualMachine
	if err := vm.Properties(ctx, vm.Reference(), []string{"name", "config", "runtime.powerState", "network"}, &props); err != nil {
		return nil, classify(err, "reading VM %s", uuid)
	}
	if props.Config == nil {
		return nil, errs.New(errs.FailedPrecondition, "reading VM %s: its configuration is not available (VM inaccessible?)", uuid)
	}
	cfg := props.Config
	spec := &VMSpec{
		UUID:       cfg.InstanceUuid,
		Name:       props.Name,
		NumCPU:     int(cfg.Hardware.NumCPU),
		MemoryMB:   int(cfg.Hardware.MemoryMB),
		GuestID:    cfg.GuestId,
		OSFamily:   osFamily(cfg.GuestId, cfg.GuestFullName),
		Firmware:   "bios",
		PowerState: string(props.Runtime.PowerState),
		CBTEnabled: cfg.ChangeTrackingEnabled != nil && *cfg.ChangeTrackingEnabled,
	}
	if cfg.Firmware == string(types.GuestOsDescriptorFirmwareTypeEfi) {
		spec.Firmware = "efi"
	}
	spec.Disks = disks(cfg.Hardware.Device)

	portGroups, err := c.portGroupNames(ctx, props.Network)
	if err != nil {
		return nil, classify(err, "reading the networks of VM %s", uuid)
	}
	spec.NICs = nics(cfg.Hardware.Device, portGroups)
	return spec, nil
}

// osFamily maps a guest id (or, failing that, the guest's full name) to
// "windows", "linux" or "other".
func osFamily(guestID, fullName string) string {
	id := strings.ToLower(guestID)
	name := strings.ToLower(fullName)
	switch {
	case strings.HasPrefix(id, "win") || strings.Contains(name, "windows"):
		return "windows"
	case strings.Contains(name, "linux"):
		return "linux"
	}
	for _, l := range []string{"linux", "rhel", "centos", "ubuntu", "debian", "sles", "suse", "oracle",
		"fedora", "rocky", "alma", "photon", "coreos", "amazonlinux", "asianux", "mandrake", "mandriva",
		"turbolinux", "redhat", "opensuse", "genericlinux", "vmwarephoton", "crxpod", "crxsys"} {
		if strings.Contains(id, l) {
			return "linux"
		}
	}
	return "other"
}

// disks returns the VM's virtual disks in order.
func disks(devices []types.BaseVirtualDevice) []Disk {
	type ctrl struct{ rank, bus int }
	controllers := map[int32]ctrl{}
	for _, d := range devices {
		var rank int
		switch d.(type) {
		case types.BaseVirtualSCSIController:
			rank = 0
		case types.BaseVirtualSATAController:
			rank = 1
		case *types.VirtualNVMEController:
			rank = 2
		case *types.VirtualIDEController:
			rank = 3
		default:
			continue
		}
		c := d.(types.BaseVirtualController).GetVirtualController()
		controllers[c.Key] = ctrl{rank: rank, bus: int(c.BusNumber)}
	}

	type sortable struct {
		Disk
		ctrl ctrl
		unit int32
	}
	var list []sortable
	for _, d := range devices {
		disk, ok := d.(*types.VirtualDisk)
		if !ok {
			continue
		}
		s := sortable{ctrl: controllers[disk.ControllerKey], unit: -1}
		if disk.UnitNumber != nil {
			s.unit = *disk.UnitNumber
		}
		s.Key = disk.Key
		s.CapacityBytes = disk.CapacityInBytes
		if s.CapacityBytes == 0 {
			s.CapacityBytes = disk.CapacityInKB * 1024
		}
		if info := disk.DeviceInfo; info != nil {
			s.Label = info.GetDescription().Label
		}
		if b, ok := disk.Backing.(types.BaseVirtualDeviceFileBackingInfo); ok {
			s.FileName = b.GetVirtualDeviceFileBackingInfo().FileName
		}
		s.ChangeID = backingChangeID(disk.Backing)
		list = append(list, s)
	}
	slices.SortStableFunc(list, func(a, b sortable) int {
		return cmp.Or(cmp.Compare(a.ctrl.rank, b.ctrl.rank), cmp.Compare(a.ctrl.bus, b.ctrl.bus), cmp.Compare(a.unit, b.unit))
	})
	out := make([]Disk, len(list))
	for i, s := range list {
		s.Order = i
		out[i] = s.Disk
	}
	return out
}

// backingChangeID returns the CBT change id of a disk backing, or "".
func backingChangeID(backing types.BaseVirtualDeviceBackingInfo) string {
	switch b := backing.(type) {
	case *types.VirtualDiskFlatVer2BackingInfo:
		return b.ChangeId
	case *types.VirtualDiskSparseVer2BackingInfo:
		return b.ChangeId
	case *types.VirtualDiskSeSparseBackingInfo:
		return b.ChangeId
	case *types.VirtualDiskRawDiskMappingVer1BackingInfo:
		return b.ChangeId
	case *types.VirtualDiskRawDiskVer2BackingInfo:
		return b.ChangeId
	case *types.VirtualDiskPartitionedRawDiskVer2BackingInfo:
		return b.ChangeId
	}
	return ""
}

// nics returns the VM's network adapters ordered by device key.
func nics(devices []types.BaseVirtualDevice, portGroups map[string]string) []NIC {
	var out []NIC
	for _, d := range devices {
		card, ok := d.(types.BaseVirtualEthernetCard)
		if !ok {
			continue
		}
		c := card.GetVirtualEthernetCard()
		n := NIC{Key: c.Key, MAC: strings.ToLower(c.MacAddress), AdapterType: adapterType(d)}
		if info := c.DeviceInfo; info != nil {
			n.Label = info.GetDescription().Label
		}
		switch b := c.Backing.(type) {
		case *types.VirtualEthernetCardNetworkBackingInfo:
			n.NetworkName = b.DeviceName
		case *types.VirtualEthernetCardDistributedVirtualPortBackingInfo:
			n.NetworkName = portGroups[b.Port.PortgroupKey]
		case *types.VirtualEthernetCardOpaqueNetworkBackingInfo:
			n.NetworkName = b.OpaqueNetworkId
		}
		out = append(out, n)
	}
	slices.SortFunc(out, func(a, b NIC) int { return cmp.Compare(a.Key, b.Key) })
	return out
}

func adapterType(d types.BaseVirtualDevice) string {
	switch d.(type) {
	case *types.VirtualVmxnet3Vrdma:
		return "vmxnet3vrdma"
	case *types.VirtualVmxnet3:
		return "vmxnet3"
	case *types.VirtualVmxnet2:
		return "vmxnet2"
	case *types.VirtualVmxnet:
		return "vmxnet"
	case *types.VirtualE1000e:
		return "e1000e"
	case *types.VirtualE1000:
		return "e1000"
	case *types.VirtualPCNet32:
		return "pcnet32"
	case *types.VirtualSriovEthernetCard:
		return "sriov"
	}
	return "unknown"
}

// portGroupNames maps the port group keys of the VM's distributed port
// groups to their names.
func (c *Client) portGroupNames(ctx context.Context, networks []types.ManagedObjectReference) (map[string]string, error) {
	var refs []types.ManagedObjectReference
	for _, n := range networks {
		if n.Type == "DistributedVirtualPortgroup" {
			refs = append(refs, n)
		}
	}
	names := map[string]string{}
	if len(refs) == 0 {
		return names, nil
	}
	var pgs []mo.DistributedVirtualPortgroup
	if err := property.DefaultCollector(c.vim).Retrieve(ctx, refs, []string{"name", "key"}, &pgs); err != nil {
		return nil, err
	}
	for _, pg := range pgs {
		names[pg.Key] = pg.Name
	}
	return names, nil
}
