package blocksync_test

import (
	"bytes"
	"testing"

	"github.com/ossea/unifiedfailover/blocksync"
)

// changes writes random data, zero runs and the end of the disk into src
// and returns the extents written: unaligned, overlapping, adjacent, and
// one ending at the very end of the disk.
func (f *fixture) changes(src []byte) []blocksync.Extent {
	size := int64(len(src))
	ext := []blocksync.Extent{
		{Offset: size - 777, Length: 777},        // the very end
		{Offset: 0, Length: 1},                   // the very start
		{Offset: 100_003, Length: 70_001},        // overlapping …
		{Offset: 150_000, Length: 90_000},        // … this one
		{Offset: 240_000, Length: 5},             // adjacent to the previous
		{Offset: 1 << 20, Length: 1 << 20},       // a zero run (below)
		{Offset: 3<<20 + 17, Length: 600_000},    // a zero run, unaligned
		{Offset: 5<<20 - 4096, Length: 3 << 20},  // larger than a request
		{Offset: 5 << 20, Length: 0},             // empty
		{Offset: size - 300_000, Length: 10_000}, // near the end
	}
	for range 40 {
		l := 1 + f.rnd.Int64N(200_000)
		ext = append(ext, blocksync.Extent{Offset: f.rnd.Int64N(size - l + 1), Length: l})
	}
	for _, e := range ext {
		copy(src[e.Offset:e.End()], f.random(e.Length))
	}
	clear(src[1<<20 : 2<<20])
	clear(src[3<<20+17 : 3<<20+17+600_000])
	return ext
}

func TestCopyExtents(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		cfg  blocksync.Config
	}{
		{"defaults", blocksync.Config{ZeroDetect: true, Flush: true, CoalesceGap: -1}},
		{"small requests", blocksync.Config{ZeroDetect: true, RequestSize: 4096 + 512, InFlight: 3, Concurrency: 3, CoalesceGap: -1}},
		{"one buffer", blocksync.Config{RequestSize: 64 << 10, MaxMemory: 64 << 10, CoalesceGap: -1}},
		{"no zero detection", blocksync.Config{RequestSize: 1 << 20, InFlight: 16, Flush: true, CoalesceGap: -1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := setup(t)
			const size = 12<<20 + 12345
			old := f.random(size)
			src := bytes.Clone(old)
			ext := f.changes(src)
			dst := f.random(size)
			s, d := f.export(src), f.export(dst)
			res := f.copyDisks(tc.cfg, blocksync.Disk{Name: "d", SourceURI: s.URI, TargetURI: d.URI, Extents: ext})
			f.sameAs(d.Path, apply(dst, src, ext))
			f.sameAs(s.Path, src)
			union := int64(bytes.Count(apply(make([]byte, size), bytes.Repeat([]byte{1}, size), ext), []byte{1}))
			if res.BytesTotal != union || res.BytesCopied+res.BytesZeroed != union {
				t.Fatalf("result %+v: want total %d = copied + zeroed", res, union)
			}
			if zd := tc.cfg.ZeroDetect; zd != (res.BytesZeroed > 0) {
				t.Fatalf("ZeroDetect %v but %d bytes zeroed", zd, res.BytesZeroed)
			}
		})
	}
}

func TestCopyCoalescesGaps(t *testing.T) {
	t.Parallel()
	f := setup(t)
	const size = 4 << 20
	src, dst := f.random(size), f.random(size)
	ext := []blocksync.Extent{
		{Offset: 0, Length: 1000}, {Offset: 1000 + 4096, Length: 10}, // gap 4096: coalesced
		{Offset: 1 << 20, Length: 100}, {Offset: 1<<20 + 100 + 4097, Length: 100}, // gap 4097: not
	}
	s, d := f.export(src), f.export(dst)
	res := f.copyDisks(blocksync.Config{CoalesceGap: 4096, Flush: true},
		blocksync.Disk{Name: "d", SourceURI: s.URI, TargetURI: d.URI, Extents: ext})
	want := apply(dst, src, []blocksync.Extent{{Offset: 0, Length: 1000 + 4096 + 10}, ext[2], ext[3]})
	f.sameAs(d.Path, want)
	if res.PerDisk[0].Ranges != 3 || res.BytesTotal != 1000+4096+10+200 {
		t.Fatalf("result %+v, want 3 ranges of %d bytes", res, 1000+4096+10+200)
	}
}

func TestCopyWholeDisk(t *testing.T) {
	t.Parallel()
	f := setup(t)
	const size = 9<<20 + 3
	src := f.random(size)
	clear(src[2<<20 : 4<<20])
	dst := f.random(size + 1<<20) // a larger target keeps its tail
	s, d := f.export(src), f.export(dst)
	res := f.copyDisks(blocksync.DefaultConfig(), blocksync.Disk{Name: "d", SourceURI: s.URI, TargetURI: d.URI})
	f.sameAs(d.Path, append(bytes.Clone(src), dst[size:]...))
	if res.BytesTotal != size || res.BytesZeroed < 2<<20-256<<10 {
		t.Fatalf("result %+v: want %d bytes in all, 2 MiB of them zeroed", res, size)
	}

	// Nothing to copy: an empty, non-nil list.
	res = f.copyDisks(blocksync.DefaultConfig(), blocksync.Disk{Name: "d", SourceURI: s.URI, TargetURI: d.URI, Extents: []blocksync.Extent{}})
	if res.BytesTotal != 0 {
		t.Fatalf("empty extent list copied %+v", res)
	}
}
