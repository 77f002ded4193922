package blocksync

import (
	"sync"
	"sync/atomic"
	"time"
)

// Progress is a progress report.
type Progress struct {
	// BytesDone is how many bytes of BytesTotal were written or zeroed on
	// the target; it never decreases from one report to the next.
	BytesDone, BytesTotal int64
	// BytesPerSecond is the average throughput since the copy started.
	BytesPerSecond float64
	// Disk is empty for a report on all disks together. When a disk
	// finishes, one report with its name gives its own figures.
	Disk string
}

// reporter calls the progress callback: every interval for all disks,
// once per finished disk, and once at the end. Calls never overlap.
type reporter struct {
	fn    func(Progress)
	total int64
	start time.Time
	done  atomic.Int64 // bytes done over all disks

	mu   sync.Mutex // serializes calls to fn
	stop chan struct{}
	wg   sync.WaitGroup
}

// newReporter starts reporting every interval; fn may be nil.
func newReporter(fn func(Progress), total int64, every time.Duration) *reporter {
	r := &reporter{fn: fn, total: total, start: time.Now(), stop: make(chan struct{})}
	if fn == nil {
		return r
	}
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		// A timer restarted after each report, not a ticker: a late tick
		// must not bring the next report closer than every.
		t := time.NewTimer(every)
		defer t.Stop()
		for {
			select {
			case <-r.stop:
				return
			case <-t.C:
				r.report("", r.done.Load(), r.total)
				t.Reset(every)
			}
		}
	}()
	return r
}

// add counts n more bytes done.
func (r *reporter) add(n int64) { r.done.Add(n) }

// report calls fn once.
func (r *reporter) report(disk string, done, total int64) {
	if r.fn == nil {
		return
	}
	p := Progress{BytesDone: done, BytesTotal: total, Disk: disk}
	if s := time.Since(r.start).Seconds(); s > 0 {
		p.BytesPerSecond = float64(done) / s
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.fn(p)
}

// finish stops the periodic reports and makes the final one.
func (r *reporter) finish() {
	close(r.stop)
	r.wg.Wait()
	r.report("", r.done.Load(), r.total)
}
