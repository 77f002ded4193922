package nbd

/*
#include "shim.h"
*/
import "C"

import (
	"fmt"
	"unsafe"
)

// Largest single requests: synchronous calls split bigger ones. libnbd
// refuses reads and writes over 64 MiB and NBD counts are 32-bit.
const (
	maxIO   = 32 << 20
	maxZero = 1 << 30
)

// Pread reads len(buf) bytes at offset off, in several requests when buf
// is large. It is an error to read past the end of the export.
func (h *Handle) Pread(buf []byte, off int64) error {
	if h.h == nil {
		return ErrClosed
	}
	if off < 0 {
		return fmt.Errorf("nbd: pread at negative offset %d", off)
	}
	for len(buf) > 0 {
		n := min(len(buf), maxIO)
		var ce C.uf_err
		// The slice holds no Go pointers and C keeps it only for the call.
		if C.uf_pread(h.h, unsafe.Pointer(&buf[0]), C.size_t(n), C.uint64_t(off), &ce) == -1 {
			return newError(fmt.Sprintf("pread %d bytes at offset %d", n, off), &ce)
		}
		buf, off = buf[n:], off+int64(n)
	}
	return nil
}

// Pwrite writes buf at offset off, in several requests when buf is large.
// It returns once the server has acknowledged the write; the data is
// durable only after Flush.
func (h *Handle) Pwrite(buf []byte, off int64) error {
	if h.h == nil {
		return ErrClosed
	}
	if off < 0 {
		return fmt.Errorf("nbd: pwrite at negative offset %d", off)
	}
	for len(buf) > 0 {
		n := min(len(buf), maxIO)
		var ce C.uf_err
		if C.uf_pwrite(h.h, unsafe.Pointer(&buf[0]), C.size_t(n), C.uint64_t(off), &ce) == -1 {
			return newError(fmt.Sprintf("pwrite %d bytes at offset %d", n, off), &ce)
		}
		buf, off = buf[n:], off+int64(n)
	}
	return nil
}

// Zero writes length zero bytes at offset off, in several requests when
// length is large; the server may punch a hole. See CanZero.
func (h *Handle) Zero(off, length int64) error {
	if h.h == nil {
		return ErrClosed
	}
	if off < 0 || length < 0 {
		return fmt.Errorf("nbd: zero %d bytes at offset %d: negative offset or length", length, off)
	}
	for length > 0 {
		n := min(length, maxZero)
		var ce C.uf_err
		if C.uf_zero(h.h, C.uint64_t(n), C.uint64_t(off), &ce) == -1 {
			return newError(fmt.Sprintf("zero %d bytes at offset %d", n, off), &ce)
		}
		off, length = off+n, length-n
	}
	return nil
}

// Flush asks the server to make all completed writes durable.
func (h *Handle) Flush() error {
	if h.h == nil {
		return ErrClosed
	}
	var ce C.uf_err
	if C.uf_flush(h.h, &ce) == -1 {
		return newError("flush", &ce)
	}
	return nil
}
