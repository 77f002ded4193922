package vcenter

import (
	"crypto/rand"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25/types"
	"github.com/vmware/govmomi/vim25/xml"
)

// Extent is a byte range of a disk.
type Extent struct {
	Offset int64
	Length int64
}

// ChangeSource tells which areas of one simulated disk were written and
// when. Mark returns the current position in the disk's write history;
// ChangedSince returns the extents written after mark (in any order,
// possibly overlapping). Implementations must be safe for concurrent use.
type ChangeSource interface {
	Mark() (int64, error)
	ChangedSince(mark int64) ([]Extent, error)
}

// diskState is the lab's view of one simulated disk.
type diskState struct {
	key  int32
	size int64
	src  ChangeSource

	mu sync.Mutex // guards epoch: ResetCBT replaces it while queries run
	// epoch is the change id prefix of this disk, in VMware's style
	// ("52 de 6b 7a 20 4a 3c 50-6b 6a 0c 8e 53 69 ab ea"); a change id is
	// "<epoch>/<mark>". A CBT reset gives the disk a new epoch.
	epoch string
}

func newEpoch() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[0] = 0x52
	parts := make([]string, 16)
	for i, v := range b {
		parts[i] = fmt.Sprintf("%02x", v)
	}
	return strings.Join(parts[:8], " ") + "-" + strings.Join(parts[8:], " ")
}

func (d *diskState) currentEpoch() string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.epoch
}

func (d *diskState) changeID(mark int64) string {
	return d.currentEpoch() + "/" + strconv.FormatInt(mark, 10)
}

// parseChangeID returns the mark encoded in id, or false when id was not
// issued for this disk since its last CBT reset.
func (d *diskState) parseChangeID(id string) (int64, bool) {
	i := strings.LastIndexByte(id, '/')
	if i < 0 || id[:i] != d.currentEpoch() {
		return 0, false
	}
	mark, err := strconv.ParseInt(id[i+1:], 10, 64)
	return mark, err == nil && mark >= 0
}

// ResetCBT resets changed block tracking of the disk with key diskKey of
// the VM with instance uuid, as disabling and re-enabling CBT, a storage
// vMotion or a restore does on vSphere: the disk gets a new epoch, so
// QueryChangedDiskAreas refuses every change id issued before (an
// InvalidArgument fault on changeId, as vCenter answers). Change ids read
// from snapshots taken afterwards are valid; "*" keeps working.
func (s *Server) ResetCBT(uuid string, diskKey int32) error {
	st, err := s.vmByUUID(uuid)
	if err != nil {
		return fmt.Errorf("resetting changed block tracking: %w", err)
	}
	disk := st.disks[diskKey]
	if disk == nil {
		return fmt.Errorf("resetting changed block tracking: VM %s has no disk with key %d", uuid, diskKey)
	}
	epoch := newEpoch()
	disk.mu.Lock()
	disk.epoch = epoch
	disk.mu.Unlock()
	return nil
}

// stampChangeIDs sets every lab disk's backing ChangeId of the VM to the
// disk's current mark, just before a snapshot is taken, so the snapshot's
// disk backings carry the change id of the moment it was taken (vcsim
// copies the VM's config into the snapshot). The device list is replaced,
// not modified, so older snapshots keep their own change ids.
func (s *Server) stampChangeIDs(ref types.ManagedObjectReference) {
	st := s.vmByRef(ref)
	vm := s.vmObject(ref)
	if st == nil || vm == nil || st.noCBT {
		return
	}
	ctx := s.lockingContext()
	ctx.WithLock(vm, func() {
		if vm.Config == nil {
			return
		}
		devices := slices.Clone(vm.Config.Hardware.Device)
		for i, dev := range devices {
			disk, ok := dev.(*types.VirtualDisk)
			if !ok {
				continue
			}
			ds := st.disks[disk.Key]
			backing, ok := disk.Backing.(*types.VirtualDiskFlatVer2BackingInfo)
			if ds == nil || !ok {
				continue
			}
			mark, err := ds.src.Mark()
			if err != nil {
				continue // the query will fail on the same source
			}
			b := *backing
			b.ChangeId = ds.changeID(mark)
			d := *disk
			d.Backing = &b
			devices[i] = &d
		}
		ctx.Update(vm, []types.PropertyChange{{Name: "config.hardware.device", Val: devices}})
	})
}

// queryChangedDiskAreasResponse is the SOAP response element.
type queryChangedDiskAreasResponse struct {
	XMLName   xml.Name             `xml:"urn:vim25 QueryChangedDiskAreasResponse"`
	Returnval types.DiskChangeInfo `xml:"returnval"`
}

// serveQueryChangedDiskAreas answers QueryChangedDiskAreas from the disk's
// ChangeSource. A change id "*" answers the whole disk as changed (a full
// copy), the safe reading of "all allocated areas" for a source that only
// knows writes. Each answer covers at most Config.CBTPageSize bytes from
// startOffset; the client pages on. Extents are sorted, merged and clipped
// to the disk. Writes after the snapshot was taken are included too (over-
// reporting is safe for a copy; after power-off there are none).
func (s *Server) serveQueryChangedDiskAreas(w http.ResponseWriter, m *simulator.Method) {
	req := m.Body.(*types.QueryChangedDiskAreas)
	vm := s.vmObject(req.This)
	if vm == nil {
		writeFault(w, fmt.Sprintf("managed object not found: %s", req.This), &types.ManagedObjectNotFound{Obj: req.This})
		return
	}
	st := s.vmByRef(req.This)
	if st == nil {
		writeFault(w, "changed block tracking is not enabled for this virtual machine",
			&types.InvalidArgument{InvalidProperty: "changeId"})
		return
	}

	var fault types.BaseMethodFault
	var msg string
	ctx := s.lockingContext()
	ctx.WithLock(vm, func() {
		if req.Snapshot == nil {
			if vm.Runtime.PowerState != types.VirtualMachinePowerStatePoweredOff {
				msg, fault = "a snapshot is required while the virtual machine is powered on", &types.InvalidPowerState{
					RequestedState: types.VirtualMachinePowerStatePoweredOff, ExistingState: vm.Runtime.PowerState}
			}
			return
		}
		if vm.Snapshot == nil || !slices.Contains(allSnapshots(vm.Snapshot.RootSnapshotList), *req.Snapshot) {
			msg, fault = fmt.Sprintf("snapshot %s not found", req.Snapshot.Value), &types.ManagedObjectNotFound{Obj: *req.Snapshot}
		}
	})
	if fault != nil {
		writeFault(w, msg, fault)
		return
	}

	disk := st.disks[req.DeviceKey]
	switch {
	case disk == nil:
		writeFault(w, fmt.Sprintf("no disk with device key %d", req.DeviceKey), &types.InvalidArgument{InvalidProperty: "deviceKey"})
		return
	case req.StartOffset < 0 || req.StartOffset >= disk.size:
		writeFault(w, fmt.Sprintf("start offset %d outside the disk (%d bytes)", req.StartOffset, disk.size),
			&types.InvalidArgument{InvalidProperty: "startOffset"})
		return
	}

	var extents []Extent
	if req.ChangeId == "*" {
		extents = []Extent{{Offset: 0, Length: disk.size}}
	} else {
		mark, ok := disk.parseChangeID(req.ChangeId)
		if !ok {
			writeFault(w, fmt.Sprintf("change id %q is not valid for this disk", req.ChangeId),
				&types.InvalidArgument{InvalidProperty: "changeId"})
			return
		}
		var err error
		if extents, err = disk.src.ChangedSince(mark); err != nil {
			writeFault(w, fmt.Sprintf("reading the change log: %v", err), &types.SystemError{Reason: err.Error()})
			return
		}
	}

	end := min(req.StartOffset+s.cfg.CBTPageSize, disk.size)
	info := types.DiskChangeInfo{StartOffset: req.StartOffset, Length: end - req.StartOffset}
	for _, e := range normalize(extents, req.StartOffset, end) {
		info.ChangedArea = append(info.ChangedArea, types.DiskChangeExtent{Start: e.Offset, Length: e.Length})
	}
	writeSOAP(w, queryChangedDiskAreasResponse{Returnval: info})
}

// normalize clips extents to [lo, hi), sorts them and merges overlapping or
// adjacent ones.
func normalize(extents []Extent, lo, hi int64) []Extent {
	var out []Extent
	for _, e := range extents {
		start, end := max(e.Offset, lo), min(e.Offset+e.Length, hi)
		if e.Length > 0 && start < end {
			out = append(out, Extent{Offset: start, Length: end - start})
		}
	}
	slices.SortFunc(out, func(a, b Extent) int { return int(min(max(a.Offset-b.Offset, -1), 1)) })
	merged := out[:0]
	for _, e := range out {
		if n := len(merged); n > 0 && merged[n-1].Offset+merged[n-1].Length >= e.Offset {
			last := &merged[n-1]
			last.Length = max(last.Offset+last.Length, e.Offset+e.Length) - last.Offset
			continue
		}
		merged = append(merged, e)
	}
	return merged
}

func allSnapshots(tree []types.VirtualMachineSnapshotTree) []types.ManagedObjectReference {
	var refs []types.ManagedObjectReference
	for _, t := range tree {
		refs = append(refs, t.Snapshot)
		refs = append(refs, allSnapshots(t.ChildSnapshotList)...)
	}
	return refs
}

// SnapshotCount returns how many snapshots the VM has, to check that
// callers remove the temporary snapshots they take.
func (s *Server) SnapshotCount(uuid string) (int, error) {
	st, err := s.vmByUUID(uuid)
	if err != nil {
		return 0, fmt.Errorf("counting snapshots: %w", err)
	}
	vm := s.vmObject(st.ref)
	if vm == nil {
		return 0, fmt.Errorf("counting snapshots: VM %s is gone", uuid)
	}
	var n int
	s.lockingContext().WithLock(vm, func() {
		if vm.Snapshot != nil {
			n = len(allSnapshots(vm.Snapshot.RootSnapshotList))
		}
	})
	return n, nil
}
