package queue_test

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ossea/unifiedfailover/queue"
	"github.com/ossea/unifiedfailover/store"
	"github.com/ossea/unifiedfailover/store/storetest"
)

// A worker's heartbeat makes it live from Start, reports what Detect says
// at every beat, and removes its row when it stops.
func TestHeartbeatReportsCapabilitiesAndGoesOnStop(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	st := storetest.Open(t, ctx)
	var capable atomic.Bool
	hb := &queue.Heartbeat{Store: st, Interval: 50 * time.Millisecond, Detect: func() store.Capabilities {
		return store.Capabilities{store.CapabilityVirtio: {Available: capable.Load(), Command: "virt-v2v-in-place"}}
	}}
	w, err := hb.Start(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if parts := strings.Split(w.ID, ":"); len(parts) != 3 || parts[0] != w.Hostname || w.PID == 0 {
		t.Fatalf("worker id %q (host %q, pid %d), want hostname:pid:random", w.ID, w.Hostname, w.PID)
	}
	live := func() []store.Worker {
		ws, err := st.LiveWorkers(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return ws
	}
	if ws := live(); len(ws) != 1 || ws[0].ID != w.ID || ws[0].Capabilities[store.CapabilityVirtio].Available {
		t.Fatalf("live after Start: %+v", ws)
	}
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); hb.Run(runCtx) }()
	capable.Store(true)
	for deadline := time.Now().Add(10 * time.Second); ; {
		if ws := live(); len(ws) == 1 && ws[0].Capabilities[store.CapabilityVirtio].Available {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("a beat did not report the changed capability")
		}
		time.Sleep(20 * time.Millisecond)
	}
	stop()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after its context was cancelled")
	}
	if ws := live(); len(ws) != 0 {
		t.Fatalf("live after the stop: %+v", ws)
	}
}
