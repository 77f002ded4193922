package store

import (
	"time"

	"github.com/ossea/unifiedfailover/api/apiv1"
)

// DefaultRPOTarget is the RPO a VM should stay within when neither the VM
// nor FAILOVER_RPO_TARGET says otherwise.
const DefaultRPOTarget = 15 * time.Minute

// MinRPOTarget and MaxRPOTarget bound an RPO target, the default's and a
// VM's own.
const (
	MinRPOTarget = time.Minute
	MaxRPOTarget = 7 * 24 * time.Hour
)

// ReplicationState is a VM's replication health (the API's type, apiv1).
type ReplicationState = apiv1.ReplicationState

// Replication is a VM's replication health at one moment: the API's
// context, pre-flight's rpo check and failover_vm_rpo_seconds all read it
// from ReplicationOf, so they agree.
type Replication struct {
	State ReplicationState
	// RPO is now minus the oldest disk's last sync (never negative); nil
	// while a disk never reported a sync, or the VM has no disk.
	RPO *time.Duration
	// Target is the VM's own target, or the default.
	Target time.Duration
	// OldestDisk is the disk synced longest ago; with NeverSynced, the
	// first disk that never reported a sync. Nil without disks.
	OldestDisk *int32
	// OldestSyncedAt is that disk's last sync (nil with NeverSynced).
	OldestSyncedAt *time.Time
	// NeverSynced are the disks that never reported a sync.
	NeverSynced []int32
}

// Behind says whether the RPO exceeds the target or is unknown: what the
// rpo check warns about, and a live failover must accept.
func (r Replication) Behind() bool { return r.RPO == nil || *r.RPO > r.Target }

// RPOSeconds is the RPO in whole seconds, nil when unknown.
func (r Replication) RPOSeconds() *int64 {
	if r.RPO == nil {
		return nil
	}
	s := int64(*r.RPO / time.Second)
	return &s
}

// Replication is ReplicationOf the context, with defaultTarget when the
// VM has no target of its own.
func (c *VMContext) Replication(now time.Time, defaultTarget time.Duration) Replication {
	return ReplicationOf(c.CurrentStatus, c.Syncs, c.RPOTargetSeconds, defaultTarget, now)
}

// ReplicationOf computes a VM's replication health from its status and
// its disks' last sync times: the RPO is now minus the oldest sync, the
// target the VM's own (targetSeconds) or defaultTarget. The state is
// replicating or failed when the status says so; otherwise unknown when
// a disk never reported a sync (or there is no disk), behind when the RPO
// exceeds the target, in_sync when it does not.
func ReplicationOf(status ContextStatus, syncs []DiskSync, targetSeconds *int, defaultTarget time.Duration, now time.Time) Replication {
	r := Replication{Target: defaultTarget}
	if targetSeconds != nil && *targetSeconds > 0 {
		r.Target = time.Duration(*targetSeconds) * time.Second
	}
	var oldest *DiskSync
	for i := range syncs {
		d := &syncs[i]
		switch {
		case d.LastSyncedAt == nil:
			r.NeverSynced = append(r.NeverSynced, d.DiskKey)
		case oldest == nil || d.LastSyncedAt.Before(*oldest.LastSyncedAt):
			oldest = d
		}
	}
	switch {
	case len(r.NeverSynced) > 0:
		k := r.NeverSynced[0]
		r.OldestDisk = &k
	case oldest != nil:
		k, at := oldest.DiskKey, *oldest.LastSyncedAt
		r.OldestDisk, r.OldestSyncedAt = &k, &at
		rpo := max(now.Sub(at), 0) // a sync a little ahead of this clock is no lag
		r.RPO = &rpo
	}
	switch {
	case status == StatusReplicating:
		r.State = apiv1.ReplicationReplicating
	case status == StatusFailed:
		r.State = apiv1.ReplicationFailed
	case r.RPO == nil:
		r.State = apiv1.ReplicationUnknown
	case *r.RPO > r.Target:
		r.State = apiv1.ReplicationBehind
	default:
		r.State = apiv1.ReplicationInSync
	}
	return r
}
