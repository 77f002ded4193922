package failover

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"time"
	"unicode"

	"github.com/ossea/unifiedfailover/api/apiv1"
	"github.com/ossea/unifiedfailover/errs"
	"github.com/ossea/unifiedfailover/nbd"
	"github.com/ossea/unifiedfailover/store"
)

// RegisterRequest registers a protected VM: its VMware UUID, and for each
// disk the replica volume and the NBD exports that serve the source disk
// and the replica. It is the body cmd/labsim writes in its manifest.
type RegisterRequest struct {
	VMwareVMID      string            `json:"vmware_vm_id"`
	VMName          string            `json:"vm_name,omitempty"`
	VCenterHost     string            `json:"vcenter_host,omitempty"`
	Datacenter      string            `json:"datacenter,omitempty"`
	Disks           []RegisterDisk    `json:"disks"`
	NICs            []RegisterNIC     `json:"nics,omitempty"`
	NetworkMappings []RegisterMapping `json:"network_mappings,omitempty"`
}

// RegisterDisk is one disk of a RegisterRequest.
type RegisterDisk = apiv1.RegisterDisk

// RegisterNIC is one NIC of a RegisterRequest (informative: NICs are read
// from vCenter).
type RegisterNIC = apiv1.RegisterNIC

// RegisterMapping is a network mapping given at registration.
type RegisterMapping = apiv1.RegisterMapping

func validNBDURI(s string) bool {
	if s == "" {
		return true
	}
	u, err := url.Parse(s)
	return err == nil && strings.HasPrefix(u.Scheme, "nbd")
}

// validate checks the request's shape before anything is read or written.
func (r *RegisterRequest) validate() error {
	if strings.TrimSpace(r.VMwareVMID) == "" {
		return errs.Field("vmware_vm_id", "is required")
	}
	if len(r.Disks) == 0 {
		return errs.Field("disks", "at least one disk with its replica volume is required")
	}
	seen := map[int32]bool{}
	for i, d := range r.Disks {
		f := fmt.Sprintf("disks[%d]", i)
		switch {
		case seen[d.DiskKey]:
			return errs.Field(f+".disk_key", "disk %d is listed twice", d.DiskKey)
		case strings.TrimSpace(d.VolumeID) == "":
			return errs.Field(f+".volume_id", "is required")
		case !validNBDURI(d.SourceNBDURI):
			return errs.Field(f+".source_nbd_uri", "must be an nbd:// or nbd+unix:// URI")
		case !validNBDURI(d.ReplicaNBDURI):
			return errs.Field(f+".replica_nbd_uri", "must be an nbd:// or nbd+unix:// URI")
		}
		seen[d.DiskKey] = true
	}
	for i, m := range r.NetworkMappings {
		f := fmt.Sprintf("network_mappings[%d]", i)
		switch {
		case m.MappingType != string(store.MappingLive) && m.MappingType != string(store.MappingTest):
			return errs.Field(f+".mapping_type", "must be live or test, not %q", m.MappingType)
		case strings.TrimSpace(m.SourceNetworkName) == "":
			return errs.Field(f+".source_network_name", "is required")
		case strings.TrimSpace(m.DestinationNetworkID) == "":
			return errs.Field(f+".destination_network_id", "is required")
		}
	}
	return nil
}

// Register reads the VM's spec from vCenter by UUID, checks each replica
// volume exists in CloudStack, and stores the context (ready for
// failover) with its disks, NICs and mappings, and records the
// registration in the decision audit. A VM registered before gives
// AlreadyExists with the existing context id.
func (e *Engine) Register(ctx context.Context, req RegisterRequest, who Actor) (*store.VMContext, error) {
	if err := req.validate(); err != nil {
		return nil, err
	}
	for i, d := range req.Disks {
		if d.LastSyncedAt != nil {
			if err := e.checkSyncedAt(fmt.Sprintf("disks[%d].last_synced_at", i), *d.LastSyncedAt); err != nil {
				return nil, err
			}
		}
	}
	vc, err := e.VCenter(ctx)
	if err != nil {
		return nil, err
	}
	spec, err := vc.VMSpec(ctx, req.VMwareVMID)
	if errs.Is(err, errs.NotFound) {
		return nil, errs.New(errs.NotFound, "no VM with instance UUID %s in vCenter", req.VMwareVMID).WithDetails("field", "vmware_vm_id")
	}
	if err != nil {
		return nil, err
	}
	byKey := map[int32]RegisterDisk{}
	for _, d := range req.Disks {
		byKey[d.DiskKey] = d
	}
	if strings.IndexFunc(spec.Name, func(r rune) bool { return unicode.IsControl(r) || unicode.Is(unicode.Bidi_Control, r) }) >= 0 {
		return nil, errs.New(errs.InvalidArgument, "vCenter's name of VM %s holds control or bidirectional control characters (%q), which spoof terminals and logs: rename the VM",
			spec.UUID, spec.Name).WithDetails("field", "vmware_vm_id")
	}
	c := &store.VMContext{ContextID: store.NewContextID(spec.Name, e.cfg.Now()), VMName: spec.Name,
		VMwareVMID: spec.UUID, VCenterHost: req.VCenterHost, Datacenter: req.Datacenter, CPUCount: spec.NumCPU,
		MemoryMB: spec.MemoryMB, OSType: osType(spec.OSFamily), Firmware: spec.Firmware,
		CurrentStatus: store.StatusReadyForFailover}
	if c.Firmware != "efi" {
		c.Firmware = "bios"
	}
	for _, d := range spec.Disks {
		rd, ok := byKey[d.Key]
		if !ok {
			return nil, errs.Field("disks", "vCenter disk %d (%s) has no replica in the request", d.Key, d.Label)
		}
		delete(byKey, d.Key)
		vol, err := e.cs.GetVolume(ctx, rd.VolumeID)
		if errs.Is(err, errs.NotFound) {
			return nil, errs.Field("disks", "replica volume %s of disk %d does not exist in CloudStack", rd.VolumeID, d.Key)
		} else if err != nil {
			return nil, err
		}
		if err := probeExports(ctx, d.Key, d.CapacityBytes, rd); err != nil {
			return nil, err
		}
		disk := store.Disk{DiskKey: d.Key, UnitOrder: d.Order, Label: d.Label, SizeBytes: d.CapacityBytes,
			VolumeID: rd.VolumeID, SourceNBDURI: rd.SourceNBDURI, ReplicaNBDURI: rd.ReplicaNBDURI, ChangeID: rd.ChangeID}
		if rd.LastSyncedAt != nil {
			at := rd.LastSyncedAt.UTC()
			disk.LastSyncedAt = &at
		}
		if vol.VMID == e.cfg.ApplianceVMID {
			// A rollback reattaches the replica at this device id.
			dev := vol.DeviceID
			disk.ApplianceDeviceID = &dev
		}
		c.Disks = append(c.Disks, disk)
	}
	for k := range byKey {
		return nil, errs.Field("disks", "disk %d is not a disk of VM %s in vCenter", k, spec.Name)
	}
	for i, n := range spec.NICs {
		c.NICs = append(c.NICs, store.SourceNIC{NICKey: n.Key, Order: i, NetworkName: n.NetworkName, MAC: n.MAC,
			AdapterType: n.AdapterType})
	}
	if err := e.store.CreateContext(ctx, c); err != nil {
		return nil, err
	}
	if len(req.NetworkMappings) > 0 {
		ms := make([]store.NetworkMapping, len(req.NetworkMappings))
		for i, m := range req.NetworkMappings {
			ms[i] = store.NetworkMapping{ContextID: c.ContextID, SourceNetworkName: m.SourceNetworkName,
				DestinationNetworkID: m.DestinationNetworkID, DestinationNetworkName: m.DestinationNetworkName,
				MappingType: store.MappingType(m.MappingType)}
		}
		if _, err := e.store.UpsertMappings(ctx, ms); err != nil {
			_ = e.store.DeleteContext(context.WithoutCancel(ctx), c.ContextID)
			return nil, err
		}
	}
	if err := e.store.RecordDecision(ctx, nil, store.Decision{Decision: "register", Actor: who.Name,
		ContextID: c.ContextID, Choice: map[string]any{"vmware_vm_id": c.VMwareVMID, "vm_name": c.VMName,
			"network_mappings": len(req.NetworkMappings)}}); err != nil {
		e.log.WarnContext(ctx, "could not record the registration in the audit", "error", err, "context_id", c.ContextID)
	}
	return e.store.GetContext(ctx, c.ContextID)
}

func osType(family string) string {
	switch family {
	case "windows", "linux":
		return family
	default:
		return "other"
	}
}

// probeTimeout bounds each export's probe at registration.
const probeTimeout = 15 * time.Second

// probeExports checks that a disk's source and replica exports answer,
// and are big enough for the disk: a final sync through an export that
// does not answer would fail with the source already off.
func probeExports(ctx context.Context, key int32, capacity int64, rd RegisterDisk) error {
	for _, ex := range []struct{ field, uri string }{{"source_nbd_uri", rd.SourceNBDURI}, {"replica_nbd_uri", rd.ReplicaNBDURI}} {
		pctx, cancel := context.WithTimeout(ctx, probeTimeout)
		h, err := nbd.Connect(pctx, ex.uri)
		cancel()
		if err != nil {
			return errs.Field("disks", "disk %d: %s %s does not answer: %v", key, ex.field, ex.uri, err)
		}
		size, err := h.Size()
		_ = h.Close()
		if err != nil {
			return errs.Field("disks", "disk %d: %s %s: reading its size: %v", key, ex.field, ex.uri, err)
		}
		if size < capacity {
			return errs.Field("disks", "disk %d: %s %s is %d bytes, smaller than the disk's %d", key, ex.field, ex.uri, size, capacity)
		}
	}
	return nil
}
