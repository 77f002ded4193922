package store_test

import (
	"testing"
	"time"

	"github.com/ossea/unifiedfailover/api/apiv1"
	"github.com/ossea/unifiedfailover/store"
)

func TestReplicationOf(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	ago := func(d time.Duration) *time.Time { at := now.Add(-d); return &at }
	secs := func(n int) *int { return &n }
	const def = 15 * time.Minute
	for _, tc := range []struct {
		name       string
		status     store.ContextStatus
		syncs      []store.DiskSync
		target     *int
		wantState  apiv1.ReplicationState
		wantRPO    *time.Duration
		wantTarget time.Duration
		wantOldest int32
	}{
		{name: "in sync", status: store.StatusReadyForFailover,
			syncs:     []store.DiskSync{{DiskKey: 2000, LastSyncedAt: ago(time.Minute)}, {DiskKey: 2001, LastSyncedAt: ago(5 * time.Minute)}},
			wantState: apiv1.ReplicationInSync, wantRPO: ptr(5 * time.Minute), wantTarget: def, wantOldest: 2001},
		{name: "at the target is in sync", status: store.StatusReadyForFailover,
			syncs:     []store.DiskSync{{DiskKey: 2000, LastSyncedAt: ago(def)}},
			wantState: apiv1.ReplicationInSync, wantRPO: ptr(def), wantTarget: def, wantOldest: 2000},
		{name: "behind the default", status: store.StatusReadyForFailover,
			syncs:     []store.DiskSync{{DiskKey: 2000, LastSyncedAt: ago(time.Minute)}, {DiskKey: 2001, LastSyncedAt: ago(2 * time.Hour)}},
			wantState: apiv1.ReplicationBehind, wantRPO: ptr(2 * time.Hour), wantTarget: def, wantOldest: 2001},
		{name: "the VM's own target wins", status: store.StatusReadyForFailover, target: secs(3 * 3600),
			syncs:     []store.DiskSync{{DiskKey: 2000, LastSyncedAt: ago(2 * time.Hour)}},
			wantState: apiv1.ReplicationInSync, wantRPO: ptr(2 * time.Hour), wantTarget: 3 * time.Hour, wantOldest: 2000},
		{name: "a disk never synced is unknown", status: store.StatusReadyForFailover,
			syncs:     []store.DiskSync{{DiskKey: 2000, LastSyncedAt: ago(time.Minute)}, {DiskKey: 2001}},
			wantState: apiv1.ReplicationUnknown, wantTarget: def, wantOldest: 2001},
		{name: "no disk is unknown", status: store.StatusDiscovered, wantState: apiv1.ReplicationUnknown, wantTarget: def, wantOldest: -1},
		{name: "a sync ahead of the clock is no lag", status: store.StatusFailedOverLive,
			syncs:     []store.DiskSync{{DiskKey: 2000, LastSyncedAt: ago(-30 * time.Second)}},
			wantState: apiv1.ReplicationInSync, wantRPO: ptr(time.Duration(0)), wantTarget: def, wantOldest: 2000},
		{name: "replicating says so, with its RPO", status: store.StatusReplicating,
			syncs:     []store.DiskSync{{DiskKey: 2000, LastSyncedAt: ago(2 * time.Hour)}},
			wantState: apiv1.ReplicationReplicating, wantRPO: ptr(2 * time.Hour), wantTarget: def, wantOldest: 2000},
		{name: "failed says so", status: store.StatusFailed,
			syncs:     []store.DiskSync{{DiskKey: 2000}},
			wantState: apiv1.ReplicationFailed, wantTarget: def, wantOldest: 2000},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := store.ReplicationOf(tc.status, tc.syncs, tc.target, def, now)
			if r.State != tc.wantState || r.Target != tc.wantTarget {
				t.Errorf("state %s, target %s; want %s, %s", r.State, r.Target, tc.wantState, tc.wantTarget)
			}
			switch {
			case (r.RPO == nil) != (tc.wantRPO == nil):
				t.Errorf("RPO %v, want %v", r.RPO, tc.wantRPO)
			case r.RPO != nil && *r.RPO != *tc.wantRPO:
				t.Errorf("RPO %s, want %s", *r.RPO, *tc.wantRPO)
			}
			if tc.wantOldest < 0 {
				if r.OldestDisk != nil {
					t.Errorf("oldest disk %d, want none", *r.OldestDisk)
				}
			} else if r.OldestDisk == nil || *r.OldestDisk != tc.wantOldest {
				t.Errorf("oldest disk %v, want %d", r.OldestDisk, tc.wantOldest)
			}
			if got, want := r.Behind(), tc.wantRPO == nil || *tc.wantRPO > tc.wantTarget; got != want {
				t.Errorf("Behind() = %v, want %v", got, want)
			}
			if s := r.RPOSeconds(); (s == nil) != (r.RPO == nil) || (s != nil && *s != int64(*r.RPO/time.Second)) {
				t.Errorf("RPOSeconds() = %v for RPO %v", s, r.RPO)
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }

// TestDiskSyncTimesPersist: a disk's last_synced_at and a VM's RPO target
// are stored at registration, by a record's replacement and by a sync,
// and read back by every way a context is read.
func TestDiskSyncTimesPersist(t *testing.T) {
	t.Parallel()
	b := setup(t)
	at := time.Now().Add(-2 * time.Hour).UTC().Truncate(time.Microsecond)
	c := &store.VMContext{ContextID: "ctx-rpo1", VMName: "rpo1", VMwareVMID: "uuid-rpo1", OSType: "linux", Firmware: "bios",
		CurrentStatus: store.StatusReadyForFailover, RPOTargetSeconds: ptr(1800),
		Disks: []store.Disk{{DiskKey: 2000, UnitOrder: 0, SizeBytes: 1 << 20, VolumeID: "vol-rpo1-a", LastSyncedAt: &at},
			{DiskKey: 2001, UnitOrder: 1, SizeBytes: 1 << 20, VolumeID: "vol-rpo1-b"}}}
	if err := b.store.CreateContext(b.ctx, c); err != nil {
		t.Fatal(err)
	}
	got, err := b.store.GetContext(b.ctx, c.ContextID)
	if err != nil {
		t.Fatal(err)
	}
	if got.RPOTargetSeconds == nil || *got.RPOTargetSeconds != 1800 {
		t.Fatalf("rpo target %v, want 1800", got.RPOTargetSeconds)
	}
	if got.Disks[0].LastSyncedAt == nil || !got.Disks[0].LastSyncedAt.Equal(at) || got.Disks[1].LastSyncedAt != nil {
		t.Fatalf("disks' last_synced_at %v, %v; want %s, nil", got.Disks[0].LastSyncedAt, got.Disks[1].LastSyncedAt, at)
	}
	if r := got.Replication(time.Now(), 15*time.Minute); r.State != "unknown" || len(r.NeverSynced) != 1 || r.NeverSynced[0] != 2001 {
		t.Fatalf("replication %+v, want unknown with disk 2001 never synced", r)
	}
	synced := time.Now().UTC().Truncate(time.Microsecond)
	if err := b.store.SetDiskSynced(b.ctx, c.ContextID, 2001, "52 1/", synced); err != nil {
		t.Fatal(err)
	}
	list, err := b.store.ListContexts(b.ctx)
	if err != nil {
		t.Fatal(err)
	}
	var listed *store.VMContext
	for _, l := range list {
		if l.ContextID == c.ContextID {
			listed = l
		}
	}
	if listed == nil || len(listed.Syncs) != 2 || listed.Syncs[1].LastSyncedAt == nil || !listed.Syncs[1].LastSyncedAt.Equal(synced) {
		t.Fatalf("listed context's syncs: %+v", listed)
	}
	r := listed.Replication(time.Now(), 15*time.Minute)
	if r.State != "behind" || r.RPO == nil || *r.RPO < 2*time.Hour || *r.OldestDisk != 2000 || r.Target != 30*time.Minute {
		t.Fatalf("replication of the listed context %+v (RPO %v), want behind by 2h on disk 2000, target 30m", r, r.RPO)
	}
	got, err = b.store.ResolveContext(b.ctx, "rpo1")
	if err != nil {
		t.Fatal(err)
	}
	if got.Disks[1].ChangeID != "52 1/" || got.Disks[1].LastSyncedAt == nil || !got.Disks[1].LastSyncedAt.Equal(synced) {
		t.Fatalf("disk 2001 after the sync: %+v", got.Disks[1])
	}
	got.RPOTargetSeconds = nil
	got.Disks[0].LastSyncedAt = &synced
	if err := b.store.ReplaceRecord(b.ctx, got, "updating it", store.Decision{Decision: "update-context", Actor: "t", ContextID: c.ContextID}); err != nil {
		t.Fatal(err)
	}
	got, err = b.store.GetContext(b.ctx, c.ContextID)
	if err != nil {
		t.Fatal(err)
	}
	if got.RPOTargetSeconds != nil || !got.Disks[0].LastSyncedAt.Equal(synced) {
		t.Fatalf("after the replacement: target %v, disk 2000 synced %v", got.RPOTargetSeconds, got.Disks[0].LastSyncedAt)
	}
	if r := got.Replication(time.Now(), 15*time.Minute); r.State != "in_sync" || *r.RPO > time.Minute {
		t.Fatalf("replication after both syncs %+v", r)
	}
}
