package lab

import (
	"fmt"
	"os"
	"path/filepath"

	cssim "github.com/ossea/unifiedfailover/sim/cloudstack"
	"github.com/ossea/unifiedfailover/virtio"
)

// ApplianceVMName is the name of the appliance VM in CloudStack.
const ApplianceVMName = "ossea-oma"

// customOffering is the lab's customized compute offering: a VM deployed
// with it gets exactly its source's CPU count and memory.
const customOffering = "lab-custom"

// scene is what buildCloudStack created, by catalog name.
type scene struct {
	offerings map[string]cssim.ServiceOffering
	networks  map[string]cssim.Network
}

// templateSize is the lab template's virtual size: a small Linux cloud
// image, as an operator registers one.
const templateSize = 2 << 30

// buildCloudStack creates the CloudStack side of the lab: one zone, a
// template, an NFS primary storage pool, the compute offerings (fixed and
// one customized), the production and test networks and the running
// appliance VM with its own ROOT volume.
func (l *Lab) buildCloudStack() (scene, error) {
	cs := l.CloudStack
	sc := scene{offerings: map[string]cssim.ServiceOffering{}, networks: map[string]cssim.Network{}}

	l.ZoneID = cs.AddZone(cssim.Zone{Name: "lab-zone-1"}).ID
	l.TemplateID = cs.AddTemplate(cssim.Template{Name: "debian-12-genericcloud-amd64", ZoneID: l.ZoneID, SizeBytes: templateSize}).ID
	l.StoragePoolID = cs.AddStoragePool(cssim.StoragePool{Name: "lab-primary-nfs", Type: cssim.PoolNFS, ZoneID: l.ZoneID}).ID
	for _, o := range offeringCatalog {
		off := cs.AddServiceOffering(cssim.ServiceOffering{Name: o.name, CPUs: o.cpus, MemoryMB: o.memoryMB})
		sc.offerings[o.name] = off
		l.ServiceOfferings = append(l.ServiceOfferings, off)
	}
	custom := cs.AddServiceOffering(cssim.ServiceOffering{Name: customOffering, Customized: true})
	l.ServiceOfferings = append(l.ServiceOfferings, custom)
	add := func(name, typ, cidr string) {
		n := cs.AddNetwork(cssim.Network{Name: name, Type: typ, ZoneID: l.ZoneID, CIDR: cidr})
		sc.networks[name] = n
		l.Networks = append(l.Networks, n)
	}
	for _, n := range networkCatalog {
		add(n.live, n.liveType, n.liveCIDR)
	}
	for _, n := range networkCatalog {
		add(n.test, n.testType, n.testCIDR)
	}
	oma := offeringCatalog[3]
	l.ApplianceVMID = cs.AddVM(cssim.VM{
		Name:              ApplianceVMName,
		State:             cssim.StateRunning,
		ZoneID:            l.ZoneID,
		ServiceOfferingID: sc.offerings[oma.name].ID,
		TemplateID:        l.TemplateID,
		NICs:              []cssim.NIC{{NetworkID: sc.networks[networkCatalog[0].live].ID}},
	}).ID
	root := cs.AddVolume(cssim.VolumeSpec{Name: "ROOT-" + ApplianceVMName, Type: cssim.VolumeRoot, SizeBytes: templateSize,
		ZoneID: l.ZoneID, StorageID: l.StoragePoolID})
	if err := cs.AttachVolumeDirect(root.ID, l.ApplianceVMID, 0); err != nil {
		return sc, fmt.Errorf("attaching the appliance's ROOT volume: %w", err)
	}
	return sc, nil
}

// applianceDeviceIDs returns the first n device ids replica volumes take on
// the appliance VM: 1, 2, 4, 5, … (0 is the root disk's, 3 the CD-ROM's on
// KVM, which CloudStack itself never hands out to a data volume).
func applianceDeviceIDs(n int) []int {
	ids := make([]int, 0, n)
	for id := 1; len(ids) < n; id++ {
		if id != 3 {
			ids = append(ids, id)
		}
	}
	return ids
}

// attachReplicas adds one CloudStack volume per source disk, backed by the
// replica's file, and attaches them to the appliance VM in VM and disk
// order.
func (l *Lab) attachReplicas() error {
	var n int
	for _, vm := range l.VMs {
		n += len(vm.Disks)
	}
	ids := applianceDeviceIDs(n)
	l.DeviceDir = filepath.Join(l.Dir, "by-id")
	if err := os.MkdirAll(l.DeviceDir, 0o755); err != nil {
		return fmt.Errorf("making the appliance's device directory: %w", err)
	}
	for i := range l.VMs {
		vm := &l.VMs[i]
		for j := range vm.Disks {
			d := &vm.Disks[j]
			vol := l.CloudStack.AddVolume(cssim.VolumeSpec{
				Name:      fmt.Sprintf("%s-disk%d", vm.Name, j+1),
				Type:      cssim.VolumeDataDisk,
				SizeBytes: d.SizeBytes,
				Path:      d.Replica.Path,
				ZoneID:    l.ZoneID,
				StorageID: l.StoragePoolID,
				Format:    cssim.FormatQCOW2,
			})
			d.VolumeID, d.VolumeName, d.DeviceID = vol.ID, vol.Name, ids[0]
			if err := os.Symlink(d.Replica.Path, filepath.Join(l.DeviceDir, "virtio-"+virtio.Serial(vol.ID))); err != nil {
				return fmt.Errorf("linking replica volume %s's device: %w", vol.Name, err)
			}
			ids = ids[1:]
			if err := l.CloudStack.AttachVolumeDirect(vol.ID, l.ApplianceVMID, d.DeviceID); err != nil {
				return fmt.Errorf("attaching replica volume %s to the appliance VM: %w", vol.Name, err)
			}
		}
	}
	return nil
}
