package nbd

/*
#include <stdlib.h>
#include "shim.h"
*/
import "C"

import (
	"errors"
	"fmt"
	"syscall"
	"unsafe"
)

// ErrClosed is returned by every method of a Handle after Close.
var ErrClosed = errors.New("nbd: handle is closed")

// Error is a failure reported by libnbd. It carries libnbd's message and
// errno, read in the same C call as the failing libnbd call, and what was
// being done.
type Error struct {
	// Op says what was being done, such as "pread 4096 bytes at offset 0".
	Op string
	// Msg is libnbd's error message (nbd_get_error).
	Msg string
	// Errno is libnbd's errno (nbd_get_errno); zero when libnbd has none.
	Errno syscall.Errno
}

// Error implements error.
func (e *Error) Error() string {
	s := "nbd: " + e.Op + ": " + e.Msg
	if e.Errno != 0 {
		s += fmt.Sprintf(" (errno %d %s)", int(e.Errno), errnoName(e.Errno))
	}
	return s
}

// Unwrap returns the errno, so that errors.Is(err, syscall.ENOENT) and
// friends work; it returns nil when there is no errno.
func (e *Error) Unwrap() error {
	if e.Errno == 0 {
		return nil
	}
	return e.Errno
}

// errnoName is the symbolic name of the common errnos, for messages.
func errnoName(n syscall.Errno) string {
	switch n {
	case syscall.EINVAL:
		return "EINVAL"
	case syscall.ENOENT:
		return "ENOENT"
	case syscall.EIO:
		return "EIO"
	case syscall.ENOTCONN:
		return "ENOTCONN"
	case syscall.ECONNREFUSED:
		return "ECONNREFUSED"
	case syscall.ENOSPC:
		return "ENOSPC"
	case syscall.EPERM:
		return "EPERM"
	case syscall.ENOTSUP:
		return "ENOTSUP"
	case syscall.ERANGE:
		return "ERANGE"
	default:
		return n.Error()
	}
}

// newError turns the error captured by a C helper into an *Error and frees
// the captured message.
func newError(op string, ce *C.uf_err) *Error {
	e := &Error{Op: op, Errno: syscall.Errno(ce.errnum)}
	if ce.msg != nil {
		e.Msg = C.GoString(ce.msg)
		C.free(unsafe.Pointer(ce.msg))
		ce.msg = nil
	} else {
		e.Msg = "unknown libnbd error"
	}
	return e
}
