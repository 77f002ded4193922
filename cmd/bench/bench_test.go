package main

import (
	"context"
	"os/exec"
	"path/filepath"
	"regexp"
	"testing"
	"time"
)

// wrk's --latency output is read for requests, time, p50, p99 and errors.
func TestParseWrk(t *testing.T) {
	t.Parallel()
	out := `Running 5s test @ http://127.0.0.1:1/x
  2 threads and 200 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency    15.20ms    6.01ms  80.12ms   70.00%
  Latency Distribution
     50%   14.61ms
     75%   17.02ms
     90%   21.33ms
     99%  612.00us
  66785 requests in 5.00s, 12.30MB read
  Socket errors: connect 0, read 2, write 0, timeout 1
  Non-2xx or 3xx responses: 4
Requests/sec:  13357.00
`
	row, err := parseWrk(out)
	if err != nil {
		t.Fatal(err)
	}
	if row.requests != 66785 || row.wall != 5*time.Second || row.p50 != 14.61 || row.p99 != 0.612 || row.errors != 7 {
		t.Fatalf("parsed %+v", row)
	}
	if _, err := parseWrk("wrk: connection refused"); err == nil {
		t.Fatal("output without figures was accepted")
	}
}

// make bench's command, on the smallest settings, prints every figure the
// README's performance section reports: orchestration with its baseline,
// the by-concurrency sweep, the API (Go client, and wrk when installed)
// and worker memory.
func TestBenchPrintsEveryFigure(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("runs the whole bench (about half a minute)")
	}
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	build := exec.CommandContext(ctx, "go", "build", "-o", dir+"/", "../api", "../worker", ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building: %v\n%s", err, out)
	}
	cmd := exec.CommandContext(ctx, filepath.Join(dir, "bench"), "-bin", dir, "-workers", "1", "-vms", "1", "-cycles", "2",
		"-sweep", "1", "-concurrency", "2", "-requests", "6", "-inflight", "2", "-wrk-duration", "1s")
	out, err := cmd.Output()
	if err != nil {
		stderr := ""
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = string(ee.Stderr)
		}
		t.Fatalf("bench: %v\n%s\n%s", err, out, stderr)
	}
	ms := `[\d.]+ms`
	want := map[string]string{
		"orchestration row": `(?m)^1\s+[\d.]+\s+[\d.]+\s+` + ms + `\s+` + ms + `\s+` + ms + `\s+` + ms + `\s+\d+%\s+` + ms + `\s+[\d.]+\s+[\d.]+$`,
		"sweep row":         `(?m)^BY CONCURRENCY.*\n.*\n1\s+[\d.]+\s+` + ms,
		"memory floor":      `(?m)^chi \+ status answer from memory\s+\d+\s+` + ms + `\s+` + ms + `\s+0$`,
		"bare handler":      `(?m)^bare chi \+ 1 indexed query\s+\d+\s+` + ms + `\s+` + ms + `\s+0$`,
		"status endpoint":   `(?m)^GET /failover/\{id\}/status\s+\d+\s+` + ms + `\s+` + ms + `\s+0$`,
		"dry run":           `(?m)^POST /failover/unified dry_run\s+\d+\s+` + ms + `\s+` + ms + `\s+0$`,
		"worker memory":     `with 2 jobs in flight RSS [\d.]+ MiB`,
	}
	if _, err := exec.LookPath("wrk"); err == nil {
		want["wrk status"] = `(?m)^GET /failover/\{id\}/status \(wrk\)\s+\d+\s+` + ms + `\s+` + ms + `\s+0$`
	}
	for what, re := range want {
		if !regexp.MustCompile(re).Match(out) {
			t.Errorf("no %s in the output:\n%s", what, out)
		}
	}
}
