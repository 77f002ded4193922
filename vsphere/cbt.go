package vsphere

import (
	"context"
	"fmt"
	"maps"
	"slices"
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
func (c *Client) ChangedAreas(ctx context.Context, uuid string, diskKey int32, changeID string) (*ChangedAreas, error) {
	if changeID == "" {
		return nil, errs.New(errs.InvalidArgument, "querying changed areas of VM %s disk %d: change id is empty", uuid, diskKey)
	}
	var out *ChangedAreas
	err := c.withSnapshot(ctx, uuid, func(vm *object.VirtualMachine, snap types.ManagedObjectReference) error {
		disk, err := c.snapshotDisk(ctx, snap, diskKey)
		if err != nil {
			return err
		}
		res := &ChangedAreas{ChangeID: backingChangeID(disk.Backing), DiskSize: diskSize(disk)}
		if res.ChangeID == "" {
			return errs.New(errs.FailedPrecondition,
				"querying changed areas of VM %s disk %d: the disk has no change id (changed block tracking disabled?)", uuid, diskKey)
		}
		for offset := int64(0); offset < res.DiskSize; {
			if err := ctx.Err(); err != nil {
				return classify(err, "querying changed areas of VM %s disk %d", uuid, diskKey)
			}
			info, err := c.queryChangedDiskAreas(ctx, vm, snap, diskKey, offset, changeID)
			if err != nil {
				return classify(err, "querying changed areas of VM %s disk %d from offset %d", uuid, diskKey, offset)
			}
			for _, a := range info.ChangedArea {
				res.add(Extent{Offset: a.Start, Length: a.Length})
			}
			next := info.StartOffset + info.Length
			if next <= offset {
				return errs.New(errs.Internal, "querying changed areas of VM %s disk %d: vCenter answered no progress at offset %d", uuid, diskKey, offset)
			}
			offset = next
		}
		out = res
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// CheckChangeIDs checks, while the VM with instance uuid still runs, that
// vCenter still accepts the stored change id of each disk (disks maps a
// disk's device key to its change id), so that the incremental sync after
// the power-off of a live failover cannot fail on changed block tracking.
// It takes one temporary snapshot, asks QueryChangedDiskAreas once per disk
// (from offset 0, against the snapshot) and removes the snapshot, also on
// error; a temporary snapshot an earlier call left behind is removed first.
//
// The first result has an entry for every disk of disks: nil when the
// change id is valid, otherwise an error that says why the disk's replica
// needs a full sync before a live failover:
//   - errs.FailedPrecondition when vCenter refuses the change id (an
//     InvalidArgument or FileFault fault: changed block tracking was reset,
//     e.g. by a storage vMotion, a CBT disable/enable or a restore), when
//     the change id is empty or AllAreas (no change id was stored), or when
//     the disk has no change id (changed block tracking disabled);
//   - errs.NotFound when the VM has no disk with that key.
//
// The second result is a failure to check at all (VM not found, vCenter
// unreachable, snapshot failed, another fault of the query), classified
// like every error of this package; the first result is then nil.
func (c *Client) CheckChangeIDs(ctx context.Context, uuid string, disks map[int32]string) (map[int32]error, error) {
	out := make(map[int32]error, len(disks))
	keys := slices.Sorted(maps.Keys(disks))
	var query []int32
	for _, key := range keys {
		if id := disks[key]; id == "" || id == AllAreas {
			out[key] = errs.New(errs.FailedPrecondition,
				"VM %s disk %d has no stored change id: a full sync of the replica is needed before a live failover", uuid, key)
		} else {
			query = append(query, key)
		}
	}
	if len(query) == 0 {
		return out, nil
	}
	err := c.withSnapshot(ctx, uuid, func(vm *object.VirtualMachine, snap types.ManagedObjectReference) error {
		current, err := c.snapshotDisks(ctx, snap)
		if err != nil {
			return err
		}
		for _, key := range query {
			if err := ctx.Err(); err != nil {
				return classify(err, "checking the change ids of VM %s", uuid)
			}
			disk := current[key]
			switch {
			case disk == nil:
				out[key] = errs.New(errs.NotFound, "VM %s has no disk with key %d", uuid, key)
				continue
			case backingChangeID(disk.Backing) == "":
				out[key] = errs.New(errs.FailedPrecondition,
					"VM %s disk %d has no change id (changed block tracking disabled?): a full sync of the replica is needed before a live failover", uuid, key)
				continue
			}
			_, err := c.queryChangedDiskAreas(ctx, vm, snap, key, 0, disks[key])
			switch {
			case err == nil:
				out[key] = nil
			case isFault(err, &types.InvalidArgument{}, &types.FileFault{}):
				out[key] = errs.Wrap(errs.FailedPrecondition, err,
					"VM %s disk %d: change id %q is no longer valid (changed block tracking was reset, e.g. by a storage vMotion): "+
						"a full sync of the replica is needed before a live failover", uuid, key, disks[key])
			default:
				return classify(err, "checking the change id of VM %s disk %d", uuid, key)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
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
func (c *Client) CurrentChangeID(ctx context.Context, uuid string, diskKey int32) (string, error) {
	var id string
	err := c.withSnapshot(ctx, uuid, func(_ *object.VirtualMachine, snap types.ManagedObjectReference) error {
		disk, err := c.snapshotDisk(ctx, snap, diskKey)
		if err != nil {
			return err
		}
		if id = backingChangeID(disk.Backing); id == "" {
			return errs.New(errs.FailedPrecondition,
				"reading the change id of VM %s disk %d: the disk has no change id (changed block tracking disabled?)", uuid, diskKey)
		}
		return nil
	})
	if err != nil {
		return "", err
	}
	return id, nil
}

// CurrentChangeIDs returns the change id of every disk of the VM now, by
// device key, read from one temporary snapshot: what a replica brought up
// to date now is in sync with. A disk without a change id (changed block
// tracking disabled) is an errs.FailedPrecondition.
func (c *Client) CurrentChangeIDs(ctx context.Context, uuid string) (map[int32]string, error) {
	out := map[int32]string{}
	err := c.withSnapshot(ctx, uuid, func(_ *object.VirtualMachine, snap types.ManagedObjectReference) error {
		disks, err := c.snapshotDisks(ctx, snap)
		if err != nil {
			return err
		}
		for _, key := range slices.Sorted(maps.Keys(disks)) {
			id := backingChangeID(disks[key].Backing)
			if id == "" {
				return errs.New(errs.FailedPrecondition,
					"reading the change ids of VM %s: disk %d has no change id (changed block tracking disabled?)", uuid, key)
			}
			out[key] = id
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// withSnapshot finds the VM with instance uuid, takes a temporary snapshot
// of it (removing stale ones first), runs fn against it and removes it,
// also when fn fails or ctx has ended. A failed removal is the error when
// fn succeeded.
func (c *Client) withSnapshot(ctx context.Context, uuid string, fn func(vm *object.VirtualMachine, snap types.ManagedObjectReference) error) (err error) {
	vm, err := c.FindByUUID(ctx, uuid)
	if err != nil {
		return err
	}
	snap, err := c.createSnapshot(ctx, vm)
	if err != nil {
		return err
	}
	defer func() {
		if rerr := c.removeSnapshot(ctx, snap); rerr != nil && err == nil {
			err = rerr
		}
	}()
	return fn(vm, snap)
}

// queryChangedDiskAreas asks one page of QueryChangedDiskAreas against
// snap; the error is vCenter's, unclassified.
func (c *Client) queryChangedDiskAreas(ctx context.Context, vm *object.VirtualMachine, snap types.ManagedObjectReference,
	diskKey int32, offset int64, changeID string) (types.DiskChangeInfo, error) {
	r, err := methods.QueryChangedDiskAreas(ctx, c.vim, &types.QueryChangedDiskAreas{
		This:        vm.Reference(),
		Snapshot:    &snap,
		DeviceKey:   diskKey,
		StartOffset: offset,
		ChangeId:    changeID,
	})
	if err != nil {
		return types.DiskChangeInfo{}, err
	}
	return r.Returnval, nil
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
	disks, err := c.snapshotDisks(ctx, snap)
	if err != nil {
		return nil, err
	}
	if disk := disks[diskKey]; disk != nil {
		return disk, nil
	}
	return nil, errs.New(errs.NotFound, "the VM has no disk with key %d", diskKey)
}

// snapshotDisks returns the disks as the snapshot saw them, by device key.
func (c *Client) snapshotDisks(ctx context.Context, snap types.ManagedObjectReference) (map[int32]*types.VirtualDisk, error) {
	var props mo.VirtualMachineSnapshot
	if err := property.DefaultCollector(c.vim).RetrieveOne(ctx, snap, []string{"config.hardware.device"}, &props); err != nil {
		return nil, classify(err, "reading the disks of snapshot %s", snap.Value)
	}
	disks := map[int32]*types.VirtualDisk{}
	for _, d := range props.Config.Hardware.Device {
		if disk, ok := d.(*types.VirtualDisk); ok {
			disks[disk.Key] = disk
		}
	}
	return disks, nil
}

// diskSize returns the disk's capacity in bytes.
func diskSize(disk *types.VirtualDisk) int64 {
	if disk.CapacityInBytes != 0 {
		return disk.CapacityInBytes
	}
	return disk.CapacityInKB * 1024
}
