package drill_test

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/ossea/unifiedfailover/drill"
	"github.com/ossea/unifiedfailover/errs"
	"github.com/ossea/unifiedfailover/store"
	"github.com/ossea/unifiedfailover/store/storetest"
	"github.com/ossea/unifiedfailover/testsvc"
)

func TestValidateNamesTheField(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	st := storetest.Open(t, ctx)
	vm := &store.VMContext{ContextID: "ctx-drill-1", VMName: "drill1", VMwareVMID: "uuid-drill-1", OSType: "linux", Firmware: "bios", CurrentStatus: store.StatusReadyForFailover}
	if err := st.CreateContext(ctx, vm); err != nil {
		t.Fatal(err)
	}
	good := drill.Spec{Name: "weekly", ContextIDs: []string{vm.ContextID}, Cron: "0 3 * * 0", Timezone: "Europe/Berlin", Hold: "10m", MaxParallel: 2}
	d, err := drill.Validate(ctx, st, good)
	if err != nil {
		t.Fatal(err)
	}
	if d.HoldSeconds != 600 || d.MaxParallel != 2 || !d.Enabled || d.Timezone != "Europe/Berlin" {
		t.Fatalf("validated schedule: %+v", d)
	}
	for _, c := range []struct {
		field  string
		change func(*drill.Spec)
	}{
		{"cron", func(s *drill.Spec) { s.Cron = "61 * * * *" }},
		{"cron", func(s *drill.Spec) { s.Cron = "*/5 * * * * *" }},
		{"cron", func(s *drill.Spec) { s.Cron = "@daily" }},
		{"timezone", func(s *drill.Spec) { s.Timezone = "Mars/Olympus" }},
		{"context_ids", func(s *drill.Spec) { s.ContextIDs = nil }},
		{"context_ids[1]", func(s *drill.Spec) { s.ContextIDs = []string{vm.ContextID, "ctx-nope"} }},
		{"context_ids[1]", func(s *drill.Spec) { s.ContextIDs = []string{vm.ContextID, vm.ContextID} }},
		{"hold", func(s *drill.Spec) { s.Hold = "ten minutes" }},
		{"hold", func(s *drill.Spec) { s.Hold = "48h" }},
		{"max_parallel", func(s *drill.Spec) { s.MaxParallel = -1 }},
		{"name", func(s *drill.Spec) { s.Name = " " }},
	} {
		sp := good
		c.change(&sp)
		_, err := drill.Validate(ctx, st, sp)
		var e *errs.Error
		if !errs.Is(err, errs.InvalidArgument) || !asErr(err, &e) || e.Details["field"] != c.field || !strings.HasPrefix(err.Error(), c.field+":") {
			t.Errorf("%+v: want an invalid_argument naming %s, got %v", sp, c.field, err)
		}
	}
}

func asErr(err error, target **errs.Error) bool {
	e, ok := err.(*errs.Error)
	if ok {
		*target = e
	}
	return ok
}

func TestTicksAreOneEntryPerMinuteWithTaskIDs(t *testing.T) {
	t.Parallel()
	sc := &store.DrillSchedule{ID: "11111111-2222-3333-4444-555555555555", Cron: "30 2 * * *", Timezone: "America/New_York"}
	from := time.Date(2025, 3, 8, 12, 0, 0, 0, time.UTC)
	ticks, err := drill.NextTicks(sc, from, from.Add(72*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	// 02:30 does not exist in New York on 9 March 2025 (DST starts):
	// robfig/cron has no tick that day. The next ones are at 02:30 EDT.
	if len(ticks) != 2 || ticks[0] != time.Date(2025, 3, 10, 6, 30, 0, 0, time.UTC) || ticks[1] != time.Date(2025, 3, 11, 6, 30, 0, 0, time.UTC) {
		t.Fatalf("ticks: %v", ticks)
	}
	c := drill.TickConfig(sc.ID, ticks[0])
	if c.Cronspec != "CRON_TZ=UTC 30 6 10 3 *" {
		t.Fatalf("cronspec %q", c.Cronspec)
	}
	if got := drill.TickTaskID(sc.ID, ticks[0]); got != "drill-tick:"+sc.ID+":1741588200" {
		t.Fatalf("task id %q", got)
	}
}

func TestReportRendersATimelinePerVM(t *testing.T) {
	t.Parallel()
	at := func(s float64) *time.Time {
		x := time.Date(2025, 9, 9, 3, 0, 0, 0, time.UTC).Add(time.Duration(s * float64(time.Second)))
		return &x
	}
	rto := 12.5
	rep := &drill.Report{RunID: "run-1", ScheduleName: "weekly <drill>", Tick: *at(0), Trigger: "schedule", Status: store.DrillFailed,
		StartedAt: at(0), EndedAt: at(60), HoldSeconds: 20, MaxParallel: 2,
		Totals: drill.Totals{VMs: 3, Passed: 1, Failed: 1, Skipped: 1, RTOAvgSeconds: &rto, RTOMaxSeconds: &rto},
		VMs: []drill.VMReport{
			{ContextID: "ctx-a", VMName: "vm-a", Outcome: "passed", RTOSeconds: &rto, Steps: []drill.StepReport{
				{Job: "failover", Name: "validation", Status: "completed", StartedAt: at(0), EndedAt: at(2), DurationSeconds: 2},
				{Job: "failover", Name: "vm-startup", Status: "completed", StartedAt: at(2), EndedAt: at(12.5), DurationSeconds: 10.5},
				{Job: "drill", Name: "hold", Status: "completed", StartedAt: at(12.5), EndedAt: at(32.5), DurationSeconds: 20},
				{Job: "rollback", Name: "revert-snapshots", Status: "completed", StartedAt: at(33), EndedAt: at(40), DurationSeconds: 7},
			}},
			{ContextID: "ctx-b", VMName: "vm-b", Outcome: "failed", Error: "test failover failed: vm-creation: boom", Steps: []drill.StepReport{
				{Job: "failover", Name: "vm-creation", Status: "failed", StartedAt: at(1), EndedAt: at(5), DurationSeconds: 4, Error: "boom"},
				{Job: "rollback", Name: "status-update", Status: "completed", StartedAt: at(34), EndedAt: at(35), DurationSeconds: 1},
			}},
			{ContextID: "ctx-c", VMName: "vm-c", Outcome: "skipped", SkipReason: "VM busy with failover job x", Steps: []drill.StepReport{}},
		}}
	var buf bytes.Buffer
	if err := drill.WriteHTML(&buf, rep); err != nil {
		t.Fatal(err)
	}
	html := buf.String()
	for _, bad := range []string{"<script", "<link", "src=\"http", "href=\"http", "@import"} {
		if strings.Contains(html, bad) {
			t.Fatalf("the report is not self-contained: it has %q", bad)
		}
	}
	if strings.Contains(html, "weekly <drill>") {
		t.Fatal("the schedule name is not escaped")
	}
	dom := testsvc.RenderDOM(t, "make drill-tools", html)
	for _, want := range []string{`data-timeline="vm-a"`, `data-timeline="vm-b"`, `data-step="failover/vm-startup"`,
		`data-step="drill/hold"`, `data-step="rollback/revert-snapshots"`, `class="bar job-failover status-failed"`,
		`VM busy with failover job x`, "12.5 s"} {
		if !strings.Contains(dom, want) {
			t.Errorf("rendered DOM lacks %s", want)
		}
	}
	if n := strings.Count(dom, `class="timeline"`); n != 2 {
		t.Errorf("want a timeline for each of the 2 VMs with steps, found %d", n)
	}
}
