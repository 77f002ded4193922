package nbd_test

import (
	"errors"
	"testing"
	"time"

	"github.com/ossea/unifiedfailover/nbd"
)

func TestPollPairWaitsOnBothHandles(t *testing.T) {
	t.Parallel()
	a, b := connect(t, export(t, 1<<20)), connect(t, export(t, 1<<20))
	must(t, nbd.PollPair(a, b, time.Hour)) // nothing in flight: returns at once
	buf, err := nbd.NewBuffer(4096)
	must(t, err)
	defer buf.Free()
	// A request on the second handle completes while polling the pair.
	c, err := b.AioPread(buf, 4096, 0)
	must(t, err)
	deadline := time.Now().Add(5 * time.Second)
	for {
		done, err := b.AioCommandCompleted(c)
		must(t, err)
		if done {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("read not completed after 5 s of PollPair")
		}
		must(t, nbd.PollPair(a, b, 100*time.Millisecond))
	}
	must(t, a.Close())
	if err := nbd.PollPair(a, b, 0); !errors.Is(err, nbd.ErrClosed) {
		t.Fatalf("PollPair on a closed handle = %v, want ErrClosed", err)
	}
}
