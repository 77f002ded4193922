package nbd

/*
#include "shim.h"
*/
import "C"

import (
	"math"
	"time"
)

// PollPair is Poll on two handles at once: it waits up to timeout (forever
// when negative) until either connection can make progress, then lets each
// ready one progress. A copy that reads from one export and writes to
// another waits on both connections with one system call instead of
// sleeping on one while the other has replies to read or requests to send.
// It returns at once when neither handle has a request in flight.
func PollPair(a, b *Handle, timeout time.Duration) error {
	if a.h == nil || b.h == nil {
		return ErrClosed
	}
	if a.InFlight() == 0 && b.InFlight() == 0 {
		return nil
	}
	ms := -1
	if timeout >= 0 {
		d := timeout / time.Millisecond
		if timeout%time.Millisecond != 0 {
			d++
		}
		ms = int(min(d, math.MaxInt32))
	}
	var ce C.uf_err
	if C.uf_poll2(a.h, b.h, C.int(ms), &ce) == -1 {
		return newError("poll "+a.uri+" and "+b.uri, &ce)
	}
	return nil
}
