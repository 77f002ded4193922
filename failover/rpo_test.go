package failover

import (
	"strings"
	"testing"
	"time"

	"github.com/ossea/unifiedfailover/store"
)

// TestCheckRPO: the rpo check passes within the target; beyond it, or
// with the RPO unknown, it warns a test failover and fails a live one
// unless accept_rpo, and skip_validation does not pass a live failure.
func TestCheckRPO(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	e := &Engine{cfg: EngineConfig{RPOTarget: 15 * time.Minute, Now: func() time.Time { return now }}}
	at := func(d time.Duration) *time.Time { v := now.Add(-d); return &v }
	fresh := []store.DiskSync{{DiskKey: 2000, LastSyncedAt: at(time.Minute)}, {DiskKey: 2001, LastSyncedAt: at(2 * time.Minute)}}
	stale := []store.DiskSync{{DiskKey: 2000, LastSyncedAt: at(time.Minute)}, {DiskKey: 2001, LastSyncedAt: at(2 * time.Hour)}}
	never := []store.DiskSync{{DiskKey: 2000, LastSyncedAt: at(time.Minute)}, {DiskKey: 2001}}
	for _, c := range []struct {
		name   string
		typ    Type
		syncs  []store.DiskSync
		accept bool
		want   CheckStatus
		hard   bool
		says   []string
	}{
		{"test within", Test, fresh, false, Pass, false, []string{"2m0s", "disk 2001", "15m0s", "FAILOVER_RPO_TARGET"}},
		{"live within", Live, fresh, false, Pass, true, []string{"2m0s"}},
		{"test behind", Test, stale, false, Warn, false, []string{"2h0m0s", "disk 2001", "15m0s", "accept_rpo"}},
		{"test unknown", Test, never, false, Warn, false, []string{"unknown", "disk 2001", "never reported a sync"}},
		{"live behind", Live, stale, false, Fail, true, []string{"2h0m0s", "disk 2001", "15m0s", "accept_rpo", "FAILOVER_RPO_TARGET"}},
		{"live unknown", Live, never, false, Fail, true, []string{"unknown", "disk 2001", "accept_rpo", "FAILOVER_RPO_TARGET"}},
		{"live behind, accepted", Live, stale, true, Warn, true, []string{"accepted", "accept_rpo", "2h0m0s"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			vm := &store.VMContext{ContextID: "c1", VMName: "web", CurrentStatus: store.StatusReadyForFailover, Syncs: c.syncs}
			r := &Report{}
			e.checkRPO(r, vm, &Config{FailoverType: c.typ, AcceptRPO: c.accept})
			if len(r.Checks) != 1 || r.Checks[0].Name != "rpo" {
				t.Fatalf("checks %+v", r.Checks)
			}
			got := r.Checks[0]
			if got.Status != c.want || got.Hard != c.hard {
				t.Fatalf("%s (hard %v), want %s (hard %v): %s", got.Status, got.Hard, c.want, c.hard, got.Message)
			}
			for _, w := range c.says {
				if !strings.Contains(got.Message, w) {
					t.Errorf("message lacks %q: %s", w, got.Message)
				}
			}
			// skip_validation passes a test failover's warning and nothing
			// of a live failover's failure.
			if err := r.Gate(true); (err != nil) != (c.want == Fail) {
				t.Errorf("Gate(skip_validation) = %v", err)
			}
			if r.Replication() == nil {
				t.Errorf("the report does not keep the replication it read")
			}
		})
	}
	// The VM's own target.
	secs := 3 * 3600
	vm := &store.VMContext{ContextID: "c1", VMName: "web", RPOTargetSeconds: &secs, Syncs: stale}
	r := &Report{}
	e.checkRPO(r, vm, &Config{FailoverType: Live})
	if c := r.Checks[0]; c.Status != Pass || !strings.Contains(c.Message, "rpo_target") || !strings.Contains(c.Message, "3h0m0s") {
		t.Fatalf("within the VM's own target: %+v", c)
	}
}
