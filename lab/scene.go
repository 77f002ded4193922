package lab

import (
	"fmt"

	cssim "github.com/ossea/unifiedfailover/sim/cloudstack"
)

// ApplianceVMName is the name of the appliance VM in CloudStack.
const ApplianceVMName = "ossea-oma"

// scene is what buildCloudStack created, by catalog name.
type scene struct {
	offerings map[string]cssim.ServiceOffering
	networks  map[string]cssim.Network
}

// buildCloudStack creates the CloudStack side of the lab: one zone, a
// blank template, the compute offerings, the production and test networks
// and the running appliance VM.
func (l *Lab) buildCloudStack() scene {
	cs := l.CloudStack
	sc := scene{offerings: map[string]cssim.ServiceOffering{}, networks: map[string]cssim.Network{}}

	l.ZoneID = cs.AddZone(cssim.Zone{Name: "lab-zone-1"}).ID
	l.TemplateID = cs.AddTemplate(cssim.Template{Name: "lab-blank", ZoneID: l.ZoneID}).ID
	for _, o := range offeringCatalog {
		off := cs.AddServiceOffering(cssim.ServiceOffering{Name: o.name, CPUs: o.cpus, MemoryMB: o.memoryMB})
		sc.offerings[o.name] = off
		l.ServiceOfferings = append(l.ServiceOfferings, off)
	}
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
	return sc
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
			})
			d.VolumeID, d.VolumeName, d.DeviceID = vol.ID, vol.Name, ids[0]
			ids = ids[1:]
			if err := l.CloudStack.AttachVolumeDirect(vol.ID, l.ApplianceVMID, d.DeviceID); err != nil {
				return fmt.Errorf("attaching replica volume %s to the appliance VM: %w", vol.Name, err)
			}
		}
	}
	return nil
}
