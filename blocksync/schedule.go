package blocksync

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/ossea/unifiedfailover/nbd"
)

// pair is one connection to a disk's source and one to its target.
type pair struct{ src, dst *nbd.Handle }

// close closes both connections.
func (p pair) close() {
	if p.src != nil {
		_ = p.src.Close()
	}
	if p.dst != nil {
		_ = p.dst.Close()
	}
}

// diskRun is the state of one disk during a Copy.
type diskRun struct {
	disk   Disk
	ranges []Extent
	total  int64

	copied, zeroed atomic.Int64
	duration       atomic.Int64 // nanoseconds, set when finished

	// Guarded by scheduler.mu.
	cur      cursor
	active   int    // workers on the disk
	conns    int    // workers that served the disk
	maxConns int    // most workers on the disk at once
	spares   []pair // connected pairs not used by a worker
}

// result is the disk's DiskResult.
func (d *diskRun) result() DiskResult {
	return DiskResult{
		Name:        d.disk.Name,
		BytesCopied: d.copied.Load(),
		BytesZeroed: d.zeroed.Load(),
		BytesTotal:  d.total,
		Ranges:      len(d.ranges),
		Connections: d.conns,
		Duration:    time.Duration(d.duration.Load()),
	}
}

// closeSpares closes the unused connections. The caller holds no lock;
// it is called only when no worker runs.
func (d *diskRun) closeSpares() {
	for _, p := range d.spares {
		p.close()
	}
	d.spares = nil
}

// scheduler shares the disks among the workers and hands out pieces.
type scheduler struct {
	mu    sync.Mutex
	disks []*diskRun
}

// acquire picks a disk for a worker: one with pieces left and room for
// another connection, the one with the fewest workers (then the most
// ranges left). It returns nil when there is none, and a spare connection
// of the disk when it has one.
func (s *scheduler) acquire() (*diskRun, pair, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var best *diskRun
	for _, d := range s.disks {
		if d.cur.done() || d.active >= d.maxConns {
			continue
		}
		if best == nil || d.active < best.active ||
			d.active == best.active && len(d.ranges)-d.cur.i > len(best.ranges)-best.cur.i {
			best = d
		}
	}
	if best == nil {
		return nil, pair{}, false
	}
	best.active++
	best.conns++
	if n := len(best.spares); n > 0 {
		p := best.spares[n-1]
		best.spares = best.spares[:n-1]
		return best, p, true
	}
	return best, pair{}, false
}

// next hands out the next piece of d, at most size bytes.
func (s *scheduler) next(d *diskRun, size int) (int64, int, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return d.cur.next(size)
}

// release says a worker left d after its requests completed. It reports
// whether it was the last one on a finished disk, which must then flush
// the target.
func (s *scheduler) release(d *diskRun) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	d.active--
	return d.active == 0 && d.cur.done()
}
