package vcenter

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/vmware/govmomi/find"
	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/types"
)

// VMDef describes a VM to create.
type VMDef struct {
	Name     string
	NumCPU   int // default 1
	MemoryMB int // default 1024
	// GuestID is the vSphere guest id, e.g. "otherLinux64Guest" (default),
	// "windows9Server64Guest".
	GuestID string
	// Firmware is "bios" (default) or "efi".
	Firmware string
	// Disks in order; the first is the boot disk.
	Disks []DiskDef
	NICs  []NICDef
	// NoTools makes the guest run without VMware Tools (guest shutdown
	// then fails with ToolsUnavailable).
	NoTools bool
	// PowerOn powers the VM on after creating it.
	PowerOn bool
	// NoCBT creates the VM with changed block tracking disabled
	// (changeTrackingEnabled false): like vSphere, its disks then carry
	// no change id.
	NoCBT bool
}

// DiskDef describes a disk.
type DiskDef struct {
	SizeBytes int64 // a positive multiple of 1024
	// Changes tells which areas were written since a change id; nil means
	// a disk that is never written.
	Changes ChangeSource
}

// NICDef describes a network adapter.
type NICDef struct {
	// NetworkName is "VM Network" (a standard network), or a distributed
	// port group, created on DC0_DVS when it does not exist yet.
	NetworkName string
	// MAC is the address to set; empty picks a random one in VMware's
	// manual range (00:50:56:00:00:00–00:50:56:3f:ff:ff).
	MAC string
	// AdapterType is "vmxnet3" (default), "e1000", "e1000e", …
	AdapterType string
}

// VMInfo describes a created VM.
type VMInfo struct {
	Name string
	// UUID is the VM's instance UUID.
	UUID string
	// Ref is the VM's managed object id (e.g. "vm-42").
	Ref   string
	Disks []DiskInfo
	NICs  []NICInfo
}

// DiskInfo describes a created disk, in VMDef.Disks order.
type DiskInfo struct {
	Key       int32
	SizeBytes int64
	FileName  string
}

// NICInfo describes a created NIC, in VMDef.NICs order.
type NICInfo struct {
	Key         int32
	MAC         string
	NetworkName string
}

func (d VMDef) withDefaults() VMDef {
	if d.NumCPU == 0 {
		d.NumCPU = 1
	}
	if d.MemoryMB == 0 {
		d.MemoryMB = 1024
	}
	if d.GuestID == "" {
		d.GuestID = string(types.VirtualMachineGuestOsIdentifierOtherLinux64Guest)
	}
	if d.Firmware == "" {
		d.Firmware = string(types.GuestOsDescriptorFirmwareTypeBios)
	}
	for i := range d.NICs {
		if d.NICs[i].AdapterType == "" {
			d.NICs[i].AdapterType = "vmxnet3"
		}
	}
	return d
}

func (d VMDef) validate() error {
	var problems []error
	if d.Name == "" || strings.ContainsAny(d.Name, "/\\") {
		problems = append(problems, fmt.Errorf("invalid VM name %q", d.Name))
	}
	if d.NumCPU < 1 || d.MemoryMB < 4 {
		problems = append(problems, fmt.Errorf("invalid size: %d CPUs, %d MB", d.NumCPU, d.MemoryMB))
	}
	if d.Firmware != "bios" && d.Firmware != "efi" {
		problems = append(problems, fmt.Errorf("firmware %q is neither bios nor efi", d.Firmware))
	}
	if len(d.Disks) > 15 {
		problems = append(problems, fmt.Errorf("%d disks: at most 15", len(d.Disks)))
	}
	for i, disk := range d.Disks {
		if disk.SizeBytes <= 0 || disk.SizeBytes%1024 != 0 {
			problems = append(problems, fmt.Errorf("disk %d: size %d is not a positive multiple of 1024", i, disk.SizeBytes))
		}
	}
	for i, nic := range d.NICs {
		if nic.NetworkName == "" {
			problems = append(problems, fmt.Errorf("nic %d: network name is empty", i))
		}
	}
	return errors.Join(problems...)
}

// CreateVM creates a VM with changed block tracking enabled, its disks on
// LocalDS_0 behind one paravirtual SCSI controller, and its NICs on the
// named networks (creating distributed port groups as needed).
func (s *Server) CreateVM(ctx context.Context, def VMDef) (VMInfo, error) {
	def = def.withDefaults()
	if err := def.validate(); err != nil {
		return VMInfo{}, fmt.Errorf("validating VM %q: %w", def.Name, err)
	}

	finder := find.NewFinder(s.client)
	dc, err := finder.DefaultDatacenter(ctx)
	if err != nil {
		return VMInfo{}, fmt.Errorf("finding the datacenter: %w", err)
	}
	finder.SetDatacenter(dc)
	folders, err := dc.Folders(ctx)
	if err != nil {
		return VMInfo{}, fmt.Errorf("finding the datacenter folders: %w", err)
	}
	pool, err := finder.DefaultResourcePool(ctx)
	if err != nil {
		return VMInfo{}, fmt.Errorf("finding the resource pool: %w", err)
	}
	ds, err := finder.DefaultDatastore(ctx)
	if err != nil {
		return VMInfo{}, fmt.Errorf("finding the datastore: %w", err)
	}

	var devices object.VirtualDeviceList
	scsi, err := devices.CreateSCSIController("pvscsi")
	if err != nil {
		return VMInfo{}, fmt.Errorf("creating the SCSI controller: %w", err)
	}
	devices = append(devices, scsi)
	for i, d := range def.Disks {
		disk := devices.CreateDisk(scsi.(types.BaseVirtualController), ds.Reference(),
			ds.Path(fmt.Sprintf("%s/%s_%d.vmdk", def.Name, def.Name, i)))
		disk.CapacityInBytes = d.SizeBytes
		disk.CapacityInKB = d.SizeBytes / 1024
		devices = append(devices, disk)
	}
	for i, n := range def.NICs {
		backing, err := s.networkBacking(ctx, finder, n.NetworkName)
		if err != nil {
			return VMInfo{}, fmt.Errorf("nic %d: %w", i, err)
		}
		card, err := devices.CreateEthernetCard(n.AdapterType, backing)
		if err != nil {
			return VMInfo{}, fmt.Errorf("nic %d: %w", i, err)
		}
		// Always set a MAC and a PCI slot: vcsim otherwise assigns the NIC
		// to a PCI controller value shared by all simulators in the
		// process, a data race when two create VMs at once.
		c := card.(types.BaseVirtualEthernetCard).GetVirtualEthernetCard()
		c.ControllerKey = pciControllerKey
		c.UnitNumber = types.NewInt32(int32(7 + i))
		c.MacAddress = strings.ToLower(n.MAC)
		if c.MacAddress == "" {
			c.MacAddress = randomMAC()
		}
		c.AddressType = string(types.VirtualEthernetCardMacTypeManual)
		devices = append(devices, card)
	}
	deviceChange, err := devices.ConfigSpec(types.VirtualDeviceConfigSpecOperationAdd)
	if err != nil {
		return VMInfo{}, fmt.Errorf("building the device spec: %w", err)
	}
	for _, dc := range deviceChange {
		if _, ok := dc.GetVirtualDeviceConfigSpec().Device.(*types.VirtualDisk); ok {
			dc.GetVirtualDeviceConfigSpec().FileOperation = types.VirtualDeviceConfigSpecFileOperationCreate
		}
	}

	spec := types.VirtualMachineConfigSpec{
		Name:                  def.Name,
		NumCPUs:               int32(def.NumCPU),
		MemoryMB:              int64(def.MemoryMB),
		GuestId:               def.GuestID,
		Firmware:              def.Firmware,
		ChangeTrackingEnabled: types.NewBool(!def.NoCBT),
		Files:                 &types.VirtualMachineFileInfo{VmPathName: fmt.Sprintf("[%s]", ds.Name())},
		DeviceChange:          deviceChange,
	}
	task, err := folders.VmFolder.CreateVM(ctx, spec, pool, nil)
	if err != nil {
		return VMInfo{}, fmt.Errorf("creating VM %q: %w", def.Name, err)
	}
	res, err := task.WaitForResult(ctx)
	if err != nil {
		return VMInfo{}, fmt.Errorf("creating VM %q: %w", def.Name, err)
	}
	vm := object.NewVirtualMachine(s.client, res.Result.(types.ManagedObjectReference))

	var props mo.VirtualMachine
	if err := vm.Properties(ctx, vm.Reference(), []string{"config"}, &props); err != nil {
		return VMInfo{}, fmt.Errorf("reading VM %q: %w", def.Name, err)
	}
	info := VMInfo{Name: def.Name, UUID: props.Config.InstanceUuid, Ref: vm.Reference().Value}
	st := &vmState{ref: vm.Reference(), uuid: info.UUID, disks: map[int32]*diskState{}, tools: !def.NoTools, noCBT: def.NoCBT}

	created := object.VirtualDeviceList(props.Config.Hardware.Device)
	disks := created.SelectByType((*types.VirtualDisk)(nil))
	slices.SortFunc(disks, func(a, b types.BaseVirtualDevice) int {
		return int(*a.GetVirtualDevice().UnitNumber - *b.GetVirtualDevice().UnitNumber)
	})
	if len(disks) != len(def.Disks) {
		return VMInfo{}, fmt.Errorf("VM %q has %d disks, want %d", def.Name, len(disks), len(def.Disks))
	}
	for i, dev := range disks {
		disk := dev.(*types.VirtualDisk)
		src := def.Disks[i].Changes
		if src == nil {
			src = noChanges{}
		}
		st.disks[disk.Key] = &diskState{key: disk.Key, size: def.Disks[i].SizeBytes, epoch: newEpoch(), src: src}
		info.Disks = append(info.Disks, DiskInfo{
			Key:       disk.Key,
			SizeBytes: disk.CapacityInBytes,
			FileName:  disk.Backing.(types.BaseVirtualDeviceFileBackingInfo).GetVirtualDeviceFileBackingInfo().FileName,
		})
	}
	for i, dev := range created.SelectByType((*types.VirtualEthernetCard)(nil)) {
		card := dev.(types.BaseVirtualEthernetCard).GetVirtualEthernetCard()
		info.NICs = append(info.NICs, NICInfo{Key: card.Key, MAC: card.MacAddress, NetworkName: def.NICs[i].NetworkName})
	}

	s.mu.Lock()
	s.vms[st.ref.Value] = st
	s.byUUID[st.uuid] = st
	s.mu.Unlock()
	// Whether VMware Tools are installed, as vCenter reports it
	// (guest.toolsVersionStatus2), whatever the power state.
	installed := string(types.VirtualMachineToolsVersionStatusGuestToolsCurrent)
	if def.NoTools {
		installed = string(types.VirtualMachineToolsVersionStatusGuestToolsNotInstalled)
	}
	if obj := s.vmObject(st.ref); obj != nil {
		lctx := s.lockingContext()
		lctx.WithLock(obj, func() {
			lctx.Update(obj, []types.PropertyChange{{Name: "guest.toolsVersionStatus2", Val: installed}})
		})
	}

	if def.PowerOn {
		task, err := vm.PowerOn(ctx)
		if err == nil {
			err = task.Wait(ctx)
		}
		if err != nil {
			return VMInfo{}, fmt.Errorf("powering on VM %q: %w", def.Name, err)
		}
	}
	return info, nil
}

// pciControllerKey is the key of a VM's PCI controller.
const pciControllerKey = 100

// randomMAC returns an address in VMware's manual range
// 00:50:56:00:00:00–00:50:56:3f:ff:ff.
func randomMAC() string {
	var b [3]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("00:50:56:%02x:%02x:%02x", b[0]&0x3f, b[1], b[2])
}

// noChanges is the ChangeSource of a disk that is never written.
type noChanges struct{}

func (noChanges) Mark() (int64, error)                 { return 0, nil }
func (noChanges) ChangedSince(int64) ([]Extent, error) { return nil, nil }
