package queue

import (
	"testing"
	"time"
)

func TestRetryDelayBacksOffWithJitter(t *testing.T) {
	t.Parallel()
	fixed := func(v float64) func() float64 { return func() float64 { return v } }
	p := RetryPolicy{Backoff: time.Second, MaxBackoff: 10 * time.Second, Jitter: -1}
	for n, want := range map[int]time.Duration{1: time.Second, 2: 2 * time.Second, 3: 4 * time.Second, 4: 8 * time.Second, 5: 10 * time.Second, 9: 10 * time.Second} {
		if got := p.Delay(n); got != want {
			t.Errorf("no jitter: Delay(%d) = %s, want %s", n, got, want)
		}
	}
	// Jitter spreads the delay over ±20% by default: the source decides.
	for _, c := range []struct {
		r    float64
		want time.Duration
	}{{0, 800 * time.Millisecond}, {0.5, time.Second}, {0.999999, 1199999800 * time.Nanosecond}} {
		q := RetryPolicy{Backoff: time.Second, Rand: fixed(c.r)}
		if got := q.Delay(1); got < c.want-time.Microsecond || got > c.want+time.Microsecond {
			t.Errorf("rand %v: Delay(1) = %s, want %s", c.r, got, c.want)
		}
	}
	// With the real source, twenty VMs do not retry at one instant.
	seen := map[time.Duration]bool{}
	for range 20 {
		seen[RetryPolicy{Backoff: time.Second}.Delay(3)] = true
	}
	if len(seen) < 10 {
		t.Errorf("20 delays took only %d values: no jitter", len(seen))
	}
	for d := range seen {
		if d < 3200*time.Millisecond || d > 4800*time.Millisecond {
			t.Errorf("delay %s outside 4s ±20%%", d)
		}
	}
}
