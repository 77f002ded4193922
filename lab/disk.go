package lab

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"

	"github.com/ossea/unifiedfailover/nbd"
	"github.com/ossea/unifiedfailover/sim/nbdkit"
)

// startDisk makes disk j (0-based) of the VM: a sparse source file and a
// sparse replica file of Config.DiskSize bytes under Dir, replacing files
// left by an earlier lab, each served by nbdkit; the source export tracks
// writes.
func (l *Lab) startDisk(ctx context.Context, vmName string, j int) (Disk, error) {
	d := Disk{SizeBytes: l.cfg.DiskSize}
	base := filepath.Join(l.Dir, fmt.Sprintf("%s-disk%d", vmName, j+1))
	for _, e := range []struct {
		path  string
		track bool
		x     **nbdkit.Export
	}{
		{base + "-source.img", true, &d.Source},
		{base + "-replica.img", false, &d.Replica},
	} {
		if err := createSparse(e.path, d.SizeBytes); err != nil {
			return Disk{}, err
		}
		x, err := nbdkit.Start(ctx, nbdkit.Config{Path: e.path, Dir: l.sockDir, TrackWrites: e.track})
		if err != nil {
			return Disk{}, fmt.Errorf("starting the nbd export of %s: %w", e.path, err)
		}
		l.addExport(x)
		*e.x = x
	}
	return d, nil
}

// createSparse creates (or empties) the file at path and sizes it to size
// bytes without allocating them.
func createSparse(path string, size int64) error {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return fmt.Errorf("creating disk file: %w", err)
	}
	err = f.Truncate(size)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("sizing disk file %s to %d bytes: %w", path, size, err)
	}
	return nil
}

// diskSeed is the random seed of the contents of disk j of VM i.
func diskSeed(seed int64, i, j int) [2]uint64 {
	return [2]uint64{uint64(seed), uint64(i)<<8 | uint64(j) ^ 0x6c61622d64697363} // "lab-disc"
}

// seedExtent is an area of a disk the lab writes when seeding it.
type seedExtent struct {
	off  int64
	data []byte
}

// seedExtents returns what to write to a disk of size bytes: a 64 KiB
// header at offset 0 naming the disk, then two to four blocks of 4 to 64
// KiB of random bytes at random 4 KiB-aligned offsets, all from seed.
func seedExtents(seed [2]uint64, size int64, vmName string, j int) []seedExtent {
	r := rand.New(rand.NewPCG(seed[0], seed[1]))
	fill := func(n int) []byte {
		b := make([]byte, n)
		for i := 0; i < n; i += 8 {
			v := r.Uint64()
			for k := range 8 {
				b[i+k] = byte(v >> (8 * k))
			}
		}
		return b
	}
	head := fill(64 << 10)
	copy(head, fmt.Sprintf("OSSEA-LAB %s disk %d seed %d/%d\n", vmName, j+1, seed[0], seed[1]))
	out := []seedExtent{{0, head}}
	for range 2 + r.IntN(3) {
		n := (1 + r.IntN(16)) * 4096
		off := r.Int64N((size-int64(n))/4096+1) * 4096
		out = append(out, seedExtent{off, fill(n)})
	}
	return out
}

// seedDisk writes the disk's seeded contents to its source through NBD (so
// the writes are in the source's change history), then copies the same
// areas, read back from the source, to the replica and flushes it: the
// replica is in sync with the source.
func seedDisk(ctx context.Context, d *Disk, seed [2]uint64, vmName string, j int) error {
	src, err := nbd.Connect(ctx, d.Source.URI)
	if err != nil {
		return fmt.Errorf("connecting to the source of disk %d: %w", j+1, err)
	}
	defer src.Close()
	dst, err := nbd.Connect(ctx, d.Replica.URI)
	if err != nil {
		return fmt.Errorf("connecting to the replica of disk %d: %w", j+1, err)
	}
	defer dst.Close()

	extents := seedExtents(seed, d.SizeBytes, vmName, j)
	for _, e := range extents {
		if err := src.Pwrite(e.data, e.off); err != nil {
			return fmt.Errorf("seeding the source of disk %d at offset %d: %w", j+1, e.off, err)
		}
	}
	for _, e := range extents {
		buf := make([]byte, len(e.data))
		if err := src.Pread(buf, e.off); err != nil {
			return fmt.Errorf("reading the source of disk %d at offset %d: %w", j+1, e.off, err)
		}
		if err := dst.Pwrite(buf, e.off); err != nil {
			return fmt.Errorf("copying disk %d to its replica at offset %d: %w", j+1, e.off, err)
		}
	}
	if err := dst.Flush(); err != nil {
		return fmt.Errorf("flushing the replica of disk %d: %w", j+1, err)
	}
	return nil
}
