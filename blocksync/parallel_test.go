package blocksync_test

import (
	"bytes"
	"testing"

	"github.com/ossea/unifiedfailover/blocksync"
)

func TestSeveralDisksInParallel(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		cfg  blocksync.Config
	}{
		// Fewer pairs than disks: workers move on to the next disk.
		{"budget 2", blocksync.Config{Concurrency: 2, Flush: true, ZeroDetect: true, CoalesceGap: -1}},
		// More pairs than disks: multi-conn targets get several.
		{"budget 8", blocksync.Config{Concurrency: 8, InFlight: 2, RequestSize: 64 << 10, BytesPerConnection: 1 << 20, ConnectionsPerDisk: 4, Flush: true, CoalesceGap: -1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := setup(t)
			type disk struct {
				src, dst, want []byte
				d              export
			}
			var disks []disk
			var in []blocksync.Disk
			for i, size := range []int64{3<<20 + 1, 6 << 20, 1 << 20, 2<<20 - 512} {
				old := f.random(size)
				src := bytes.Clone(old)
				var ext []blocksync.Extent
				if i != 1 {
					ext = f.changes2(src)
				}
				dst := f.random(size)
				want := apply(dst, src, ext)
				if ext == nil {
					want = src
				}
				s, d := f.export(src), f.export(dst)
				disks = append(disks, disk{src: src, dst: dst, want: want, d: d})
				in = append(in, blocksync.Disk{Name: string(rune('a' + i)), SourceURI: s.URI, TargetURI: d.URI, Extents: ext})
			}
			res := f.copyDisks(tc.cfg, in...)
			var total int64
			for i, d := range disks {
				f.sameAs(d.d.Path, d.want)
				pd := res.PerDisk[i]
				if pd.Name != in[i].Name || pd.BytesCopied+pd.BytesZeroed != pd.BytesTotal || pd.Duration <= 0 {
					t.Fatalf("disk %d: %+v", i, pd)
				}
				total += pd.BytesTotal
			}
			most := 0
			for _, pd := range res.PerDisk {
				most = max(most, pd.Connections)
			}
			if want := min(tc.cfg.Concurrency/len(in), 2); most < want {
				t.Fatalf("at most %d connection pairs served a disk, want %d or more: %+v", most, want, res.PerDisk)
			}
			if res.BytesTotal != total || res.BytesCopied+res.BytesZeroed != total {
				t.Fatalf("result %+v: per-disk totals add up to %d", res, total)
			}
		})
	}
}

// changes2 writes a few random extents, one at the end, into src.
func (f *fixture) changes2(src []byte) []blocksync.Extent {
	size := int64(len(src))
	ext := []blocksync.Extent{{Offset: size - 4097, Length: 4097}}
	for range 20 {
		l := 1 + f.rnd.Int64N(100_000)
		ext = append(ext, blocksync.Extent{Offset: f.rnd.Int64N(size - l + 1), Length: l})
	}
	for _, e := range ext {
		copy(src[e.Offset:e.End()], f.random(e.Length))
	}
	return ext
}
