package blocksync

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/ossea/unifiedfailover/errs"
	"github.com/ossea/unifiedfailover/nbd"
)

// Result says what a Copy did. On error it counts what was done before
// the copy stopped.
type Result struct {
	// BytesCopied were written as data, BytesZeroed with zero requests;
	// after a successful copy they add up to BytesTotal, the size of the
	// coalesced ranges (the extents plus the gaps coalesced with them).
	BytesCopied, BytesZeroed, BytesTotal int64
	// Duration is the time Copy took, connections and flushes included.
	Duration time.Duration
	// PerDisk has the figures of each disk, in the order of the disks.
	PerDisk []DiskResult
}

// DiskResult says what a Copy did to one disk.
type DiskResult struct {
	// Name is the disk's name.
	Name string
	// BytesCopied, BytesZeroed and BytesTotal are as in Result.
	BytesCopied, BytesZeroed, BytesTotal int64
	// Ranges is the number of ranges after coalescing.
	Ranges int
	// Connections is the number of connection pairs that served the disk
	// (more than one only for a target that advertises multi-conn).
	Connections int
	// Duration is the time from the start of the Copy until the disk was
	// copied and flushed.
	Duration time.Duration
}

// Copy copies the extents of each disk from its source export to its
// target export, all disks in parallel under cfg.Concurrency, and flushes
// each target at the end when cfg.Flush is set. progress, which may be
// nil, is called at most every cfg.ProgressEvery with the bytes done over
// all disks, once when a disk finishes, and once at the end; its calls
// never overlap and it must not block for long.
//
// When ctx is done Copy stops within a fraction of a second, abandons the
// requests in flight and returns ctx's error. Errors say which disk and
// offset failed; failures to connect or lost connections are transient
// (errs.IsTransient), bad extents and configurations are InvalidArgument.
func Copy(ctx context.Context, cfg Config, disks []Disk, progress func(Progress)) (Result, error) {
	start := time.Now()
	cfg = cfg.WithDefaults()
	if err := cfg.validate(); err != nil {
		return Result{}, err
	}
	if err := checkDisks(disks); err != nil {
		return Result{}, err
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)

	runs := make([]*diskRun, len(disks))
	defer func() {
		for _, d := range runs {
			if d != nil {
				d.closeSpares()
			}
		}
	}()
	// Connections can be slow to set up: prepare the disks in parallel.
	perr := make([]error, len(disks))
	var pwg sync.WaitGroup
	for i, d := range disks {
		pwg.Go(func() { runs[i], perr[i] = prepare(ctx, cfg, d) })
	}
	pwg.Wait()
	if err := errors.Join(perr...); err != nil {
		return Result{Duration: time.Since(start)}, err
	}
	var res Result
	for _, r := range runs {
		res.BytesTotal += r.total
	}

	pool, err := newPool(cfg, runs)
	if err != nil {
		return Result{Duration: time.Since(start)}, err
	}
	rep := newReporter(progress, res.BytesTotal, cfg.ProgressEvery)
	s := &scheduler{disks: runs}
	var wg sync.WaitGroup
	for _, w := range pool {
		w.cfg, w.sched, w.rep, w.start = cfg, s, rep, start
		wg.Go(func() {
			if err := w.run(ctx); err != nil {
				cancel(err)
			}
		})
	}
	wg.Wait()
	rep.finish()
	ferr := freeBuffers(pool)

	for _, d := range runs {
		dr := d.result()
		res.PerDisk = append(res.PerDisk, dr)
		res.BytesCopied += dr.BytesCopied
		res.BytesZeroed += dr.BytesZeroed
	}
	res.Duration = time.Since(start)
	if err := context.Cause(ctx); err != nil {
		if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
			err = fmt.Errorf("blocksync: copy: %w", err)
		}
		return res, err
	}
	return res, ferr
}

// checkDisks checks the disks' names and URIs.
func checkDisks(disks []Disk) error {
	seen := map[string]bool{}
	for i, d := range disks {
		switch {
		case d.SourceURI == "" || d.TargetURI == "":
			return errs.New(errs.InvalidArgument, "blocksync: disk %d (%q): source and target URIs are required", i, d.Name)
		case seen[d.Name]:
			return errs.New(errs.InvalidArgument, "blocksync: disk name %q is used twice", d.Name)
		}
		seen[d.Name] = true
	}
	return nil
}

// connectPair connects to a disk's source and target.
func connectPair(ctx context.Context, cfg Config, d Disk) (pair, error) {
	ctx, cancel := context.WithTimeout(ctx, cfg.ConnectTimeout)
	defer cancel()
	// Both at once: a server may take a while to open an export.
	var p pair
	var serr, derr error
	var wg sync.WaitGroup
	wg.Go(func() { p.src, serr = nbd.Connect(ctx, d.SourceURI) })
	p.dst, derr = nbd.Connect(ctx, d.TargetURI)
	wg.Wait()
	if serr != nil {
		serr = fmt.Errorf("blocksync: disk %q: connect to source: %w", d.Name, serr)
	}
	if derr != nil {
		derr = fmt.Errorf("blocksync: disk %q: connect to target: %w", d.Name, derr)
	}
	if err := errors.Join(serr, derr); err != nil {
		p.close()
		return pair{}, err
	}
	return p, nil
}

// prepare connects to a disk, checks its extents against the sizes of the
// exports and plans its ranges. The connection is kept for a worker.
func prepare(ctx context.Context, cfg Config, d Disk) (*diskRun, error) {
	p, err := connectPair(ctx, cfg, d)
	if err != nil {
		return nil, err
	}
	r := &diskRun{disk: d, spares: []pair{p}, maxConns: 1}
	fail := func(err error) (*diskRun, error) {
		r.closeSpares()
		return nil, err
	}
	srcSize, err := p.src.Size()
	if err != nil {
		return fail(classify(fmt.Errorf("blocksync: disk %q: size of source: %w", d.Name, err)))
	}
	dstSize, err := p.dst.Size()
	if err != nil {
		return fail(classify(fmt.Errorf("blocksync: disk %q: size of target: %w", d.Name, err)))
	}
	ext := d.Extents
	if ext == nil {
		if dstSize < srcSize {
			return fail(errs.New(errs.InvalidArgument,
				"blocksync: disk %q: target (%d bytes) is smaller than source (%d bytes)", d.Name, dstSize, srcSize))
		}
		ext = []Extent{{0, srcSize}}
	}
	if r.ranges, err = coalesce(d.Name, ext, min(srcSize, dstSize), cfg.CoalesceGap); err != nil {
		return fail(err)
	}
	r.cur.ranges, r.total = r.ranges, total(r.ranges)
	multi, err := p.dst.CanMultiConn()
	if err != nil {
		return fail(classify(fmt.Errorf("blocksync: disk %q: multi-conn of target: %w", d.Name, err)))
	}
	if multi {
		// A connection costs a round of handshakes, and more time on some
		// servers: open one per BytesPerConnection of work at most.
		per := cfg.BytesPerConnection
		r.maxConns = int(min(int64(cfg.ConnectionsPerDisk), max(1, (r.total+per-1)/per)))
	}
	return r, nil
}
