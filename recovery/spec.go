package recovery

import (
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/ossea/unifiedfailover/api/apiv1"
)

// Defaults of a plan.
const (
	DefaultMaxParallelVMs = 10
	MaxMaxParallelVMs     = 1000
	DefaultReadyTimeout   = 10 * time.Minute
	DefaultHookTimeout    = 5 * time.Minute
)

// WithDefaults returns the plan with its defaults filled: max_parallel_vms,
// each wave's on_failure, each member's id (its VM), start and readiness.
func WithDefaults(p apiv1.PlanSpec) apiv1.PlanSpec {
	if p.MaxParallelVMs == 0 {
		p.MaxParallelVMs = DefaultMaxParallelVMs
	}
	if p.CommitPolicy == nil {
		p.CommitPolicy = &apiv1.CommitPolicy{Action: apiv1.CommitNone}
	}
	waves := make([]apiv1.Wave, len(p.Waves))
	for i, w := range p.Waves {
		if w.OnFailure == "" {
			w.OnFailure = apiv1.WaveHalt
		}
		members := make([]apiv1.Member, len(w.Members))
		for j, m := range w.Members {
			if m.ID == "" {
				m.ID = m.VM
			}
			if m.Start == "" {
				m.Start = apiv1.StartPowerOn
			}
			if m.Readiness == nil {
				m.Readiness = &apiv1.ReadinessCheck{Type: apiv1.ReadyRunning}
			}
			members[j] = m
		}
		w.Members = members
		waves[i] = w
	}
	p.Waves = waves
	return p
}

// CheckSpec checks a plan's shape, defaults filled (WithDefaults), without
// reading anything: the blockers make it unrunnable, the warnings do not.
// Dependencies must name members of the same wave, and may not form a
// cycle; the issue then names the members.
func CheckSpec(p apiv1.PlanSpec) (blockers, warnings []apiv1.PlanIssue) {
	block := func(field string, members []string, format string, args ...any) {
		blockers = append(blockers, apiv1.PlanIssue{Field: field, Members: members, Message: fmt.Sprintf(format, args...)})
	}
	if strings.TrimSpace(p.Name) == "" {
		block("name", nil, "is required")
	}
	if p.MaxParallelVMs < 1 || p.MaxParallelVMs > MaxMaxParallelVMs {
		block("max_parallel_vms", nil, "must be 1 to %d, not %d", MaxMaxParallelVMs, p.MaxParallelVMs)
	}
	if p.TargetRTOSeconds < 0 {
		block("target_rto_seconds", nil, "must not be negative")
	}
	if cp := p.CommitPolicy; cp != nil {
		switch cp.Action {
		case apiv1.CommitNone:
		case apiv1.CommitCommit, apiv1.CommitRollback:
			if _, err := positiveDuration(cp.After); err != nil {
				block("commit_policy.after", nil, "%v", err)
			}
		default:
			block("commit_policy.action", nil, "must be none, commit or rollback, not %q", cp.Action)
		}
	}
	if p.TestTTL != "" {
		if _, err := positiveDuration(p.TestTTL); err != nil {
			block("test_ttl", nil, "%v", err)
		}
	}
	if len(p.Waves) == 0 {
		block("waves", nil, "a plan needs at least one wave")
	}
	waveOf := map[string]int{} // member id → wave
	vmOf := map[string]string{}
	for i, w := range p.Waves {
		for j, m := range w.Members {
			f := fmt.Sprintf("waves[%d].members[%d]", i, j)
			switch {
			case strings.TrimSpace(m.VM) == "":
				block(f+".vm", nil, "is required")
				continue
			case strings.TrimSpace(m.ID) == "":
				block(f+".id", nil, "is required")
				continue
			}
			if k, dup := waveOf[m.ID]; dup {
				block(f+".id", []string{m.ID}, "member %q is in the plan twice (also in wave %d)", m.ID, k)
			}
			waveOf[m.ID] = i
			if other, dup := vmOf[m.VM]; dup {
				block(f+".vm", []string{other, m.ID}, "VM %q is in two members (%s and %s)", m.VM, other, m.ID)
			}
			vmOf[m.VM] = m.ID
		}
	}
	for i, w := range p.Waves {
		wf := fmt.Sprintf("waves[%d]", i)
		if len(w.Members) == 0 {
			block(wf+".members", nil, "a wave needs at least one member")
		}
		if w.OnFailure != apiv1.WaveHalt && w.OnFailure != apiv1.WaveContinue {
			block(wf+".on_failure", nil, "must be halt or continue, not %q", w.OnFailure)
		}
		for k, h := range w.PreSteps {
			checkHook(block, fmt.Sprintf("%s.pre_steps[%d]", wf, k), h)
		}
		for k, h := range w.PostSteps {
			checkHook(block, fmt.Sprintf("%s.post_steps[%d]", wf, k), h)
		}
		for j, m := range w.Members {
			f := fmt.Sprintf("%s.members[%d]", wf, j)
			if m.Start != apiv1.StartPowerOn && m.Start != apiv1.StartLeaveOff {
				block(f+".start", nil, "must be power_on or leave_off, not %q", m.Start)
			}
			if m.Start == apiv1.StartLeaveOff && m.Readiness != nil && m.Readiness.Type != apiv1.ReadyRunning {
				warnings = append(warnings, apiv1.PlanIssue{Field: f + ".readiness", Members: []string{m.ID},
					Message: "a member left off is READY once its job completes; its readiness check is not run"})
			}
			checkReadiness(block, f+".readiness", m.Readiness)
			for k, h := range m.PrePowerOn {
				checkHook(block, fmt.Sprintf("%s.pre_power_on[%d]", f, k), h)
			}
			for k, h := range m.PostReady {
				checkHook(block, fmt.Sprintf("%s.post_ready[%d]", f, k), h)
			}
			for k, d := range m.DependsOn {
				df := fmt.Sprintf("%s.depends_on[%d]", f, k)
				switch dw, ok := waveOf[d.Member]; {
				case !ok:
					block(df, []string{m.ID, d.Member}, "%s depends on %q, which is not a member of the plan", m.ID, d.Member)
				case d.Member == m.ID:
					block(df, []string{m.ID}, "%s depends on itself", m.ID)
				case dw != i:
					block(df, []string{m.ID, d.Member}, "%s (wave %d) depends on %s (wave %d): a dependency must be in the same wave; the waves already order the others",
						m.ID, i, d.Member, dw)
				}
			}
		}
		if cycle := findCycle(w.Members); cycle != nil {
			block(wf+".members", cycle, "the dependencies of %s form a cycle: %s", strings.Join(cycle[:len(cycle)-1], ", "), strings.Join(cycle, " → "))
		}
	}
	return blockers, warnings
}

// findCycle returns a dependency cycle among a wave's members (the first
// member repeated at the end), or nil.
func findCycle(members []apiv1.Member) []string {
	deps := map[string][]string{}
	for _, m := range members {
		for _, d := range m.DependsOn {
			if d.Member != m.ID {
				deps[m.ID] = append(deps[m.ID], d.Member)
			}
		}
	}
	const (
		white = iota
		grey
		black
	)
	color := map[string]int{}
	var stack []string
	var visit func(id string) []string
	visit = func(id string) []string {
		color[id] = grey
		stack = append(stack, id)
		for _, d := range deps[id] {
			switch color[d] {
			case grey:
				at := slices.Index(stack, d)
				return append(slices.Clone(stack[at:]), d)
			case white:
				if c := visit(d); c != nil {
					return c
				}
			}
		}
		stack = stack[:len(stack)-1]
		color[id] = black
		return nil
	}
	for _, m := range members {
		if color[m.ID] == white {
			if c := visit(m.ID); c != nil {
				return c
			}
		}
	}
	return nil
}

type blockFunc func(field string, members []string, format string, args ...any)

func checkReadiness(block blockFunc, f string, r *apiv1.ReadinessCheck) {
	if r == nil {
		return
	}
	switch r.Type {
	case apiv1.ReadyRunning:
	case apiv1.ReadyTCP:
		if _, port, ok := strings.Cut(r.Address, ":"); !ok || port == "" {
			block(f+".address", nil, "a tcp check needs host:port, not %q", r.Address)
		}
	case apiv1.ReadyHTTP:
		if u, err := url.Parse(r.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			block(f+".url", nil, "an http check needs an http(s) URL, not %q", r.URL)
		}
		if r.ExpectStatus != 0 && (r.ExpectStatus < 100 || r.ExpectStatus > 599) {
			block(f+".expect_status", nil, "must be an HTTP status, not %d", r.ExpectStatus)
		}
	case apiv1.ReadyScript:
		if len(r.Command) == 0 || strings.TrimSpace(r.Command[0]) == "" {
			block(f+".command", nil, "a script check needs a command")
		}
	default:
		block(f+".type", nil, "must be running, tcp, http or script, not %q", r.Type)
	}
	for _, d := range []struct{ name, v string }{{"timeout", r.Timeout}, {"post_ready_delay", r.PostReadyDelay}} {
		if d.v == "" {
			continue
		}
		if v, err := time.ParseDuration(d.v); err != nil || v < 0 {
			block(f+"."+d.name, nil, "must be a duration such as 10m, not %q", d.v)
		}
	}
}

func checkHook(block blockFunc, f string, h apiv1.Hook) {
	switch h.Type {
	case apiv1.HookScript:
		if len(h.Command) == 0 || strings.TrimSpace(h.Command[0]) == "" {
			block(f+".command", nil, "a script hook needs a command")
		}
	case apiv1.HookWebhook:
		if u, err := url.Parse(h.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			block(f+".url", nil, "a webhook needs an http(s) URL, not %q", h.URL)
		}
	default:
		block(f+".type", nil, "must be script or webhook, not %q", h.Type)
	}
	if h.Timeout != "" {
		if _, err := positiveDuration(h.Timeout); err != nil {
			block(f+".timeout", nil, "%v", err)
		}
	}
	for _, m := range h.Modes {
		if m != apiv1.ModeTest && m != apiv1.ModeLive && m != apiv1.ModeRollback {
			block(f+".modes", nil, "a mode is test, live or rollback, not %q", m)
		}
	}
}

func positiveDuration(s string) (time.Duration, error) {
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("must be a positive duration such as 30s or 4h, not %q", s)
	}
	return d, nil
}
