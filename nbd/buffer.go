package nbd

/*
#include <stdlib.h>
*/
import "C"

import (
	"fmt"
	"runtime"
	"sync/atomic"
	"unsafe"
)

// Buffer is memory allocated by C for asynchronous requests: libnbd keeps
// using it after AioPread or AioPwrite returns, so it must not be Go
// memory that the garbage collector could move or free. A Buffer may serve
// several handles in turn (read from one, write to another), but one
// request at a time is the caller's business.
type Buffer struct {
	p       unsafe.Pointer
	n       int
	busy    atomic.Int32 // requests in flight that use the buffer
	cleanup runtime.Cleanup
}

// NewBuffer allocates a zeroed Buffer of size bytes. Call Free when done;
// a forgotten Buffer is freed when it becomes unreachable.
func NewBuffer(size int) (*Buffer, error) {
	if size <= 0 {
		return nil, fmt.Errorf("nbd: allocate buffer of %d bytes: size must be positive", size)
	}
	p := C.calloc(1, C.size_t(size))
	if p == nil {
		return nil, fmt.Errorf("nbd: allocate buffer of %d bytes: out of memory", size)
	}
	b := &Buffer{p: p, n: size}
	b.cleanup = runtime.AddCleanup(b, func(p unsafe.Pointer) { C.free(p) }, p)
	return b, nil
}

// Len is the size of the buffer in bytes.
func (b *Buffer) Len() int { return b.n }

// Bytes is the buffer's memory as a slice; it is valid until Free and must
// not be touched while a request that uses it is in flight. It is nil
// after Free.
func (b *Buffer) Bytes() []byte {
	if b.p == nil {
		return nil
	}
	return unsafe.Slice((*byte)(b.p), b.n)
}

// Free releases the memory. It fails, and frees nothing, while a request
// that uses the buffer is in flight (retire it or close its Handle first).
// Free is idempotent.
func (b *Buffer) Free() error {
	if b.p == nil {
		return nil
	}
	if n := b.busy.Load(); n > 0 {
		return fmt.Errorf("nbd: free buffer: %d requests using it are still in flight", n)
	}
	b.cleanup.Stop()
	C.free(b.p)
	b.p = nil
	return nil
}

// acquire marks the buffer in use by one more request.
func (b *Buffer) acquire() { b.busy.Add(1) }

// release marks one request using the buffer as retired.
func (b *Buffer) release() { b.busy.Add(-1) }
