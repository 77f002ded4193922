package failover

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/ossea/unifiedfailover/api/apiv1"
	"github.com/ossea/unifiedfailover/errs"
	"github.com/ossea/unifiedfailover/store"
)

// A VM's record lives: refresh re-reads it from vCenter, an update sets
// its replicas and replication status (for the replication side to call),
// unregister removes it. All three are refused while a job is active or
// the VM is failed over (store.ReplaceRecord), and audited.

// RefreshReport is what a refresh found changed in vCenter.
type RefreshReport struct {
	Context *store.VMContext `json:"context"`
	Changes []string         `json:"changes"`
	// DisksWithoutReplica are disks (new in vCenter) that need a replica
	// before the VM can fail over; the VM is discovered until then.
	DisksWithoutReplica []int32 `json:"disks_without_replica,omitempty"`
}

// Refresh re-reads the VM from vCenter and updates its record: name,
// CPU, memory, OS, firmware, NICs; a disk gone from vCenter leaves the
// record, a new one joins it without a replica (the VM is then
// discovered: it cannot fail over until the replica is set).
func (e *Engine) Refresh(ctx context.Context, contextID string, who Actor) (*RefreshReport, error) {
	c, err := e.store.ResolveContext(ctx, contextID)
	if err != nil {
		return nil, err
	}
	vc, err := e.VCenter(ctx)
	if err != nil {
		return nil, err
	}
	spec, err := vc.VMSpec(ctx, c.VMwareVMID)
	if err != nil {
		return nil, err
	}
	next := *c
	var changes []string
	note := func(format string, args ...any) { changes = append(changes, fmt.Sprintf(format, args...)) }
	if spec.Name != c.VMName {
		note("name %q → %q", c.VMName, spec.Name)
		next.VMName = spec.Name
	}
	if spec.NumCPU != c.CPUCount {
		note("CPUs %d → %d", c.CPUCount, spec.NumCPU)
		next.CPUCount = spec.NumCPU
	}
	if spec.MemoryMB != c.MemoryMB {
		note("memory %d MB → %d MB", c.MemoryMB, spec.MemoryMB)
		next.MemoryMB = spec.MemoryMB
	}
	if os := osType(spec.OSFamily); os != c.OSType {
		note("OS %s → %s", c.OSType, os)
		next.OSType = os
	}
	fw := spec.Firmware
	if fw != "efi" {
		fw = "bios"
	}
	if fw != c.Firmware {
		note("firmware %s → %s", c.Firmware, fw)
		next.Firmware = fw
	}
	old := map[int32]store.Disk{}
	for _, d := range c.Disks {
		old[d.DiskKey] = d
	}
	next.Disks = nil
	rep := &RefreshReport{}
	for _, d := range spec.Disks {
		had, ok := old[d.Key]
		delete(old, d.Key)
		if !ok {
			note("disk %d (%s, %d bytes) added: it needs a replica", d.Key, d.Label, d.CapacityBytes)
			rep.DisksWithoutReplica = append(rep.DisksWithoutReplica, d.Key)
			next.Disks = append(next.Disks, store.Disk{DiskKey: d.Key, UnitOrder: d.Order, Label: d.Label, SizeBytes: d.CapacityBytes})
			continue
		}
		if had.SizeBytes != d.CapacityBytes {
			note("disk %d grew %d → %d bytes", d.Key, had.SizeBytes, d.CapacityBytes)
		}
		had.UnitOrder, had.Label, had.SizeBytes = d.Order, d.Label, d.CapacityBytes
		if had.VolumeID == "" {
			rep.DisksWithoutReplica = append(rep.DisksWithoutReplica, d.Key)
		}
		next.Disks = append(next.Disks, had)
	}
	for k, d := range old {
		note("disk %d (%s) removed, with its replica %s from the record", k, d.Label, d.VolumeID)
	}
	next.NICs = nil
	for i, n := range spec.NICs {
		next.NICs = append(next.NICs, store.SourceNIC{NICKey: n.Key, Order: i, NetworkName: n.NetworkName, MAC: n.MAC,
			AdapterType: n.AdapterType})
	}
	if !slices.EqualFunc(c.NICs, next.NICs, func(a, b store.SourceNIC) bool {
		return a.NICKey == b.NICKey && a.NetworkName == b.NetworkName && strings.EqualFold(a.MAC, b.MAC)
	}) {
		note("NICs changed: %d → %d", len(c.NICs), len(next.NICs))
	}
	if len(rep.DisksWithoutReplica) > 0 {
		next.CurrentStatus = store.StatusDiscovered
	} else if c.CurrentStatus == store.StatusDiscovered {
		next.CurrentStatus = store.StatusReadyForFailover
	}
	if next.CurrentStatus != c.CurrentStatus {
		note("status %s → %s", c.CurrentStatus, next.CurrentStatus)
	}
	if err := e.store.ReplaceRecord(ctx, &next, "refreshing it", store.Decision{Decision: "refresh", Actor: who.Name,
		ContextID: c.ContextID, Choice: map[string]any{"changes": changes}}); err != nil {
		return nil, err
	}
	if rep.Context, err = e.store.GetContext(ctx, c.ContextID); err != nil {
		return nil, err
	}
	rep.Changes = changes
	if rep.Changes == nil {
		rep.Changes = []string{}
	}
	return rep, nil
}

// ContextUpdate is an update of a VM's record by the replication side.
type ContextUpdate = apiv1.ContextUpdate

// DiskUpdate sets one disk's replica fields; an empty field is left as it
// is.
type DiskUpdate = apiv1.DiskUpdate

// updateStatuses are the statuses an update may set.
var updateStatuses = map[store.ContextStatus]bool{store.StatusReplicating: true, store.StatusReadyForFailover: true,
	store.StatusFailed: true}

// UpdateContext applies an update: each new replica must exist in
// CloudStack, and each export answer (as at registration).
func (e *Engine) UpdateContext(ctx context.Context, contextID string, u ContextUpdate, who Actor) (*store.VMContext, error) {
	if u.Status != "" && !updateStatuses[u.Status] {
		return nil, errs.Field("status", "must be replicating, ready_for_failover or failed, not %q", u.Status)
	}
	c, err := e.store.ResolveContext(ctx, contextID)
	if err != nil {
		return nil, err
	}
	next := *c
	next.Disks = slices.Clone(c.Disks)
	for i, du := range u.Disks {
		f := fmt.Sprintf("disks[%d]", i)
		at := slices.IndexFunc(next.Disks, func(d store.Disk) bool { return d.DiskKey == du.DiskKey })
		if at < 0 {
			return nil, errs.Field(f+".disk_key", "VM %s has no disk %d (refresh it from vCenter first)", c.VMName, du.DiskKey)
		}
		d := &next.Disks[at]
		for _, uri := range []struct{ name, v string }{{"source_nbd_uri", du.SourceNBDURI}, {"replica_nbd_uri", du.ReplicaNBDURI}} {
			if uri.v != "" && !validNBDURI(uri.v) {
				return nil, errs.Field(f+"."+uri.name, "must be an nbd:// or nbd+unix:// URI")
			}
		}
		if du.VolumeID != "" && du.VolumeID != d.VolumeID {
			vol, err := e.cs.GetVolume(ctx, du.VolumeID)
			if errs.Is(err, errs.NotFound) {
				return nil, errs.Field(f+".volume_id", "replica volume %s does not exist in CloudStack", du.VolumeID)
			} else if err != nil {
				return nil, err
			}
			d.VolumeID, d.ApplianceDeviceID = du.VolumeID, nil
			if vol.VMID == e.cfg.ApplianceVMID {
				dev := vol.DeviceID
				d.ApplianceDeviceID = &dev
			}
		}
		if du.SourceNBDURI != "" {
			d.SourceNBDURI = du.SourceNBDURI
		}
		if du.ReplicaNBDURI != "" {
			d.ReplicaNBDURI = du.ReplicaNBDURI
		}
		if du.ChangeID != "" {
			d.ChangeID = du.ChangeID
		}
		if du.LastSyncedAt != nil {
			if err := e.checkSyncedAt(f+".last_synced_at", *du.LastSyncedAt); err != nil {
				return nil, err
			}
			at := du.LastSyncedAt.UTC()
			d.LastSyncedAt = &at
		}
		if du.SourceNBDURI != "" || du.ReplicaNBDURI != "" {
			if err := probeExports(ctx, d.DiskKey, d.SizeBytes, d.SourceNBDURI, d.ReplicaNBDURI); err != nil {
				return nil, err
			}
		}
	}
	if u.RPOTarget != "" {
		secs, err := parseRPOTarget(u.RPOTarget)
		if err != nil {
			return nil, err
		}
		next.RPOTargetSeconds = secs
	}
	if u.Status != "" {
		next.CurrentStatus = u.Status
	}
	if next.CurrentStatus == store.StatusReadyForFailover {
		for _, d := range next.Disks {
			if d.VolumeID == "" || d.SourceNBDURI == "" || d.ReplicaNBDURI == "" {
				return nil, errs.Field("status", "disk %d has no replica or exports yet: the VM cannot be ready for failover", d.DiskKey)
			}
		}
	}
	if err := e.store.ReplaceRecord(ctx, &next, "updating it", store.Decision{Decision: "update-context", Actor: who.Name,
		ContextID: c.ContextID, Choice: map[string]any{"update": u, "from_status": c.CurrentStatus}}); err != nil {
		return nil, err
	}
	return e.store.GetContext(ctx, c.ContextID)
}

// syncClockSkew is how far ahead of this clock a replica's reported sync
// time may be: the replication side's clock is another machine's.
const syncClockSkew = time.Minute

// checkSyncedAt refuses a sync time in the future (beyond syncClockSkew):
// it would hide the VM's RPO.
func (e *Engine) checkSyncedAt(field string, at time.Time) error {
	if now := e.cfg.Now(); at.After(now.Add(syncClockSkew)) {
		return errs.Field(field, "%s is in the future (this server's time is %s; at most %s of clock skew is allowed)",
			at.UTC().Format(time.RFC3339), now.UTC().Format(time.RFC3339), syncClockSkew)
	}
	return nil
}

// parseRPOTarget reads a VM's RPO target: a duration from
// store.MinRPOTarget to store.MaxRPOTarget in whole seconds, or "default"
// (nil: FAILOVER_RPO_TARGET applies).
func parseRPOTarget(v string) (*int, error) {
	if v == "default" {
		return nil, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < store.MinRPOTarget || d > store.MaxRPOTarget || d%time.Second != 0 {
		return nil, errs.Field("rpo_target", "must be a duration in whole seconds from %s to %s (for example 30m), or default, not %q",
			store.MinRPOTarget, store.MaxRPOTarget, v)
	}
	secs := int(d / time.Second)
	return &secs, nil
}

// Unregister removes a VM's record (its jobs and the audit stay).
func (e *Engine) Unregister(ctx context.Context, contextID string, who Actor) error {
	c, err := e.store.ResolveContext(ctx, contextID)
	if err != nil {
		return err
	}
	return e.store.UnregisterContext(ctx, c.ContextID, store.Decision{Decision: "unregister", Actor: who.Name,
		ContextID: c.ContextID, Choice: map[string]any{"vm_name": c.VMName, "vmware_vm_id": c.VMwareVMID}})
}
