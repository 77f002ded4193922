package vsphere

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/property"
	"github.com/vmware/govmomi/vim25/methods"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/types"

	"github.com/ossea/unifiedfailover/errs"
)

// AllAreas is the change id that asks for all allocated areas of a disk
// (VMware semantics), for a first full copy.
const AllAreas = "*"

// snapshotPrefix names the temporary snapshots this package takes.
const snapshotPrefix = "ossea-cbt-"

// cleanupTimeout bounds removing a temporary snapshot, which runs even when
// the caller's context has ended: a snapshot left behind on a production
// VM costs more than a late return.
const cleanupTimeout = 2 * time.Minute

// Extent is a byte range of a disk.
type Extent struct {
	Offset int64
	Length int64
}

// ChangedAreas is the answer of ChangedAreas.
type ChangedAreas struct {
	// Extents changed since the given change id, sorted, adjacent ones
	// merged.
	Extents []Extent
	// ChangeID is the change id to store for the next query: the disk's
	// change id at the snapshot the query was made against.
	ChangeID string
	// DiskSize is the disk's capacity in bytes.
	DiskSize int64
}

// Bytes returns the total length of the extents.
func (a *ChangedAreas) Bytes() int64 {
	var n int64
	for _, e := range a.Extents {
		n += e.Length
	}
	return n
}

// ChangedAreas returns the areas of the disk with key diskKey changed since
// changeID (AllAreas for all allocated areas), the way backup tools do it:
// it takes a snapshot, pages QueryChangedDiskAreas against it from offset 0
// until the whole capacity is covered, reads the new change id from the
// snapshot's disk backing, and removes the snapshot. A change id vCenter
// no longer accepts (CBT was reset) is an errs.FailedPrecondition: a full
// copy is needed.
func (c *Client) ChangedAreas(ctx context.Context, uuid string, diskKey int32, changeID string) (res *ChangedAreas, err error) {
	if changeID == "" {
		return nil, errs.New(errs.InvalidArgument, "querying changed areas of VM %s disk %d: change id is empty", uuid, diskKey)
	}
	vm, err := c.FindByUUID(ctx, uuid)
	if err != nil {
		return nil, err
	}
	snap, err := c.createSnapshot(ctx, vm)
	if err != nil {
		return nil, err
	}
	defer func() {
		if rerr := c.removeSnapshot(ctx, snap); rerr != nil && err == nil {
			res, err = nil, rerr
		}
	}()

	disk, err := c.snapshotDisk(ctx, snap, diskKey)
	if err != nil {
		return nil, err
	}
	out := &ChangedAreas{ChangeID: backingChangeID(disk.Backing), DiskSize: disk.CapacityInBytes}
	if out.DiskSize == 0 {
		out.DiskSize = disk.CapacityInKB * 1024
	}
	if out.ChangeID == "" {
		return nil, errs.New(errs.FailedPrecondition,
			"querying changed areas of VM %s disk %d: the disk has no change id (changed block tracking disabled?)", uuid, diskKey)
	}

	for offset := int64(0); offset < out.DiskSize; {
		if err := ctx.Err(); err != nil {
			return nil, classify(err, "querying changed areas of VM %s disk %d", uuid, diskKey)
		}
		r, err := methods.QueryChangedDiskAreas(ctx, c.vim, &types.QueryChangedDiskAreas{
			This:        vm.Reference(),
			Snapshot:    &snap,
			DeviceKey:   diskKey,
			StartOffset: offset,
			ChangeId:    changeID,
		})
		if err != nil {
			return nil, classify(err, "querying changed areas of VM %s disk %d from offset %d", uuid, diskKey, offset)
		}
		info := r.Returnval
		for _, a := range info.ChangedArea {
			out.add(Extent{Offset: a.Start, Length: a.Length})
		}
		next := info.StartOffset + info.Length
		if next <= offset {
			return nil, errs.New(errs.Internal, "querying changed areas of VM %s disk %d: vCenter answered no progress at offset %d", uuid, diskKey, offset)
		}
		offset = next
	}
	return out, nil
}

// add appends e, merging it into the last extent when they touch.
func (a *ChangedAreas) add(e Extent) {
	if e.Length <= 0 {
		return
	}
	if n := len(a.Extents); n > 0 {
		last := &a.Extents[n-1]
		if last.Offset+last.Length >= e.Offset && e.Offset >= last.Offset {
			last.Length = max(last.Offset+last.Length, e.Offset+e.Length) - last.Offset
			return
		}
	}
	a.Extents = append(a.Extents, e)
}

// CurrentChangeID returns the disk's change id now, read from a temporary
// snapshot like ChangedAreas does: store it before a full copy, then ask
// for the areas changed since.
func (c *Client) CurrentChangeID(ctx context.Context, uuid string, diskKey int32) (id string, err error) {
	vm, err := c.FindByUUID(ctx, uuid)
	if err != nil {
		return "", err
	}
	snap, err := c.createSnapshot(ctx, vm)
	if err != nil {
		return "", err
	}
	defer func() {
		if rerr := c.removeSnapshot(ctx, snap); rerr != nil && err == nil {
			id, err = "", rerr
		}
	}()
	disk, err := c.snapshotDisk(ctx, snap, diskKey)
	if err != nil {
		return "", err
	}
	if id = backingChangeID(disk.Backing); id == "" {
		return "", errs.New(errs.FailedPrecondition,
			"reading the change id of VM %s disk %d: the disk has no change id (changed block tracking disabled?)", uuid, diskKey)
	}
	return id, nil
}

func (c *Client) createSnapshot(ctx context.Context, vm *object.VirtualMachine) (types.ManagedObjectReference, error) {
	if err := c.removeStaleSnapshots(ctx, vm); err != nil {
		return types.ManagedObjectReference{}, err
	}
	name := fmt.Sprintf("%s%d", snapshotPrefix, time.Now().UnixNano())
	task, err := vm.CreateSnapshot(ctx, name, "temporary snapshot for changed block tracking", false, false)
	if err != nil {
		return types.ManagedObjectReference{}, classify(err, "taking snapshot of VM %s", vm.Reference().Value)
	}
	info, err := task.WaitForResult(ctx)
	if err != nil {
		return types.ManagedObjectReference{}, classify(err, "taking snapshot of VM %s", vm.Reference().Value)
	}
	ref, ok := info.Result.(types.ManagedObjectReference)
	if !ok {
		return types.ManagedObjectReference{}, errs.New(errs.Internal, "taking snapshot of VM %s: task returned %T", vm.Reference().Value, info.Result)
	}
	return ref, nil
}

// removeStaleSnapshots removes temporary snapshots an earlier call left
// behind when its process died between taking and removing one: a
// forgotten snapshot would grow on the production VM. Only one job at a
// time acts on a VM, so no other call is using them.
func (c *Client) removeStaleSnapshots(ctx context.Context, vm *object.VirtualMachine) error {
	var props mo.VirtualMachine
	if err := vm.Properties(ctx, vm.Reference(), []string{"snapshot"}, &props); err != nil {
		return classify(err, "listing snapshots of VM %s", vm.Reference().Value)
	}
	if props.Snapshot == nil {
		return nil
	}
	var stale []types.ManagedObjectReference
	var walk func([]types.VirtualMachineSnapshotTree)
	walk = func(trees []types.VirtualMachineSnapshotTree) {
		for _, t := range trees {
			if strings.HasPrefix(t.Name, snapshotPrefix) {
				stale = append(stale, t.Snapshot)
			}
			walk(t.ChildSnapshotList)
		}
	}
	walk(props.Snapshot.RootSnapshotList)
	for _, snap := range stale {
		if err := c.removeSnapshot(ctx, snap); err != nil {
			return err
		}
	}
	return nil
}

func (c *Client) removeSnapshot(ctx context.Context, snap types.ManagedObjectReference) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
	defer cancel()
	res, err := methods.RemoveSnapshot_Task(ctx, c.vim, &types.RemoveSnapshot_Task{
		This:           snap,
		RemoveChildren: false,
		Consolidate:    types.NewBool(true),
	})
	if err == nil {
		err = object.NewTask(c.vim, res.Returnval).Wait(ctx)
	}
	if err != nil {
		return classify(err, "removing temporary snapshot %s", snap.Value)
	}
	return nil
}

// snapshotDisk returns the disk with key diskKey as the snapshot saw it.
func (c *Client) snapshotDisk(ctx context.Context, snap types.ManagedObjectReference, diskKey int32) (*types.VirtualDisk, error) {
	var props mo.VirtualMachineSnapshot
	if err := property.DefaultCollector(c.vim).RetrieveOne(ctx, snap, []string{"config.hardware.device"}, &props); err != nil {
		return nil, classify(err, "reading the disks of snapshot %s", snap.Value)
	}
	for _, d := range props.Config.Hardware.Device {
		if disk, ok := d.(*types.VirtualDisk); ok && disk.Key == diskKey {
			return disk, nil
		}
	}
	return nil, errs.New(errs.NotFound, "the VM has no disk with key %d", diskKey)
}
