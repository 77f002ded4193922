package blocksync_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/ossea/unifiedfailover/blocksync"
)

func TestProgressIsMonotonicAndEndsAtTotal(t *testing.T) {
	t.Parallel()
	f := setup(t)
	const size = 4 << 20
	s, _ := f.exportWith(f.random(size), []string{"--filter=delay"}, "rdelay=20ms")
	d := f.export(make([]byte, size))
	s2, d2 := f.export(f.random(size/2)), f.export(make([]byte, size/2))
	var mu sync.Mutex
	var all, perDisk []blocksync.Progress
	var times []time.Time
	cfg := blocksync.Config{Concurrency: 2, InFlight: 2, ProgressEvery: 50 * time.Millisecond}
	res, err := blocksync.Copy(t.Context(), cfg, []blocksync.Disk{
		{Name: "slow", SourceURI: s.URI, TargetURI: d.URI},
		{Name: "fast", SourceURI: s2.URI, TargetURI: d2.URI},
	}, func(p blocksync.Progress) {
		mu.Lock()
		defer mu.Unlock()
		if p.Disk == "" {
			all = append(all, p)
			times = append(times, time.Now())
		} else {
			perDisk = append(perDisk, p)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	// 16 reads of 256 KiB, 4 at a time, 20 ms each: some 100 ms at least.
	if len(all) < 2 {
		t.Fatalf("%d reports, want several: %+v", len(all), all)
	}
	for i, p := range all {
		if p.BytesTotal != res.BytesTotal || p.BytesDone > p.BytesTotal || p.BytesPerSecond < 0 {
			t.Fatalf("report %d: %+v (total %d)", i, p, res.BytesTotal)
		}
		if i > 0 && p.BytesDone < all[i-1].BytesDone {
			t.Fatalf("report %d went back: %+v after %+v", i, p, all[i-1])
		}
		// Periodic reports are at least ProgressEvery apart (the final one
		// may come sooner).
		if i > 0 && i < len(all)-1 && times[i].Sub(times[i-1]) < 40*time.Millisecond {
			t.Fatalf("reports %d and %d only %v apart", i-1, i, times[i].Sub(times[i-1]))
		}
	}
	if final := all[len(all)-1]; final.BytesDone != res.BytesTotal || res.BytesTotal != size+size/2 {
		t.Fatalf("final report %+v, result %+v", final, res)
	}
	if len(perDisk) != 2 {
		t.Fatalf("per-disk reports %+v, want one per disk", perDisk)
	}
	for _, p := range perDisk {
		if p.BytesDone != p.BytesTotal {
			t.Fatalf("disk report %+v is not complete", p)
		}
	}
	_ = context.Background
}
