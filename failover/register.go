package failover

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"time"
	"unicode"

	"github.com/ossea/unifiedfailover/api/apiv1"
	"github.com/ossea/unifiedfailover/cloudstack"
	"github.com/ossea/unifiedfailover/errs"
	"github.com/ossea/unifiedfailover/nbd"
	"github.com/ossea/unifiedfailover/store"
	"github.com/ossea/unifiedfailover/vsphere"
)

// RegisterRequest registers a protected VM: its VMware UUID or inventory
// path and, for each disk, what ReplicaRules cannot find: the replica
// volume, the NBD exports that serve the source disk and the replica, and
// the change id the replica is in sync with (see Engine.Register).
type RegisterRequest struct {
	VMwareVMID      string            `json:"vmware_vm_id,omitempty"`
	InventoryPath   string            `json:"inventory_path,omitempty"`
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
	switch id, path := strings.TrimSpace(r.VMwareVMID), strings.TrimSpace(r.InventoryPath); {
	case id == "" && path == "":
		return errs.Field("vmware_vm_id", "is required (or inventory_path)")
	case id != "" && path != "":
		return errs.Field("inventory_path", "give vmware_vm_id or inventory_path, not both")
	case path != "" && !strings.HasPrefix(path, "/"):
		return errs.Field("inventory_path", "must start with / (/datacenter/vm/folder/name), not %q", r.InventoryPath)
	}
	seen := map[int32]bool{}
	for i, d := range r.Disks {
		f := fmt.Sprintf("disks[%d]", i)
		switch {
		case seen[d.DiskKey]:
			return errs.Field(f+".disk_key", "disk %d is listed twice", d.DiskKey)
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

// Register stores a protected VM (its context, ready for failover) with
// its disks, NICs and mappings, and records the registration in the
// decision audit. The VM is named by its VMware UUID or its inventory
// path; its spec is read from vCenter. Each disk's replica volume is the
// request's, or found by ReplicaRules.ReplicaVolumeName among the
// appliance's volumes; its NBD exports are the request's or
// ReplicaRules' templates; its change id is the request's or, read from
// vCenter now, the one the replica is declared in sync with. Whatever is
// missing is listed in one error. A VM registered before gives
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
	uuid := req.VMwareVMID
	if req.InventoryPath != "" {
		if uuid, err = vc.UUIDByPath(ctx, req.InventoryPath); errs.Is(err, errs.NotFound) {
			return nil, errs.New(errs.NotFound, "no VM at inventory path %s in vCenter", req.InventoryPath).WithDetails("field", "inventory_path")
		} else if err != nil {
			return nil, err
		}
	}
	spec, err := vc.VMSpec(ctx, uuid)
	if errs.Is(err, errs.NotFound) {
		return nil, errs.New(errs.NotFound, "no VM with instance UUID %s in vCenter", uuid).WithDetails("field", "vmware_vm_id")
	}
	if err != nil {
		return nil, err
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
	if c.Disks, err = e.registerDisks(ctx, vc, spec, req.Disks); err != nil {
		return nil, err
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
	choice := map[string]any{"vmware_vm_id": c.VMwareVMID, "vm_name": c.VMName, "network_mappings": len(req.NetworkMappings)}
	if req.InventoryPath != "" {
		choice["inventory_path"] = req.InventoryPath
	}
	if err := e.store.RecordDecision(ctx, nil, store.Decision{Decision: "register", Actor: who.Name,
		ContextID: c.ContextID, Choice: choice}); err != nil {
		e.log.WarnContext(ctx, "could not record the registration in the audit", "error", err, "context_id", c.ContextID)
	}
	return e.store.GetContext(ctx, c.ContextID)
}

// registerDisks resolves each of vCenter's disks of the VM to its replica
// (the request's volume, or the one ReplicaRules name on the appliance),
// its NBD exports (the request's, or ReplicaRules' templates) and its
// change id (the request's, or vCenter's current one, read from one
// snapshot), then probes the exports. Everything missing is listed in one
// InvalidArgument error, with the list in its "missing" detail.
func (e *Engine) registerDisks(ctx context.Context, vc *vsphere.Client, spec *vsphere.VMSpec, given []RegisterDisk) ([]store.Disk, error) {
	rules := e.cfg.Replicas
	byKey := map[int32]RegisterDisk{}
	for _, d := range given {
		byKey[d.DiskKey] = d
	}
	var appliance *applianceVolumes
	var missing []string
	var out []store.Disk
	readIDs := false
	for _, d := range spec.Disks {
		rd := byKey[d.Key]
		delete(byKey, d.Key)
		vars := TemplateVars{VMUUID: spec.UUID, VMName: spec.Name, DiskKey: d.Key, DiskNumber: d.Order + 1}
		var vol *cloudstack.Volume
		if rd.VolumeID != "" {
			v, err := e.cs.GetVolume(ctx, rd.VolumeID)
			if errs.Is(err, errs.NotFound) {
				return nil, errs.Field("disks", "replica volume %s of disk %d does not exist in CloudStack", rd.VolumeID, d.Key)
			} else if err != nil {
				return nil, err
			}
			vol = v
		} else {
			if appliance == nil {
				a, err := e.listApplianceVolumes(ctx)
				if err != nil {
					return nil, err
				}
				appliance = a
			}
			v, problem := appliance.replicaOf(rules, vars)
			if problem != "" {
				missing = append(missing, fmt.Sprintf("disk %d (%s): %s", d.Key, d.Label, problem))
				continue
			}
			vol = v
		}
		vars.VolumeID, vars.VolumeName = vol.ID, vol.Name
		disk := store.Disk{DiskKey: d.Key, UnitOrder: d.Order, Label: d.Label, SizeBytes: d.CapacityBytes,
			VolumeID: vol.ID, SourceNBDURI: rd.SourceNBDURI, ReplicaNBDURI: rd.ReplicaNBDURI, ChangeID: rd.ChangeID}
		if rd.LastSyncedAt != nil {
			at := rd.LastSyncedAt.UTC()
			disk.LastSyncedAt = &at
		}
		if vol.VMID == e.cfg.ApplianceVMID {
			// A rollback reattaches the replica at this device id.
			dev := vol.DeviceID
			disk.ApplianceDeviceID = &dev
			vars.DeviceID = &dev
		}
		for _, x := range []struct {
			uri     *string
			field   string
			tmpl    string
			setting string
		}{
			{&disk.SourceNBDURI, "source_nbd_uri", rules.SourceNBDURI, "FAILOVER_SOURCE_NBD_URI"},
			{&disk.ReplicaNBDURI, "replica_nbd_uri", rules.ReplicaNBDURI, "FAILOVER_REPLICA_NBD_URI"},
		} {
			if *x.uri != "" {
				continue
			}
			if x.tmpl == "" {
				missing = append(missing, fmt.Sprintf("disk %d (%s): no %s given, and %s is not set", d.Key, d.Label, x.field, x.setting))
				continue
			}
			u, err := expand(x.tmpl, vars, true)
			if err != nil {
				missing = append(missing, fmt.Sprintf("disk %d (%s): %s (%s): %v", d.Key, d.Label, x.field, x.setting, err))
				continue
			}
			*x.uri = u
		}
		readIDs = readIDs || disk.ChangeID == ""
		out = append(out, disk)
	}
	for k := range byKey {
		return nil, errs.Field("disks", "disk %d is not a disk of VM %s in vCenter", k, spec.Name)
	}
	if len(missing) > 0 {
		return nil, errs.New(errs.InvalidArgument, "registering VM %s: %s", spec.Name, strings.Join(missing, "; ")).
			WithDetails("field", "disks", "missing", missing)
	}
	if readIDs {
		if !spec.CBTEnabled {
			return nil, errs.New(errs.FailedPrecondition, "registering VM %s: %s", spec.Name, CBTHint(spec.Name)).
				WithDetails("field", "vmware_vm_id")
		}
		now := e.cfg.Now().UTC()
		ids, err := vc.CurrentChangeIDs(ctx, spec.UUID)
		if err != nil {
			return nil, err
		}
		for i := range out {
			if out[i].ChangeID == "" {
				// Declared in sync with the disk now: its sync time is
				// when the change id was read, unless one was given.
				out[i].ChangeID = ids[out[i].DiskKey]
				if out[i].LastSyncedAt == nil {
					out[i].LastSyncedAt = &now
				}
			}
		}
	}
	for _, d := range out {
		if err := probeExports(ctx, d.DiskKey, d.SizeBytes, d.SourceNBDURI, d.ReplicaNBDURI); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// CBTHint says how to enable changed block tracking on a VM, for a VM
// whose disks have no change id.
func CBTHint(vmName string) string {
	return fmt.Sprintf("changed block tracking (CBT) is disabled on VM %s, so vCenter keeps no change ids and no incremental sync is possible: "+
		"enable it (VMware KB 1031873: reconfigure the VM with changeTrackingEnabled=true, e.g. govc vm.change -vm %s -e ctkEnabled=TRUE "+
		"and -e scsiB:U.ctkEnabled=TRUE per disk, then power-cycle the VM or create and delete a snapshot), "+
		"let the replicator bring the replicas up to date, and protect the VM again", vmName, vmName)
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
func probeExports(ctx context.Context, key int32, capacity int64, source, replica string) error {
	for _, ex := range []struct{ field, uri string }{{"source_nbd_uri", source}, {"replica_nbd_uri", replica}} {
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
