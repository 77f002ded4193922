package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ossea/unifiedfailover/api/apiv1"
)

// Ctrl-C while watching stops the watch, says the job keeps running and
// how to follow it again, and exits with its own code.
func TestInterruptedWatchSaysTheJobKeepsRunning(t *testing.T) {
	t.Parallel()
	const id = "6f1c2a70-0000-4000-8000-000000000001"
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(apiv1.Job{ID: id, ExternalID: "unified-test-failover-web-1", Status: apiv1.JobRunning,
			Steps: []apiv1.Step{{Seq: 0, Name: "validation", Status: "running"}}})
	}))
	t.Cleanup(srv.Close)
	var out bytes.Buffer
	a := &app{apiURL: srv.URL, token: "t", every: 10 * time.Millisecond, out: &out}
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond) // the Ctrl-C
	defer cancel()
	err := a.watchJob(ctx, id)
	if code := exitCode(err); code != exitInterrupted {
		t.Fatalf("exit code %d (%v), want %d", code, err, exitInterrupted)
	}
	if s := out.String(); !strings.Contains(s, "keeps running") || !strings.Contains(s, "failoverctl watch "+id) {
		t.Fatalf("output does not say the job keeps running and how to watch it:\n%s", s)
	}
}

// watch --json prints one JSON document per line, each a job, the last
// one ended; no progress bar.
func TestWatchJSONPrintsOneDocumentPerLine(t *testing.T) {
	t.Parallel()
	const id = "6f1c2a70-0000-4000-8000-000000000002"
	var reads atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := reads.Add(1)
		j := apiv1.Job{ID: id, ExternalID: "unified-test-failover-web-1", Status: apiv1.JobRunning,
			Steps: []apiv1.Step{{Seq: 0, Name: "validation", Status: "running"}, {Seq: 1, Name: "final-sync", Status: "pending"}}}
		switch {
		case n >= 3:
			j.Status = apiv1.JobCompleted
			j.Steps[0].Status, j.Steps[1].Status = "completed", "skipped"
		case n == 2:
			j.Steps[0].Status = "completed"
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(j)
	}))
	t.Cleanup(srv.Close)
	var out bytes.Buffer
	a := &app{apiURL: srv.URL, token: "t", every: time.Millisecond, out: &out, json: true}
	if err := a.watchJob(context.Background(), id); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) < 3 {
		t.Fatalf("%d lines, want one per change and the end:\n%s", len(lines), out.String())
	}
	for i, l := range lines {
		var j apiv1.Job
		if err := json.Unmarshal([]byte(l), &j); err != nil || j.ID != id {
			t.Fatalf("line %d is not a job document (%v): %q", i+1, err, l)
		}
		if i == len(lines)-1 && j.Status != apiv1.JobCompleted {
			t.Fatalf("last line: status %s, want completed", j.Status)
		}
	}
}

// The progress shows steps in chain order: a skipped step is shown as
// skipped when the steps before it have ended, not first.
func TestProgressShowsStepsInChainOrder(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	p := newProgress(&out)
	job := func(st ...apiv1.StepStatus) *apiv1.Job {
		j := &apiv1.Job{ID: "j", ExternalID: "x", Type: "failover", Status: apiv1.JobRunning}
		for i, name := range []string{"validation", "source-power-off", "final-sync"} {
			j.Steps = append(j.Steps, apiv1.Step{Seq: i, Name: name, Status: st[i]})
			if st[i] == apiv1.StepSkipped {
				j.Steps[i].SkipReason = "not asked"
			}
		}
		return j
	}
	p.update(job(apiv1.StepRunning, apiv1.StepSkipped, apiv1.StepPending))
	if strings.Contains(out.String(), "source-power-off") {
		t.Fatalf("a skipped step shown before the running step before it ended:\n%s", out.String())
	}
	p.update(job(apiv1.StepCompleted, apiv1.StepSkipped, apiv1.StepRunning))
	s := out.String()
	v, sk := strings.Index(s, "validation"), strings.Index(s, "source-power-off")
	if v < 0 || sk < v || !strings.Contains(s, "skipped: not asked") {
		t.Fatalf("want validation, then source-power-off shown as skipped:\n%s", s)
	}
}

// During the final sync the bar weights the step by its bytes and shows
// an ETA from the current rate.
func TestProgressBarDuringTheSync(t *testing.T) {
	t.Parallel()
	p := newProgress(&bytes.Buffer{})
	j := &apiv1.Job{ID: "j", Status: apiv1.JobRunning, ProgressPercent: 50, Steps: []apiv1.Step{
		{Seq: 0, Name: "validation", Status: apiv1.StepCompleted},
		{Seq: 1, Name: "final-sync", Status: apiv1.StepRunning,
			Progress: &apiv1.Progress{BytesDone: 256 << 20, BytesTotal: 1 << 30, RateBps: 64 << 20}},
	}}
	bar := p.bar(j)
	// Half the steps done, and a quarter of the second: 62.5 %.
	if !strings.Contains(bar, " 62% ") && !strings.Contains(bar, " 63% ") {
		t.Fatalf("bar %q, want 62–63 %%", bar)
	}
	// 768 MiB left at 64 MiB/s.
	if !strings.Contains(bar, "ETA 12s") {
		t.Fatalf("bar %q, want ETA 12s", bar)
	}
}
