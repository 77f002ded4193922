// Package nbd is a small cgo binding of libnbd, the NBD client library.
//
// A Handle is one connection to one NBD export. It offers synchronous
// requests (Pread, Pwrite, Zero, Flush) and asynchronous ones (AioPread,
// AioPwrite, AioZero, AioFlush) that keep many requests in flight on one
// connection; asynchronous requests read and write C-allocated Buffers so
// that their memory cannot move while libnbd uses it, and they are retired
// by polling (Poll, AioCommandCompleted, AioPeekCommandCompleted): no
// callback ever runs from C into Go.
//
// A Handle is not safe for concurrent use by several goroutines; use one
// Handle per goroutine (NBD servers that advertise multi-conn, see
// CanMultiConn, serve several connections consistently).
package nbd

/*
#cgo pkg-config: libnbd
#include <stdlib.h>
#include "shim.h"
*/
import "C"

import (
	"context"
	"fmt"
	"runtime"
	"time"
	"unsafe"

	"github.com/ossea/unifiedfailover/errs"
)

// connectSlice is how long one poll of a connection in progress lasts
// before the context is checked again.
const connectSlice = 50 * time.Millisecond

// Handle is a connection to one NBD export. It is not safe for concurrent
// use by several goroutines. Every method returns ErrClosed after Close.
type Handle struct {
	h   *C.struct_nbd_handle
	uri string
	// inflight holds the Buffer of each asynchronous read or write that
	// has not been retired yet, so that it cannot be freed under libnbd.
	inflight map[Cookie]*Buffer
	// cleanup closes a forgotten handle once it is unreachable.
	cleanup runtime.Cleanup
}

// Connect opens a connection to the export named by uri, such as
// "nbd://host:10809/export" or "nbd+unix:///?socket=/path/to.sock", and
// completes the NBD handshake. It gives up when ctx is done. Connection
// failures are marked transient (errs.IsTransient); the libnbd *Error is
// in the chain.
func Connect(ctx context.Context, uri string) (*Handle, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("nbd: connect to %s: %w", uri, err)
	}
	var ce C.uf_err
	h := C.uf_create(&ce)
	if h == nil {
		return nil, newError("create handle", &ce)
	}
	curi := C.CString(uri)
	defer C.free(unsafe.Pointer(curi))
	if C.uf_aio_connect_uri(h, curi, &ce) == -1 {
		err := newError("connect to "+uri, &ce)
		C.nbd_close(h)
		return nil, errs.Transient(err, "")
	}
	for {
		slice := connectSlice
		if d, ok := ctx.Deadline(); ok {
			if left := time.Until(d); left < slice {
				slice = max(left, time.Millisecond)
			}
		}
		switch C.uf_connect_step(h, C.int(slice.Milliseconds()), &ce) {
		case 1:
			hd := &Handle{h: h, uri: uri, inflight: map[Cookie]*Buffer{}}
			hd.cleanup = runtime.AddCleanup(hd, func(h *C.struct_nbd_handle) { C.nbd_close(h) }, h)
			return hd, nil
		case -1:
			err := newError("connect to "+uri, &ce)
			C.nbd_close(h)
			return nil, errs.Transient(err, "")
		}
		if err := ctx.Err(); err != nil {
			C.nbd_close(h)
			return nil, fmt.Errorf("nbd: connect to %s: %w", uri, err)
		}
	}
}

// URI is the address the handle was connected to.
func (h *Handle) URI() string { return h.uri }

// Close disconnects from the server and frees the handle. Requests still in
// flight are abandoned and their Buffers released (they may be freed
// afterwards). Close is idempotent; it returns an error only when the
// polite disconnect failed, and the handle is freed even then.
func (h *Handle) Close() error {
	if h.h == nil {
		return nil
	}
	h.cleanup.Stop()
	var ce C.uf_err
	r := C.uf_close(h.h, &ce)
	h.h = nil
	for c, b := range h.inflight {
		b.release()
		delete(h.inflight, c)
	}
	if r == -1 {
		return newError("disconnect from "+h.uri, &ce)
	}
	return nil
}

// Size is the size of the export in bytes.
func (h *Handle) Size() (int64, error) {
	if h.h == nil {
		return 0, ErrClosed
	}
	var ce C.uf_err
	n := C.uf_get_size(h.h, &ce)
	if n == -1 {
		return 0, newError("get size", &ce)
	}
	return int64(n), nil
}

// CanZero reports whether the server supports efficient zeroing (Zero).
func (h *Handle) CanZero() (bool, error) {
	if h.h == nil {
		return false, ErrClosed
	}
	var ce C.uf_err
	r := C.uf_can_zero(h.h, &ce)
	if r == -1 {
		return false, newError("check zero support", &ce)
	}
	return r == 1, nil
}

// CanMultiConn reports whether the server promises that several
// connections to the same export see each other's flushed writes, so that
// a copy may be spread over several Handles.
func (h *Handle) CanMultiConn() (bool, error) {
	if h.h == nil {
		return false, ErrClosed
	}
	var ce C.uf_err
	r := C.uf_can_multi_conn(h.h, &ce)
	if r == -1 {
		return false, newError("check multi-conn support", &ce)
	}
	return r == 1, nil
}
