package main

import (
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/spf13/cobra"

	"github.com/ossea/unifiedfailover/api/apiv1"
)

func plansRoot(a *app) *cobra.Command {
	root := &cobra.Command{Use: "plans", SilenceUsage: true, SilenceErrors: true}
	root.AddCommand(a.planRunCmds()...)
	return root
}

// The plan run commands: run --watch shows the wave view until the run
// completes, retry and skip send the members, continue sends no body, and
// report prints the RTOs and the verdict.
func TestPlanRunCommands(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex // guards reads
	reads := 0
	spec := apiv1.PlanSpec{Name: "shop", Waves: []apiv1.Wave{{Name: "data", Members: []apiv1.Member{{ID: "db"}, {ID: "app"}}},
		{Members: []apiv1.Member{{ID: "web", Optional: true}}}}}
	runAt := func(status string, states ...string) apiv1.PlanRun {
		r := apiv1.PlanRun{ID: "r1", PlanName: "shop", PlanVersion: 3, Mode: "test", Status: status, Spec: spec}
		for i, id := range []string{"db", "app", "web"} {
			r.Members = append(r.Members, apiv1.PlanRunMember{ID: id, Wave: min(i/2, 1), State: states[i], Optional: id == "web"})
		}
		return r
	}
	rto, plan := 12.5, 30.0
	passed := true
	base, requests := recordingAPI(t, func(w http.ResponseWriter, r *http.Request, _ []byte) {
		switch {
		case r.Method == http.MethodPost && r.URL.Path == "/api/v1/plans/shop/runs":
			_ = json.NewEncoder(w).Encode(runAt("running", "failing_over", "pending", "pending"))
		case r.Method == http.MethodGet && r.URL.Path == "/api/v1/plan-runs/r1":
			mu.Lock()
			reads++
			n := reads
			mu.Unlock()
			if n == 1 {
				_ = json.NewEncoder(w).Encode(runAt("running", "ready", "checking", "pending"))
			} else {
				_ = json.NewEncoder(w).Encode(runAt("completed", "ready", "ready", "ready"))
			}
		case r.Method == http.MethodPost && strings.HasPrefix(r.URL.Path, "/api/v1/plan-runs/r1/"):
			_ = json.NewEncoder(w).Encode(runAt("halted", "failed", "skipped", "pending"))
		case r.Method == http.MethodGet && r.URL.Path == "/api/v1/plan-runs/r1/report":
			_ = json.NewEncoder(w).Encode(apiv1.PlanRunReport{RunID: "r1", PlanName: "shop", Status: "completed",
				PlanRTOSeconds: &plan, TargetRTOSeconds: 60, Passed: &passed, StartedAt: time.Now(),
				Members:  []apiv1.PlanRunMemberReport{{ID: "db", State: "ready", RTOSeconds: &rto, Steps: []apiv1.PlanRunStepTime{{Job: "failover", Name: "vm-startup", Status: "completed", Seconds: &rto}}}},
				Warnings: []apiv1.PlanRunEvent{}, Choices: []apiv1.PlanRunEvent{{Actor: "otto", Message: "plan-run-retry"}}})
		default:
			http.NotFound(w, r)
		}
	})
	out := execute(t, base, false, plansRoot, "run", "shop", "--mode", "test", "--watch")
	for _, want := range []string{"plan run r1 of shop v3 (test): running", "  data\n    db                   failing_over",
		"    app                  checking", "  wave 2\n    web                  pending       optional", ": completed", "web                  ready"} {
		if !strings.Contains(out, want) {
			t.Errorf("run --watch lacks %q:\n%s", want, out)
		}
	}
	execute(t, base, false, plansRoot, "retry", "r1", "db", "app")
	execute(t, base, false, plansRoot, "skip", "r1", "web")
	if out := execute(t, base, false, plansRoot, "continue", "r1"); !strings.Contains(out, "halted") {
		t.Errorf("continue: %q", out)
	}
	out = execute(t, base, false, plansRoot, "report", "r1")
	for _, want := range []string{"plan RTO 30.0s, passed (target 60s)", "failover/vm-startup=12.5s", "choice", "by otto: plan-run-retry"} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q:\n%s", want, out)
		}
	}
	got := requests()
	for _, want := range []string{`POST /api/v1/plans/shop/runs {"mode":"test"}`, `POST /api/v1/plan-runs/r1/retry {"members":["db","app"]}`,
		`POST /api/v1/plan-runs/r1/skip {"members":["web"]}`, `POST /api/v1/plan-runs/r1/continue `} {
		found := false
		for _, g := range got {
			found = found || g == want
		}
		if !found {
			t.Errorf("no request %q in %q", want, got)
		}
	}
}
