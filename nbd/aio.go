package nbd

/*
#include "shim.h"
*/
import "C"

import (
	"context"
	"fmt"
	"math"
	"time"
)

// Cookie identifies an asynchronous request on its Handle; it is positive.
type Cookie int64

// awaitSlice is how long one poll in Await lasts before the context is
// checked again.
const awaitSlice = 100 * time.Millisecond

// checkBuffer validates an asynchronous read or write of n bytes of buf.
func checkBuffer(op string, buf *Buffer, n int, off int64) error {
	switch {
	case buf == nil || buf.p == nil:
		return fmt.Errorf("nbd: %s %d bytes at offset %d: buffer is nil or freed", op, n, off)
	case n <= 0 || n > buf.n:
		return fmt.Errorf("nbd: %s %d bytes at offset %d: count must be in 1..%d (buffer size)", op, n, off, buf.n)
	case off < 0:
		return fmt.Errorf("nbd: %s %d bytes at offset %d: negative offset", op, n, off)
	}
	return nil
}

// AioPread starts reading n bytes at offset off into the first n bytes of
// buf. The buffer must not be touched, nor freed, until the request is
// retired by AioCommandCompleted (or the Handle is closed).
func (h *Handle) AioPread(buf *Buffer, n int, off int64) (Cookie, error) {
	if h.h == nil {
		return 0, ErrClosed
	}
	if err := checkBuffer("aio pread", buf, n, off); err != nil {
		return 0, err
	}
	var ce C.uf_err
	c := C.uf_aio_pread(h.h, buf.p, C.size_t(n), C.uint64_t(off), &ce)
	if c == -1 {
		return 0, newError(fmt.Sprintf("start pread of %d bytes at offset %d", n, off), &ce)
	}
	buf.acquire()
	h.inflight[Cookie(c)] = buf
	return Cookie(c), nil
}

// AioPwrite starts writing the first n bytes of buf at offset off. The
// buffer must not be touched, nor freed, until the request is retired by
// AioCommandCompleted (or the Handle is closed).
func (h *Handle) AioPwrite(buf *Buffer, n int, off int64) (Cookie, error) {
	if h.h == nil {
		return 0, ErrClosed
	}
	if err := checkBuffer("aio pwrite", buf, n, off); err != nil {
		return 0, err
	}
	var ce C.uf_err
	c := C.uf_aio_pwrite(h.h, buf.p, C.size_t(n), C.uint64_t(off), &ce)
	if c == -1 {
		return 0, newError(fmt.Sprintf("start pwrite of %d bytes at offset %d", n, off), &ce)
	}
	buf.acquire()
	h.inflight[Cookie(c)] = buf
	return Cookie(c), nil
}

// AioZero starts writing length zero bytes at offset off (at most 4 GiB - 1
// in one request).
func (h *Handle) AioZero(off, length int64) (Cookie, error) {
	if h.h == nil {
		return 0, ErrClosed
	}
	if off < 0 || length <= 0 {
		return 0, fmt.Errorf("nbd: aio zero %d bytes at offset %d: offset must be >= 0 and length > 0", length, off)
	}
	var ce C.uf_err
	c := C.uf_aio_zero(h.h, C.uint64_t(length), C.uint64_t(off), &ce)
	if c == -1 {
		return 0, newError(fmt.Sprintf("start zero of %d bytes at offset %d", length, off), &ce)
	}
	return Cookie(c), nil
}

// AioFlush starts a flush of all writes completed so far.
func (h *Handle) AioFlush() (Cookie, error) {
	if h.h == nil {
		return 0, ErrClosed
	}
	var ce C.uf_err
	c := C.uf_aio_flush(h.h, &ce)
	if c == -1 {
		return 0, newError("start flush", &ce)
	}
	return Cookie(c), nil
}

// AioCommandCompleted reports whether request c has completed. When it
// returns true, or an error saying how the request failed, the request is
// retired: its cookie is no longer valid and its Buffer is free to reuse.
// It does not wait; see Poll and Await.
func (h *Handle) AioCommandCompleted(c Cookie) (bool, error) {
	if h.h == nil {
		return false, ErrClosed
	}
	var ce C.uf_err
	r := C.uf_aio_command_completed(h.h, C.int64_t(c), &ce)
	if r == 0 {
		return false, nil
	}
	if b, ok := h.inflight[c]; ok {
		b.release()
		delete(h.inflight, c)
	}
	if r == -1 {
		return true, newError(fmt.Sprintf("request %d", c), &ce)
	}
	return true, nil
}

// AioPeekCommandCompleted returns the cookie of a request that has
// completed but is not retired yet, or 0 when requests are in flight but
// none has completed. It is an error when no request is in flight. The
// request must still be retired with AioCommandCompleted.
func (h *Handle) AioPeekCommandCompleted() (Cookie, error) {
	if h.h == nil {
		return 0, ErrClosed
	}
	var ce C.uf_err
	c := C.uf_aio_peek_command_completed(h.h, &ce)
	if c == -1 {
		return 0, newError("peek at completed requests", &ce)
	}
	return Cookie(c), nil
}

// InFlight is the number of requests still waiting for the server's reply
// (completed but unretired requests are not counted).
func (h *Handle) InFlight() int {
	if h.h == nil {
		return 0
	}
	return int(C.uf_aio_in_flight(h.h))
}

// Poll waits up to timeout (forever when negative) for the connection to
// make progress: requests sent, replies received. It returns at once when
// no request is in flight, since nothing could happen.
func (h *Handle) Poll(timeout time.Duration) error {
	if h.h == nil {
		return ErrClosed
	}
	if h.InFlight() == 0 {
		return nil
	}
	ms := -1
	if timeout >= 0 {
		// Round up, so that a positive timeout never becomes "do not wait".
		d := timeout / time.Millisecond
		if timeout%time.Millisecond != 0 {
			d++
		}
		ms = int(min(d, math.MaxInt32))
	}
	var ce C.uf_err
	if C.uf_poll(h.h, C.int(ms), &ce) == -1 {
		return newError("poll", &ce)
	}
	return nil
}

// Await polls until request c completes, retires it and returns its error.
// It gives up, leaving the request in flight, when ctx is done.
func (h *Handle) Await(ctx context.Context, c Cookie) error {
	for {
		done, err := h.AioCommandCompleted(c)
		if done || err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("nbd: wait for request %d: %w", c, err)
		}
		if err := h.Poll(awaitSlice); err != nil {
			return err
		}
	}
}
