package tasks

import (
	"context"
	"sync"
	"time"

	"github.com/ossea/unifiedfailover/blocksync"
	"github.com/ossea/unifiedfailover/calltime"
	"github.com/ossea/unifiedfailover/errs"
	"github.com/ossea/unifiedfailover/store"
)

// finalSync copies, for every disk, the areas vCenter reports changed
// since the stored change id from the source disk's export to the
// replica's export, flushes, and stores the new change id with the
// disk's last_synced_at: the time its changed areas were read, when the
// source was already off, so the replica holds the source as it is then
// (and the VM's RPO reads near zero). A disk whose new change id is stored
// reports no changes on a re-run (the source is off), so a retry copies
// only what is left, and stores a later, as true, sync time.
func (s *stepEnv) finalSync(ctx context.Context) error {
	vc, err := s.e.VCenter(ctx)
	if err != nil {
		return err
	}
	type pending struct {
		disk     store.Disk
		changeID string
		syncedAt time.Time
	}
	var disks []blocksync.Disk
	var todo []pending
	for _, d := range s.vm.Disks {
		syncedAt := time.Now()
		areas, err := vc.ChangedAreas(ctx, s.cfg.VMwareVMID, d.DiskKey, d.ChangeID)
		if err != nil {
			return err
		}
		ext := make([]blocksync.Extent, len(areas.Extents))
		for i, x := range areas.Extents {
			ext[i] = blocksync.Extent{Offset: x.Offset, Length: x.Length}
		}
		if len(ext) > 0 { // an empty list would mean "the whole disk" to blocksync
			disks = append(disks, blocksync.Disk{Name: d.Label, SourceURI: d.SourceNBDURI, TargetURI: d.ReplicaNBDURI, Extents: ext})
		}
		todo = append(todo, pending{disk: d, changeID: areas.ChangeID, syncedAt: syncedAt})
	}
	began := time.Now()
	var mu sync.Mutex
	lastStore := time.Time{}
	// counted is what was added to failover_sync_bytes_total so far: the
	// counter grows with every all-disks report, so throughput shows live.
	var counted int64
	countBytes := func(done int64) {
		if m := s.e.cfg.Metrics; m != nil && done > counted {
			m.SyncBytes.Add(float64(done - counted))
			counted = done
		}
	}
	copied := calltime.Start(ctx) // the NBD copy is time spent outside the orchestration
	res, err := blocksync.Copy(ctx, blocksync.DefaultConfig(), disks, func(p blocksync.Progress) {
		mu.Lock()
		defer mu.Unlock()
		if p.Disk == "" {
			countBytes(p.BytesDone)
		}
		if time.Since(lastStore) < time.Second && p.BytesDone < p.BytesTotal {
			return
		}
		lastStore = time.Now()
		_ = s.Progress(ctx, store.Progress{BytesDone: p.BytesDone, BytesTotal: p.BytesTotal, RateBps: p.BytesPerSecond})
		_ = s.e.store.TouchJob(ctx, s.Job.ID)
	})
	copied()
	if err != nil {
		if ctx.Err() != nil {
			return errs.Transient(err, "final sync interrupted")
		}
		return err
	}
	mu.Lock()
	countBytes(res.BytesCopied + res.BytesZeroed)
	mu.Unlock()
	if m := s.e.cfg.Metrics; m != nil {
		m.SyncDuration.Observe(time.Since(began).Seconds())
	}
	for _, p := range todo {
		if err := s.e.store.SetDiskSynced(ctx, s.vm.ContextID, p.disk.DiskKey, p.changeID, p.syncedAt); err != nil {
			return err
		}
	}
	_ = s.Progress(ctx, store.Progress{BytesDone: res.BytesTotal, BytesTotal: res.BytesTotal,
		RateBps: float64(res.BytesTotal) / max(time.Since(began).Seconds(), 1e-3)})
	s.closing(ctx, "final sync done", "bytes", res.BytesTotal, "bytes_zeroed", res.BytesZeroed,
		"duration_ms", time.Since(began).Milliseconds(), "disks", len(disks))
	return nil
}
