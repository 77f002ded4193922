package store_test

import (
	"math"
	"testing"

	"github.com/ossea/unifiedfailover/store"
)

func TestActiveJobGroupsCountsAndAges(t *testing.T) {
	t.Parallel()
	b := setup(t)
	// Two active test failovers, one created two hours ago whose last step
	// changed 40 minutes ago, one fresh; an active live rollback; an active
	// drill (no failover type); a live failover that ended (not counted).
	old := newJob(t, b, store.NewJob{Type: "failover", FailoverType: "test", ContextID: newContext(t, b, "vm1").ContextID,
		Queue: "default", Steps: []store.PlannedStep{{Name: "a"}, {Name: "b"}}})
	newJob(t, b, store.NewJob{Type: "failover", FailoverType: "test", ContextID: newContext(t, b, "vm2").ContextID,
		Queue: "default", Steps: []store.PlannedStep{{Name: "a"}}})
	rb := newJob(t, b, store.NewJob{Type: "rollback", FailoverType: "live", ContextID: newContext(t, b, "vm3").ContextID,
		Queue: "critical", Steps: []store.PlannedStep{{Name: "a"}}})
	newJob(t, b, store.NewJob{Type: "drill", Queue: "low", Steps: []store.PlannedStep{{Name: "a"}}})
	ended := newJob(t, b, store.NewJob{Type: "failover", FailoverType: "live", ContextID: newContext(t, b, "vm4").ContextID,
		Queue: "critical", Steps: []store.PlannedStep{{Name: "a"}}})
	if _, err := b.store.EndJob(b.ctx, ended.ID, store.JobCompleted, ""); err != nil {
		t.Fatal(err)
	}
	pool := b.store.Pool()
	for _, q := range []struct {
		sql  string
		args []any
	}{
		{`UPDATE job_tracking SET created_at = now() - interval '2 hours' WHERE id = $1`, []any{old.ID}},
		// Step a changed 50 minutes ago, step b 40: the job's last step activity is b's.
		{`UPDATE job_steps SET updated_at = now() - interval '50 minutes' WHERE job_id = $1 AND name = 'a'`, []any{old.ID}},
		{`UPDATE job_steps SET updated_at = now() - interval '40 minutes' WHERE job_id = $1 AND name = 'b'`, []any{old.ID}},
		// The rollback was created 10 minutes ago and its step began 3 minutes ago.
		{`UPDATE job_tracking SET created_at = now() - interval '10 minutes', status = 'running' WHERE id = $1`, []any{rb.ID}},
		{`UPDATE job_steps SET updated_at = now() - interval '3 minutes' WHERE job_id = $1`, []any{rb.ID}},
	} {
		if _, err := pool.Exec(b.ctx, q.sql, q.args...); err != nil {
			t.Fatal(err)
		}
	}
	groups, err := b.store.ActiveJobGroups(b.ctx)
	if err != nil {
		t.Fatal(err)
	}
	got := map[[2]string]store.ActiveJobGroup{}
	for _, g := range groups {
		got[[2]string{g.Type, g.FailoverType}] = g
	}
	if len(got) != 3 {
		t.Fatalf("groups %+v, want failover/test, rollback/live and drill only", groups)
	}
	near := func(what string, v, want float64) {
		t.Helper()
		if math.Abs(v-want) > 60 {
			t.Errorf("%s = %.0f s, want about %.0f s", what, v, want)
		}
	}
	ft := got[[2]string{"failover", "test"}]
	if ft.Count != 2 {
		t.Errorf("failover/test count %d, want 2", ft.Count)
	}
	near("failover/test oldest age", ft.OldestAgeSeconds, 2*3600)
	near("failover/test last step age", ft.LastStepAgeSeconds, 40*60)
	rl := got[[2]string{"rollback", "live"}]
	if rl.Count != 1 {
		t.Errorf("rollback/live count %d, want 1", rl.Count)
	}
	near("rollback/live oldest age", rl.OldestAgeSeconds, 10*60)
	near("rollback/live last step age", rl.LastStepAgeSeconds, 3*60)
	if d := got[[2]string{"drill", ""}]; d.Count != 1 || d.OldestAgeSeconds > 60 || d.LastStepAgeSeconds > 60 {
		t.Errorf("drill group %+v, want one fresh job", d)
	}
}
