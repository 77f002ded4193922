package blocksync

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"syscall"
	"time"

	"github.com/ossea/unifiedfailover/errs"
	"github.com/ossea/unifiedfailover/nbd"
)

// pollSlice is the longest wait for a connection before the context is
// checked again.
const pollSlice = 100 * time.Millisecond

// Slot states.
const (
	idle = iota
	reading
	writing
)

// slot is one buffer going round a read on the source and a write or zero
// request on the target.
type slot struct {
	buf    *nbd.Buffer
	state  int
	off    int64
	n      int
	zero   bool // the write is a zero request
	cookie nbd.Cookie
}

// worker copies pieces with its own buffers, one disk at a time.
type worker struct {
	cfg   Config
	sched *scheduler
	rep   *reporter
	start time.Time
	slots []*slot
	zeros []byte // RequestSize zero bytes, read only
}

// newPool allocates the workers and their buffers: as many workers as
// the budget and the disks allow, and MaxMemory/RequestSize buffers at
// most in all.
func newPool(cfg Config, runs []*diskRun) ([]*worker, error) {
	conns := 0
	for _, d := range runs {
		if d.total > 0 {
			conns += d.maxConns
		}
	}
	buffers := int(min(int64(cfg.Concurrency*cfg.InFlight), cfg.MaxMemory/int64(cfg.RequestSize)))
	n := min(cfg.Concurrency, conns, buffers)
	zeros := make([]byte, cfg.RequestSize)
	pool := make([]*worker, n)
	for i := range pool {
		w := &worker{zeros: zeros}
		for range buffers / n {
			b, err := nbd.NewBuffer(cfg.RequestSize)
			if err != nil {
				_ = freeBuffers(pool)
				return nil, fmt.Errorf("blocksync: allocate buffers: %w", err)
			}
			w.slots = append(w.slots, &slot{buf: b})
		}
		pool[i] = w
	}
	return pool, nil
}

// freeBuffers frees the buffers of the workers, whose connections must be
// closed.
func freeBuffers(pool []*worker) error {
	var all []error
	for _, w := range pool {
		if w == nil {
			continue
		}
		for _, s := range w.slots {
			all = append(all, s.buf.Free())
		}
	}
	return errors.Join(all...)
}

// run copies disks until none has pieces left or an error occurs.
func (w *worker) run(ctx context.Context) error {
	for {
		d, p, ok := w.sched.acquire()
		if d == nil {
			return nil
		}
		if !ok {
			var err error
			if p, err = connectPair(ctx, w.cfg, d.disk); err != nil {
				w.sched.release(d)
				return err
			}
		}
		err := w.copyDisk(ctx, d, p)
		last := w.sched.release(d)
		if err == nil && last {
			err = w.finish(ctx, d, p)
		}
		p.close()
		if err != nil {
			return err
		}
	}
}

// finish flushes the target of a disk whose pieces were all copied and
// makes the disk's progress report.
func (w *worker) finish(ctx context.Context, d *diskRun, p pair) error {
	if w.cfg.Flush {
		c, err := p.dst.AioFlush()
		if err == nil {
			err = p.dst.Await(ctx, c)
		}
		if err != nil {
			return classify(fmt.Errorf("blocksync: disk %q: flush target: %w", d.disk.Name, err))
		}
	}
	d.duration.Store(int64(time.Since(w.start)))
	w.rep.report(d.disk.Name, d.copied.Load()+d.zeroed.Load(), d.total)
	return nil
}

// copyDisk copies pieces of d until it has none left and every request
// has completed. On error or when ctx is done it returns at once, leaving
// requests in flight: the caller closes the connections.
func (w *worker) copyDisk(ctx context.Context, d *diskRun, p pair) error {
	free := make([]*slot, 0, len(w.slots))
	free = append(free, w.slots...)
	var srcOut, dstOut int // requests started and not retired
	more := true
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		for more && len(free) > 0 {
			off, n, ok := w.sched.next(d, w.cfg.RequestSize)
			if !ok {
				more = false
				break
			}
			s := free[len(free)-1]
			free = free[:len(free)-1]
			c, err := p.src.AioPread(s.buf, n, off)
			if err != nil {
				return w.ioError(d, "read", n, off, err)
			}
			s.state, s.off, s.n, s.cookie = reading, off, n, c
			srcOut++
		}
		if srcOut+dstOut == 0 {
			return nil
		}
		progressed := false
		for srcOut > 0 {
			c, err := p.src.AioPeekCommandCompleted()
			if err != nil {
				return classify(fmt.Errorf("blocksync: disk %q: source: %w", d.disk.Name, err))
			}
			if c == 0 {
				break
			}
			s := w.find(reading, c)
			_, err = p.src.AioCommandCompleted(c)
			srcOut--
			if err != nil {
				return w.ioError(d, "read", s.n, s.off, err)
			}
			if err := w.write(d, p, s); err != nil {
				return err
			}
			dstOut++
			progressed = true
		}
		for dstOut > 0 {
			c, err := p.dst.AioPeekCommandCompleted()
			if err != nil {
				return classify(fmt.Errorf("blocksync: disk %q: target: %w", d.disk.Name, err))
			}
			if c == 0 {
				break
			}
			s := w.find(writing, c)
			_, err = p.dst.AioCommandCompleted(c)
			dstOut--
			if err != nil {
				op := "write"
				if s.zero {
					op = "zero"
				}
				return w.ioError(d, op, s.n, s.off, err)
			}
			if s.zero {
				d.zeroed.Add(int64(s.n))
			} else {
				d.copied.Add(int64(s.n))
			}
			w.rep.add(int64(s.n))
			s.state = idle
			free = append(free, s)
			progressed = true
		}
		if !progressed {
			if err := w.wait(d, p); err != nil {
				return err
			}
		}
	}
}

// write starts the write (or zero request) of a slot whose read completed.
func (w *worker) write(d *diskRun, p pair, s *slot) error {
	data := s.buf.Bytes()[:s.n]
	s.zero = w.cfg.ZeroDetect && bytes.Equal(data, w.zeros[:s.n])
	var c nbd.Cookie
	var err error
	if s.zero {
		c, err = p.dst.AioZero(s.off, int64(s.n))
	} else {
		c, err = p.dst.AioPwrite(s.buf, s.n, s.off)
	}
	if err != nil {
		op := "write"
		if s.zero {
			op = "zero"
		}
		return w.ioError(d, op, s.n, s.off, err)
	}
	s.state, s.cookie = writing, c
	return nil
}

// wait polls both connections until one of them makes progress.
func (w *worker) wait(d *diskRun, p pair) error {
	if err := nbd.PollPair(p.src, p.dst, pollSlice); err != nil {
		return classify(fmt.Errorf("blocksync: disk %q: poll: %w", d.disk.Name, err))
	}
	return nil
}

// find returns the slot in state whose request is c.
func (w *worker) find(state int, c nbd.Cookie) *slot {
	for _, s := range w.slots {
		if s.state == state && s.cookie == c {
			return s
		}
	}
	panic(fmt.Sprintf("blocksync: completed request %d is not ours", c))
}

// ioError wraps the failure of a request with the disk and offset.
func (w *worker) ioError(d *diskRun, op string, n int, off int64, err error) error {
	side := "source"
	if op != "read" {
		side = "target"
	}
	return classify(fmt.Errorf("blocksync: disk %q: %s %d bytes at offset %d on %s: %w", d.disk.Name, op, n, off, side, err))
}

// classify marks errors of a lost connection transient.
func classify(err error) error {
	if errs.IsTransient(err) {
		return err
	}
	for _, e := range []error{syscall.ENOTCONN, syscall.ECONNRESET, syscall.EPIPE, syscall.ESHUTDOWN, syscall.ECONNABORTED} {
		if errors.Is(err, e) {
			return errs.Transient(err, "")
		}
	}
	return err
}
