package recovery

import (
	"slices"
	"strings"
	"testing"

	"github.com/ossea/unifiedfailover/api/apiv1"
)

func member(vm string, deps ...string) apiv1.Member {
	m := apiv1.Member{VM: vm}
	for _, d := range deps {
		soft := strings.HasPrefix(d, "~")
		m.DependsOn = append(m.DependsOn, apiv1.Dependency{Member: strings.TrimPrefix(d, "~"), Soft: soft})
	}
	return m
}

func threeWaves() apiv1.PlanSpec {
	return apiv1.PlanSpec{Name: "shop", Waves: []apiv1.Wave{
		{Name: "db", Members: []apiv1.Member{member("db1"), member("db2", "db1")}},
		{Name: "app", Members: []apiv1.Member{member("app1"), member("app2", "~app1")}},
		{Name: "web", Members: []apiv1.Member{member("web1")}},
	}}
}

// TestCheckSpec: a plan's shape is checked without reading anything; a
// cycle or a dependency across waves is a blocker naming the members.
func TestCheckSpec(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name      string
		change    func(p *apiv1.PlanSpec)
		wantField string // "" means valid
		members   []string
	}{
		{"valid", func(*apiv1.PlanSpec) {}, "", nil},
		{"no name", func(p *apiv1.PlanSpec) { p.Name = " " }, "name", nil},
		{"no waves", func(p *apiv1.PlanSpec) { p.Waves = nil }, "waves", nil},
		{"empty wave", func(p *apiv1.PlanSpec) { p.Waves[2].Members = nil }, "waves[2].members", nil},
		{"throttle", func(p *apiv1.PlanSpec) { p.MaxParallelVMs = -1 }, "max_parallel_vms", nil},
		{"member twice", func(p *apiv1.PlanSpec) { p.Waves[2].Members = append(p.Waves[2].Members, member("db1")) }, "waves[2].members[1].id", []string{"db1"}},
		{"across waves", func(p *apiv1.PlanSpec) { p.Waves[1].Members[0] = member("app1", "db1") }, "waves[1].members[0].depends_on[0]", []string{"app1", "db1"}},
		{"unknown member", func(p *apiv1.PlanSpec) { p.Waves[2].Members[0] = member("web1", "cdn") }, "waves[2].members[0].depends_on[0]", []string{"web1", "cdn"}},
		{"itself", func(p *apiv1.PlanSpec) { p.Waves[2].Members[0] = member("web1", "web1") }, "waves[2].members[0].depends_on[0]", []string{"web1"}},
		{"cycle", func(p *apiv1.PlanSpec) {
			p.Waves[0].Members = []apiv1.Member{member("db1", "db3"), member("db2", "db1"), member("db3", "~db2")}
		}, "waves[0].members", []string{"db1", "db3", "db2", "db1"}},
		{"on_failure", func(p *apiv1.PlanSpec) { p.Waves[0].OnFailure = "ignore" }, "waves[0].on_failure", nil},
		{"tcp without port", func(p *apiv1.PlanSpec) {
			p.Waves[0].Members[0].Readiness = &apiv1.ReadinessCheck{Type: apiv1.ReadyTCP, Address: "db1"}
		}, "waves[0].members[0].readiness.address", nil},
		{"readiness type", func(p *apiv1.PlanSpec) { p.Waves[0].Members[0].Readiness = &apiv1.ReadinessCheck{Type: "ping"} }, "waves[0].members[0].readiness.type", nil},
		{"bad timeout", func(p *apiv1.PlanSpec) {
			p.Waves[0].Members[0].Readiness = &apiv1.ReadinessCheck{Type: apiv1.ReadyRunning, Timeout: "soon"}
		}, "waves[0].members[0].readiness.timeout", nil},
		{"webhook without URL", func(p *apiv1.PlanSpec) {
			p.Waves[0].Members[0].PrePowerOn = []apiv1.Hook{{Type: apiv1.HookWebhook, URL: "ftp://x"}}
		}, "waves[0].members[0].pre_power_on[0].url", nil},
		{"hook mode", func(p *apiv1.PlanSpec) {
			p.Waves[1].PostSteps = []apiv1.Hook{{Type: apiv1.HookScript, Command: []string{"true"}, Modes: []string{"drill"}}}
		}, "waves[1].post_steps[0].modes", nil},
		{"commit policy", func(p *apiv1.PlanSpec) { p.CommitPolicy = &apiv1.CommitPolicy{Action: apiv1.CommitCommit} }, "commit_policy.after", nil},
		{"test ttl", func(p *apiv1.PlanSpec) { p.TestTTL = "-1h" }, "test_ttl", nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			p := threeWaves()
			c.change(&p)
			blockers, _ := CheckSpec(WithDefaults(p))
			if c.wantField == "" {
				if len(blockers) > 0 {
					t.Fatalf("blockers: %+v", blockers)
				}
				return
			}
			for _, b := range blockers {
				if b.Field == c.wantField && (c.members == nil || slices.Equal(b.Members, c.members)) {
					return
				}
			}
			t.Fatalf("blockers %+v, want one on %s naming %v", blockers, c.wantField, c.members)
		})
	}
}

// TestWithDefaults: a member's id is its VM, it powers on and is READY
// when running; a wave halts on failure; ten VMs at once.
func TestWithDefaults(t *testing.T) {
	t.Parallel()
	p := WithDefaults(threeWaves())
	m := p.Waves[0].Members[1]
	if p.MaxParallelVMs != 10 || p.Waves[0].OnFailure != apiv1.WaveHalt || m.ID != "db2" || m.Start != apiv1.StartPowerOn ||
		m.Readiness.Type != apiv1.ReadyRunning || p.CommitPolicy.Action != apiv1.CommitNone {
		t.Fatalf("defaults: %+v", p)
	}
}
