package store_test

import (
	"testing"
	"time"

	"github.com/ossea/unifiedfailover/store"
)

// ageWorker makes worker id's last heartbeat age old.
func ageWorker(t *testing.T, b *bundle, id string, age time.Duration) {
	t.Helper()
	if _, err := b.store.Pool().Exec(b.ctx, `UPDATE workers SET heartbeat_at = now() - make_interval(secs => $2) WHERE id = $1`,
		id, age.Seconds()); err != nil {
		t.Fatal(err)
	}
}

func liveIDs(t *testing.T, b *bundle) map[string]store.Worker {
	t.Helper()
	ws, err := b.store.LiveWorkers(b.ctx)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]store.Worker{}
	for _, w := range ws {
		out[w.ID] = w
	}
	return out
}

func TestWorkerHeartbeatsLiveAndExpire(t *testing.T) {
	t.Parallel()
	b := setup(t)
	started := time.Now().Add(-time.Minute).UTC().Truncate(time.Millisecond)
	w1 := store.Worker{ID: "host-a:10:aa", Hostname: "host-a", PID: 10, Version: "v1", StartedAt: started,
		HeartbeatInterval: 10 * time.Second, Capabilities: store.Capabilities{store.CapabilityVirtio: {Available: false,
			Command: "virt-v2v-in-place", Problem: "virt-v2v-in-place is not on PATH"}}}
	w2 := store.Worker{ID: "host-b:20:bb", Hostname: "host-b", PID: 20, StartedAt: started, HeartbeatInterval: time.Hour}
	for _, w := range []store.Worker{w1, w2} {
		if err := b.store.Heartbeat(b.ctx, w); err != nil {
			t.Fatal(err)
		}
	}
	live := liveIDs(t, b)
	got, ok := live[w1.ID]
	if len(live) != 2 || !ok || got.Hostname != "host-a" || got.PID != 10 || got.Version != "v1" || !got.StartedAt.Equal(started) ||
		got.HeartbeatInterval != 10*time.Second || got.Capabilities[store.CapabilityVirtio] != w1.Capabilities[store.CapabilityVirtio] ||
		time.Since(got.HeartbeatAt) > time.Minute {
		t.Fatalf("live workers after the heartbeats: %+v", live)
	}
	if live[w2.ID].Capabilities == nil || len(live[w2.ID].Capabilities) != 0 {
		t.Fatalf("a worker without capabilities: %+v", live[w2.ID])
	}

	// A worker is live for three of its own intervals: 29s of silence
	// keeps a 10s worker live, 31s does not; the 1h worker is still live.
	ageWorker(t, b, w1.ID, 29*time.Second)
	if _, ok := liveIDs(t, b)[w1.ID]; !ok {
		t.Fatal("a 10s worker silent for 29s is not live")
	}
	ageWorker(t, b, w1.ID, 31*time.Second)
	ageWorker(t, b, w2.ID, 31*time.Second)
	if live := liveIDs(t, b); len(live) != 1 || live[w2.ID].ID == "" {
		t.Fatalf("after 31s of silence, live: %+v, want only the 1h worker", live)
	}
	// The next heartbeat brings it back, with what it reports now.
	w1.Capabilities = store.Capabilities{store.CapabilityVirtio: {Available: true, Command: "virt-v2v-in-place", Path: "/usr/bin/virt-v2v-in-place"}}
	if err := b.store.Heartbeat(b.ctx, w1); err != nil {
		t.Fatal(err)
	}
	if c := liveIDs(t, b)[w1.ID].Capabilities[store.CapabilityVirtio]; !c.Available || c.Path != "/usr/bin/virt-v2v-in-place" {
		t.Fatalf("after a new heartbeat: %+v", c)
	}

	// Prune takes only rows dead for a day; delete takes one row.
	ageWorker(t, b, w1.ID, 25*time.Hour)
	ageWorker(t, b, w2.ID, 2*time.Hour)
	if n, err := b.store.PruneWorkers(b.ctx); err != nil || n != 1 {
		t.Fatalf("PruneWorkers: %d, %v, want 1", n, err)
	}
	if err := b.store.Heartbeat(b.ctx, w2); err != nil {
		t.Fatal(err)
	}
	if err := b.store.DeleteWorker(b.ctx, w2.ID); err != nil {
		t.Fatal(err)
	}
	if err := b.store.DeleteWorker(b.ctx, w2.ID); err != nil {
		t.Fatalf("deleting a deleted worker: %v", err)
	}
	if live := liveIDs(t, b); len(live) != 0 {
		t.Fatalf("after prune and delete: %+v", live)
	}
	if err := b.store.Heartbeat(b.ctx, store.Worker{ID: "x", StartedAt: started}); err == nil {
		t.Fatal("a heartbeat without an interval was accepted")
	}
}
