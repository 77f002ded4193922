package blocksync_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/ossea/unifiedfailover/blocksync"
)

func TestCancelReturnsWithinASecond(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		delay string // of each read on the source
	}{
		{"slow reads", "rdelay=200ms"},
		{"slow writes", "wdelay=200ms"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := setup(t)
			const size = 16 << 20 // 64 requests of 256 KiB: 1.6 s at least
			var s, d export
			if tc.delay[0] == 'r' {
				s, _ = f.exportWith(f.random(size), []string{"--filter=delay"}, tc.delay)
				d = f.export(make([]byte, size))
			} else {
				s = f.export(f.random(size))
				d, _ = f.exportWith(make([]byte, size), []string{"--filter=delay"}, tc.delay)
			}
			ctx, cancel := context.WithCancel(t.Context())
			var last blocksync.Progress
			go func() {
				time.Sleep(300 * time.Millisecond)
				cancel()
			}()
			start := time.Now()
			cfg := blocksync.Config{Concurrency: 2, InFlight: 2, ProgressEvery: 10 * time.Millisecond}
			res, err := blocksync.Copy(ctx, cfg, []blocksync.Disk{{Name: "d", SourceURI: s.URI, TargetURI: d.URI}},
				func(p blocksync.Progress) { last = p })
			took := time.Since(start)
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("Copy = %+v, %v; want context.Canceled", res, err)
			}
			if took > 1300*time.Millisecond { // cancelled after 300 ms
				t.Fatalf("Copy returned %v after the start, %v after the cancel", took, took-300*time.Millisecond)
			}
			if res.BytesCopied >= size || last.BytesDone != res.BytesCopied {
				t.Fatalf("result %+v, last progress %+v: want a partial copy, reported", res, last)
			}
			t.Logf("cancelled copy returned after %v with %d bytes copied", took, res.BytesCopied)
		})
	}
}
