package failover

import (
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// ReplicaRules say how a registration that gives only a VM and, at most,
// its replica volumes (the short form of POST /contexts) finds the rest:
// the replica volume of each disk by name on the appliance, and the NBD
// exports that serve the source disk and the replica. Each is a template
// over the placeholders of TemplateVars.
type ReplicaRules struct {
	// SourceNBDURI is FAILOVER_SOURCE_NBD_URI: the NBD URI of a source
	// disk's export, over {vm_uuid}, {vm_name}, {disk_key} and
	// {disk_number}, e.g. nbd://nbd-gw:10809/{vm_uuid}-{disk_key}. Defaults
	// to empty: a registration must then give each disk's source_nbd_uri.
	SourceNBDURI string
	// ReplicaNBDURI is FAILOVER_REPLICA_NBD_URI: the NBD URI of a replica's
	// export on the appliance, over the same placeholders and {volume_id},
	// {volume_name} and {device_id}, e.g.
	// nbd://appliance:10809/{volume_id}. Defaults to empty: a registration
	// must then give each disk's replica_nbd_uri.
	ReplicaNBDURI string
	// ReplicaVolumeName is FAILOVER_REPLICA_VOLUME_NAME: the name of the
	// replica volume of a disk among the volumes attached to the appliance
	// VM, over {vm_uuid}, {vm_name}, {disk_key} and {disk_number}. Defaults
	// to DefaultReplicaVolumeName.
	ReplicaVolumeName string
}

// DefaultReplicaVolumeName names a disk's replica volume: the VM's name,
// "-disk" and the disk's 1-based position in vCenter's disk order
// (web-01-disk1 is the boot disk of web-01).
const DefaultReplicaVolumeName = "{vm_name}-disk{disk_number}"

// Placeholders of the ReplicaRules templates.
var (
	diskPlaceholders    = []string{"vm_uuid", "vm_name", "disk_key", "disk_number"}
	replicaPlaceholders = append(slices.Clone(diskPlaceholders), "volume_id", "volume_name", "device_id")
)

// WithDefaults fills the zero fields.
func (r ReplicaRules) WithDefaults() ReplicaRules {
	if r.ReplicaVolumeName == "" {
		r.ReplicaVolumeName = DefaultReplicaVolumeName
	}
	return r
}

func (r ReplicaRules) validate() error {
	for _, t := range []struct {
		name, tmpl string
		allowed    []string
		uri        bool
	}{
		{"FAILOVER_SOURCE_NBD_URI", r.SourceNBDURI, diskPlaceholders, true},
		{"FAILOVER_REPLICA_NBD_URI", r.ReplicaNBDURI, replicaPlaceholders, true},
		{"FAILOVER_REPLICA_VOLUME_NAME", r.ReplicaVolumeName, diskPlaceholders, false},
	} {
		if t.tmpl == "" {
			continue
		}
		if err := checkTemplate(t.tmpl, t.allowed); err != nil {
			return fmt.Errorf("%s: %w", t.name, err)
		}
		if t.uri {
			sample, _ := expand(t.tmpl, sampleVars, true)
			if sample == "" || !validNBDURI(sample) {
				return fmt.Errorf("%s: %q is not an nbd:// or nbd+unix:// URI template", t.name, t.tmpl)
			}
		}
	}
	return nil
}

// TemplateVars are the values of a template's placeholders for one disk
// (and, for the replica export, its volume).
type TemplateVars struct {
	VMUUID, VMName string
	DiskKey        int32
	// DiskNumber is the disk's 1-based position in vCenter's disk order.
	DiskNumber int
	VolumeID   string
	VolumeName string
	DeviceID   *int
}

func (v TemplateVars) lookup(name string) (string, bool) {
	switch name {
	case "vm_uuid":
		return v.VMUUID, true
	case "vm_name":
		return v.VMName, true
	case "disk_key":
		return strconv.Itoa(int(v.DiskKey)), true
	case "disk_number":
		return strconv.Itoa(v.DiskNumber), true
	case "volume_id":
		return v.VolumeID, true
	case "volume_name":
		return v.VolumeName, true
	case "device_id":
		if v.DeviceID == nil {
			return "", false
		}
		return strconv.Itoa(*v.DeviceID), true
	}
	return "", false
}

// sampleVars check that a URI template makes a URI.
var sampleVars = TemplateVars{VMUUID: "42000000-0000-0000-0000-000000000000", VMName: "vm", DiskKey: 2000, DiskNumber: 1,
	VolumeID: "00000000-0000-0000-0000-000000000000", VolumeName: "vm-disk1", DeviceID: new(1)}

var placeholder = regexp.MustCompile(`\{([^{}]*)\}`)

// checkTemplate refuses a placeholder not in allowed, and an unmatched
// brace.
func checkTemplate(tmpl string, allowed []string) error {
	for _, m := range placeholder.FindAllStringSubmatch(tmpl, -1) {
		if !slices.Contains(allowed, m[1]) {
			return fmt.Errorf("unknown placeholder {%s} in %q (known: {%s})", m[1], tmpl, strings.Join(allowed, "}, {"))
		}
	}
	if rest := placeholder.ReplaceAllString(tmpl, ""); strings.ContainsAny(rest, "{}") {
		return fmt.Errorf("unmatched brace in %q", tmpl)
	}
	return nil
}

// expand fills a template's placeholders. In a URI, each value is
// escaped (url.PathEscape), so a VM name cannot change the URI's shape.
// The error names a placeholder that has no value for this disk.
func expand(tmpl string, v TemplateVars, uri bool) (string, error) {
	var missing string
	out := placeholder.ReplaceAllStringFunc(tmpl, func(m string) string {
		name := m[1 : len(m)-1]
		val, ok := v.lookup(name)
		if !ok {
			missing = name
			return ""
		}
		if uri {
			return url.PathEscape(val)
		}
		return val
	})
	if missing != "" {
		return "", fmt.Errorf("{%s} has no value for disk %d of %s", missing, v.DiskKey, v.VMName)
	}
	return out, nil
}
