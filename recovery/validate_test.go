package recovery_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/ossea/unifiedfailover/api/apiv1"
	"github.com/ossea/unifiedfailover/errs"
	"github.com/ossea/unifiedfailover/recovery"
	"github.com/ossea/unifiedfailover/store"
	"github.com/ossea/unifiedfailover/store/storetest"
)

type lab struct {
	ctx context.Context
	st  *store.Store
}

func setup(t *testing.T) *lab {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	st := storetest.Open(t, ctx)
	return &lab{ctx: ctx, st: st}
}

// vm registers a context with one disk synced at synced, one NIC on
// "VM Network" and the mappings of types.
func (l *lab) vm(t *testing.T, name string, status store.ContextStatus, synced time.Time, types ...store.MappingType) *store.VMContext {
	t.Helper()
	c := &store.VMContext{ContextID: "ctx-" + name, VMName: name, VMwareVMID: "uuid-" + name, CPUCount: 1, MemoryMB: 1024,
		OSType: "linux", Firmware: "bios", CurrentStatus: status,
		Disks: []store.Disk{{DiskKey: 2000, SizeBytes: 1 << 20, VolumeID: "vol-" + name, LastSyncedAt: &synced}},
		NICs:  []store.SourceNIC{{NICKey: 4000, NetworkName: "VM Network", MAC: "00:50:56:00:00:01"}}}
	if err := l.st.CreateContext(l.ctx, c); err != nil {
		t.Fatalf("creating context %s: %v", name, err)
	}
	for _, typ := range types {
		if _, err := l.st.UpsertMapping(l.ctx, store.NetworkMapping{ContextID: c.ContextID, SourceNetworkName: "VM Network",
			DestinationNetworkID: "net-" + string(typ), DestinationNetworkName: string(typ), MappingType: typ}); err != nil {
			t.Fatalf("mapping %s: %v", name, err)
		}
	}
	return c
}

func plan(waves ...[]apiv1.Member) apiv1.PlanSpec {
	p := apiv1.PlanSpec{Name: "p"}
	for _, ms := range waves {
		p.Waves = append(p.Waves, apiv1.Wave{Members: ms})
	}
	return p
}

func members(vms ...string) []apiv1.Member {
	var out []apiv1.Member
	for _, vm := range vms {
		out = append(out, apiv1.Member{VM: vm})
	}
	return out
}

// TestValidate: a plan is checked against the contexts as the store holds
// them, each issue naming its member; validating changes nothing.
func TestValidate(t *testing.T) {
	t.Parallel()
	l := setup(t)
	now := time.Now()
	both := []store.MappingType{store.MappingTest, store.MappingLive}
	db := l.vm(t, "db", store.StatusReadyForFailover, now, both...)
	l.vm(t, "app", store.StatusReadyForFailover, now, both...)
	l.vm(t, "liveonly", store.StatusReadyForFailover, now, store.MappingLive)
	l.vm(t, "copying", store.StatusReplicating, now, both...)
	l.vm(t, "stale", store.StatusReadyForFailover, now.Add(-2*time.Hour), both...)
	busy := l.vm(t, "busy", store.StatusReadyForFailover, now, both...)
	job, err := l.st.CreateJob(l.ctx, store.NewJob{Type: "failover", FailoverType: "test", ContextID: busy.ContextID,
		Queue: "default", Steps: []store.PlannedStep{{Name: "a"}}}, nil)
	if err != nil {
		t.Fatal(err)
	}

	for _, c := range []struct {
		name     string
		spec     apiv1.PlanSpec
		mode     string
		blocker  string // a blocker's message contains it; "" means valid
		members  []string
		field    string
		warning  string
		warnings int
	}{
		{name: "two waves of ready VMs", spec: plan(members("db"), members("app"))},
		{name: "by context id", spec: plan(members(db.ContextID), members("app"))},
		{name: "unknown VM", spec: plan(members("db", "ghost")), blocker: `no VM context with id or name "ghost"`,
			members: []string{"ghost"}, field: "waves[0].members[1].vm"},
		{name: "still replicating", spec: plan(members("copying")), blocker: "is replicating; a failover needs ready_for_failover",
			members: []string{"copying"}, field: "waves[0].members[0].vm"},
		{name: "in an active job", spec: plan(members("db"), members("busy")), blocker: "active failover job " + job.ExternalID,
			members: []string{"busy"}, field: "waves[1].members[0].vm"},
		{name: "no test mapping, test run", spec: plan(members("liveonly")), mode: "test", blocker: "no test mapping for network VM Network",
			members: []string{"liveonly"}},
		{name: "no test mapping, either run", spec: plan(members("liveonly")), blocker: "no test mapping for network VM Network",
			members: []string{"liveonly"}},
		{name: "no test mapping, live run", spec: plan(members("liveonly")), mode: "live"},
		{name: "same VM twice", spec: plan(members("db"), members(db.ContextID)), blocker: "are the same VM db",
			members: []string{"db", db.ContextID}},
		{name: "behind its RPO, live", spec: plan(members("stale")), mode: "live", warning: "accept_rpo is per member", warnings: 1},
		{name: "behind its RPO, test", spec: plan(members("stale")), mode: "test", warning: "a test run boots a copy that old", warnings: 1},
		{name: "a cycle, with the context checks", spec: func() apiv1.PlanSpec {
			p := plan(members("db", "app"))
			p.Waves[0].Members[0].DependsOn = []apiv1.Dependency{{Member: "app"}}
			p.Waves[0].Members[1].DependsOn = []apiv1.Dependency{{Member: "db"}}
			return p
		}(), blocker: "form a cycle", members: []string{"db", "app", "db"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			v, err := recovery.Validate(l.ctx, l.st, c.spec, c.mode)
			if err != nil {
				t.Fatal(err)
			}
			if c.blocker == "" {
				if !v.Valid || len(v.Blockers) != 0 {
					t.Fatalf("want valid: %+v", v)
				}
			} else {
				found := false
				for _, b := range v.Blockers {
					if strings.Contains(b.Message, c.blocker) && (c.field == "" || b.Field == c.field) &&
						strings.Join(b.Members, ",") == strings.Join(c.members, ",") {
						found = true
					}
				}
				if v.Valid || !found {
					t.Fatalf("want a blocker %q on %v (field %q): %+v", c.blocker, c.members, c.field, v)
				}
			}
			if len(v.Warnings) != c.warnings {
				t.Fatalf("want %d warnings: %+v", c.warnings, v.Warnings)
			}
			if c.warning != "" && !strings.Contains(v.Warnings[0].Message, c.warning) {
				t.Fatalf("want a warning %q: %+v", c.warning, v.Warnings)
			}
		})
	}

	if _, err := recovery.Validate(l.ctx, l.st, plan(members("db")), "prod"); !errs.Is(err, errs.InvalidArgument) {
		t.Fatalf("a bad mode: %v", err)
	}
	// Nothing changed: the busy VM's job is still the only active one.
	if j, err := l.st.ActiveJob(l.ctx, busy.ContextID); err != nil || j.ID != job.ID {
		t.Fatalf("active job after validating: %v %v", j, err)
	}
	if _, err := l.st.ActiveJob(l.ctx, db.ContextID); !errs.Is(err, errs.NotFound) {
		t.Fatalf("validating started a job: %v", err)
	}
}

// TestValidateRPOTarget: the RPO is read against the installation's
// target (Checker.RPOTarget, FAILOVER_RPO_TARGET) for a VM without its
// own, store.DefaultRPOTarget by default.
func TestValidateRPOTarget(t *testing.T) {
	t.Parallel()
	l := setup(t)
	now := time.Now()
	l.vm(t, "db", store.StatusReadyForFailover, now.Add(-20*time.Minute), store.MappingTest, store.MappingLive)
	spec := plan(members("db"))
	for _, c := range []struct {
		target   time.Duration
		warnings int
	}{{0, 1}, {time.Hour, 0}, {10 * time.Minute, 1}} {
		v, err := recovery.Checker{Store: l.st, RPOTarget: c.target, Now: func() time.Time { return now }}.Validate(l.ctx, spec, "live")
		if err != nil || !v.Valid || len(v.Warnings) != c.warnings {
			t.Fatalf("target %s: %+v %v, want valid with %d warning(s)", c.target, v, err, c.warnings)
		}
		if c.warnings == 1 && !strings.Contains(v.Warnings[0].Message, "20m0s, beyond its target") {
			t.Fatalf("target %s: %+v", c.target, v.Warnings)
		}
	}
}
