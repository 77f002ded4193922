// Package calltime measures how much of a unit of work (one step attempt)
// is spent waiting on outside systems: vCenter, CloudStack, NBD copies,
// external commands. The runner puts an accumulator in the step's context
// (With); adapters mark each outside call (Start, Transport); the runner
// reads the total (Total) and records it with the step.
//
// Overlapping calls (parallel requests of one step) are counted once: the
// total is the wall time during which at least one outside call was in
// progress, so it never exceeds the step's own wall time and "step time
// minus outside time" is the time the orchestration itself took.
package calltime

import (
	"context"
	"io"
	"net/http"
	"sync"
	"time"
)

type key struct{}

// acc is one accumulator: the union of the intervals of its calls.
type acc struct {
	mu       sync.Mutex
	total    time.Duration
	inFlight int
	since    time.Time // when inFlight went from 0 to 1
}

// With returns ctx carrying a new, empty accumulator.
func With(ctx context.Context) context.Context {
	return context.WithValue(ctx, key{}, &acc{})
}

func from(ctx context.Context) *acc {
	if ctx == nil {
		return nil
	}
	a, _ := ctx.Value(key{}).(*acc)
	return a
}

// Start marks the beginning of an outside call and returns the function
// that marks its end (call it exactly once; further calls do nothing).
// Without an accumulator in ctx both are no-ops.
func Start(ctx context.Context) (done func()) {
	a := from(ctx)
	if a == nil {
		return func() {}
	}
	a.mu.Lock()
	if a.inFlight == 0 {
		a.since = time.Now()
	}
	a.inFlight++
	a.mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			a.mu.Lock()
			defer a.mu.Unlock()
			a.inFlight--
			if a.inFlight == 0 {
				a.total += time.Since(a.since)
			}
		})
	}
}

// Add adds d to the accumulator in ctx, if any, as one more call that did
// not overlap with the others.
func Add(ctx context.Context, d time.Duration) {
	if a := from(ctx); a != nil && d > 0 {
		a.mu.Lock()
		a.total += d
		a.mu.Unlock()
	}
}

// Total returns the time spent in outside calls so far, counting a call
// still in progress up to now. It is 0 without an accumulator.
func Total(ctx context.Context) time.Duration {
	a := from(ctx)
	if a == nil {
		return 0
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	t := a.total
	if a.inFlight > 0 {
		t += time.Since(a.since)
	}
	return t
}

// Transport wraps base so that each HTTP round trip, from sending the
// request to closing (or reading to the end of) the response body, is
// counted as an outside call of the request's context.
func Transport(base http.RoundTripper) http.RoundTripper {
	if base == nil {
		base = http.DefaultTransport
	}
	return transport{base: base}
}

type transport struct{ base http.RoundTripper }

// RoundTrip implements http.RoundTripper.
func (t transport) RoundTrip(req *http.Request) (*http.Response, error) {
	done := Start(req.Context())
	resp, err := t.base.RoundTrip(req)
	if err != nil || resp.Body == nil {
		done()
		return resp, err
	}
	resp.Body = &body{ReadCloser: resp.Body, done: done}
	return resp, nil
}

// CloseIdleConnections closes the base transport's idle connections, if it
// has that method.
func (t transport) CloseIdleConnections() {
	if c, ok := t.base.(interface{ CloseIdleConnections() }); ok {
		c.CloseIdleConnections()
	}
}

// body ends its call at EOF, on a read error, or when closed.
type body struct {
	io.ReadCloser
	done func()
}

func (b *body) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err != nil {
		b.done()
	}
	return n, err
}

func (b *body) Close() error {
	err := b.ReadCloser.Close()
	b.done()
	return err
}
