package main

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/ossea/unifiedfailover/blocksync"
	"github.com/ossea/unifiedfailover/nbd"
	"github.com/ossea/unifiedfailover/sim/nbdkit"
)

// options are the command-line flags.
type options struct {
	size     int64
	dir      string
	runs     int
	fraction float64
	flush    bool
	verify   bool
	cfg      blocksync.Config
}

const (
	mb  = 1e6
	mib = 1 << 20
)

// run builds the data and prints the figures.
func run(ctx context.Context, o options) error {
	dir, err := pickDir(o.dir, 2*o.size+256*mib)
	if err != nil {
		return err
	}
	work, err := os.MkdirTemp(dir, "benchsync-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	fmt.Printf("benchsync: %d MiB disk in %s, %d runs per full copy, flush %v\n", o.size>>20, work, o.runs, o.flush)
	fmt.Printf("load before: %s\n", uptime())

	srcPath, dstPath := filepath.Join(work, "src.img"), filepath.Join(work, "dst.img")
	t := time.Now()
	if err := fillRandom(srcPath, o.size); err != nil {
		return err
	}
	fmt.Printf("source written in %v (random data, 4 zero regions of 16 MiB)\n", time.Since(t).Round(time.Millisecond))
	src, err := nbdkit.Start(ctx, nbdkit.Config{Path: srcPath, Dir: work})
	if err != nil {
		return err
	}
	defer src.Close()
	dst, err := nbdkit.Start(ctx, nbdkit.Config{Path: dstPath, Size: o.size, Dir: work})
	if err != nil {
		return err
	}
	defer dst.Close()

	conn, err := connectTime(ctx, src.URI)
	if err != nil {
		return err
	}
	fmt.Printf("one NBD connection to the source export takes %v (handshake; nbdkit's file plugin also scans the file for holes with SEEK_HOLE, which tmpfs does page by page)\n", conn.Round(time.Millisecond/10))

	cfg := o.cfg
	cfg.ZeroDetect, cfg.Flush = true, o.flush
	cfg = cfg.WithDefaults()
	fmt.Printf("blocksync config: RequestSize %d KiB, InFlight %d, Concurrency %d, ConnectionsPerDisk %d, MaxMemory %d MiB, CoalesceGap %d KiB\n",
		cfg.RequestSize>>10, cfg.InFlight, cfg.Concurrency, cfg.ConnectionsPerDisk, cfg.MaxMemory>>20, cfg.CoalesceGap>>10)

	// Warm-up: the first copy allocates the target's pages.
	if _, _, err := nbdcopy(ctx, src.URI, dst.URI, o.flush); err != nil {
		return err
	}
	disk := blocksync.Disk{Name: "disk0", SourceURI: src.URI, TargetURI: dst.URI}
	var ours, theirs []time.Duration
	var peak int64
	var last childResult
	for i := range o.runs {
		wall := time.Now()
		r, err := copyInChild(ctx, work, job{Config: cfg, Disks: []blocksync.Disk{disk}})
		if err != nil {
			return err
		}
		ours = append(ours, time.Since(wall))
		peak, last = max(peak, r.MaxRSS), r
		d, c, err := nbdcopy(ctx, src.URI, dst.URI, o.flush)
		if err != nil {
			return err
		}
		theirs = append(theirs, d)
		fmt.Printf("  run %d: blocksync %v (engine %v, CPU %v, %d MiB data, %d MiB zeroed, max RSS %d MiB), nbdcopy %v (CPU %v)\n", i+1,
			ours[i].Round(time.Millisecond), r.Result.Duration.Round(time.Millisecond), r.CPU.Round(time.Millisecond),
			r.Result.BytesCopied>>20, r.Result.BytesZeroed>>20, r.MaxRSS>>20, d.Round(time.Millisecond), c.Round(time.Millisecond))
	}
	bo, bt := slices.Min(ours), slices.Min(theirs)
	if last.Result.BytesTotal != o.size {
		return fmt.Errorf("full copy covered %d bytes, want %d", last.Result.BytesTotal, o.size)
	}
	if o.verify {
		if err := same(srcPath, dstPath); err != nil {
			return err
		}
	}

	// Incremental: scattered extents of 64 KiB to 1 MiB, fraction of the disk.
	ext := scatter(o.size, o.fraction, rand.New(rand.NewPCG(7, 8)))
	if err := rewrite(srcPath, ext, rand.New(rand.NewPCG(9, 10))); err != nil {
		return err
	}
	var changed int64
	for _, e := range ext {
		changed += e.Length
	}
	disk.Extents = ext
	var incr []time.Duration
	var ir childResult
	for range o.runs {
		wall := time.Now()
		r, err := copyInChild(ctx, work, job{Config: cfg, Disks: []blocksync.Disk{disk}})
		if err != nil {
			return err
		}
		incr = append(incr, time.Since(wall))
		peak = max(peak, r.MaxRSS)
		if slices.Min(incr) == incr[len(incr)-1] {
			ir = r
		}
	}
	if o.verify {
		if err := same(srcPath, dstPath); err != nil {
			return err
		}
	}
	bi := slices.Min(incr)
	frac := float64(changed) / float64(o.size)
	ideal := time.Duration(frac * float64(bo))
	budget := time.Duration(1.5*float64(ideal)) + 100*time.Millisecond

	fmt.Printf("load after: %s\n", uptime())
	fmt.Println()
	fmt.Printf("full copy, %d MiB, flush %v, best of %d (wall clock, process start included):\n", o.size>>20, o.flush, o.runs)
	mo, mt := median(ours), median(theirs)
	fmt.Printf("  blocksync  %7.0f MB/s  (%v; median %v, %.0f MB/s)\n", float64(o.size)/bo.Seconds()/mb, bo.Round(time.Millisecond),
		mo.Round(time.Millisecond), float64(o.size)/mo.Seconds()/mb)
	fmt.Printf("  nbdcopy    %7.0f MB/s  (%v; median %v, %.0f MB/s)\n", float64(o.size)/bt.Seconds()/mb, bt.Round(time.Millisecond),
		mt.Round(time.Millisecond), float64(o.size)/mt.Seconds()/mb)
	fmt.Printf("  ratio blocksync/nbdcopy throughput: %.2f best, %.2f median (goal >= 0.90) %s\n",
		bt.Seconds()/bo.Seconds(), mt.Seconds()/mo.Seconds(), verdict(bt.Seconds()/bo.Seconds() >= 0.9))
	fmt.Printf("incremental, %d extents of 64 KiB-1 MiB, %d MiB changed (%.2f%%), %d ranges after coalescing, best of %d:\n",
		len(ext), changed>>20, 100*frac, ir.Result.PerDisk[0].Ranges, o.runs)
	fmt.Printf("  blocksync  %v (engine %v); fraction x full = %v; ratio %.2f; goal <= 1.5 x %v + 100 ms = %v %s\n",
		bi.Round(time.Millisecond), ir.Result.Duration.Round(time.Millisecond), ideal.Round(time.Millisecond),
		bi.Seconds()/ideal.Seconds(), ideal.Round(time.Millisecond), budget.Round(time.Millisecond), verdict(bi <= budget))
	fmt.Printf("peak memory of our copy (max RSS of the copying process): %d MiB (goal < 128 MiB) %s\n", peak>>20, verdict(peak < 128*mib))
	if o.verify {
		fmt.Println("target verified equal to source (SHA-256) after the full and the incremental copies")
	}
	return nil
}

// median is the median of ds (the upper one of an even count).
func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}

// verdict says whether a goal was met.
func verdict(ok bool) string {
	if ok {
		return "OK"
	}
	return "MISSED"
}

// pickDir returns dir, or /dev/shm when it has need bytes free, else /tmp.
func pickDir(dir string, need int64) (string, error) {
	if dir != "" {
		return dir, nil
	}
	var st syscall.Statfs_t
	if err := syscall.Statfs("/dev/shm", &st); err == nil && int64(st.Bavail)*st.Bsize >= need {
		return "/dev/shm", nil
	}
	return os.TempDir(), nil
}

// uptime is the load average line of uptime(1).
func uptime() string {
	out, err := exec.Command("uptime").Output()
	if err != nil {
		return "unknown: " + err.Error()
	}
	return strings.TrimSpace(string(out))
}

// fillRandom writes size bytes of incompressible data with four zero
// regions of 16 MiB.
func fillRandom(path string, size int64) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	r := rand.New(rand.NewPCG(1, 2))
	block := make([]byte, 4*mib)
	for off := int64(0); off < size; off += int64(len(block)) {
		n := min(int64(len(block)), size-off)
		if (off/(16*mib))%64 == 5 && off/(16*mib) < 64*4 {
			clear(block)
		} else {
			for i := 0; i < len(block); i += 8 {
				binary.LittleEndian.PutUint64(block[i:], r.Uint64())
			}
		}
		if _, err := f.Write(block[:n]); err != nil {
			return err
		}
	}
	return f.Close()
}

// scatter picks non-overlapping extents of 64 KiB to 1 MiB, 4 KiB
// aligned, over fraction of a disk of size bytes.
func scatter(size int64, fraction float64, r *rand.Rand) []blocksync.Extent {
	want := int64(fraction * float64(size))
	// Cut the disk into slots of 1 MiB and pick slots at random.
	slots := size / mib
	perm := r.Perm(int(slots))
	var out []blocksync.Extent
	var got int64
	for _, s := range perm {
		if got >= want {
			break
		}
		l := (64<<10 + r.Int64N(1*mib-64<<10+1)) &^ 4095
		l = min(l, want-got)
		o := int64(s)*mib + (r.Int64N(mib-l+1) &^ 4095)
		out = append(out, blocksync.Extent{Offset: o, Length: l})
		got += l
	}
	return out
}

// rewrite writes new random data into the extents of the file.
func rewrite(path string, ext []blocksync.Extent, r *rand.Rand) error {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	buf := make([]byte, mib)
	for _, e := range ext {
		b := buf[:e.Length]
		for i := 0; i+8 <= len(b); i += 8 {
			binary.LittleEndian.PutUint64(b[i:], r.Uint64())
		}
		if _, err := f.WriteAt(b, e.Offset); err != nil {
			return err
		}
	}
	return f.Close()
}

// same checks that two files have the same SHA-256.
func same(a, b string) error {
	ha, err := sum(a)
	if err != nil {
		return err
	}
	hb, err := sum(b)
	if err != nil {
		return err
	}
	if ha != hb {
		return fmt.Errorf("target %s differs from source %s (sha256 %s vs %s)", b, a, hb, ha)
	}
	return nil
}

// sum is the hex SHA-256 of a file.
func sum(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return fmt.Sprintf("%x", h.Sum(nil)), nil
}

// connectTime is the best of three connections to uri.
func connectTime(ctx context.Context, uri string) (time.Duration, error) {
	best := time.Duration(1<<63 - 1)
	for range 3 {
		t := time.Now()
		h, err := nbd.Connect(ctx, uri)
		if err != nil {
			return 0, err
		}
		best = min(best, time.Since(t))
		if err := h.Close(); err != nil {
			return 0, err
		}
	}
	return best, nil
}
