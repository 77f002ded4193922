package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// wrkTarget is one endpoint for wrk.
type wrkTarget struct {
	name, method, url string
	body              []byte
}

// wrkLoad measures targets with wrk (a C load generator, far cheaper per
// request than Go's HTTP client, so on a shared 2-core machine more of the
// CPU goes to the server measured): conc connections on 2 threads for d,
// keep-alive. It returns no rows when wrk is not installed.
func wrkLoad(ctx context.Context, token string, conc int, d time.Duration, targets []wrkTarget) ([]apiRow, error) {
	bin, err := exec.LookPath("wrk")
	if err != nil {
		return nil, nil
	}
	dir, err := os.MkdirTemp("", "bench-wrk-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	var out []apiRow
	for i, t := range targets {
		script := filepath.Join(dir, fmt.Sprintf("t%d.lua", i))
		lua := fmt.Sprintf("wrk.method = %q\nwrk.headers[\"Authorization\"] = %q\n", t.method, "Bearer "+token)
		if t.body != nil {
			lua += fmt.Sprintf("wrk.headers[\"Content-Type\"] = \"application/json\"\nwrk.body = %q\n", string(t.body))
		}
		if err := os.WriteFile(script, []byte(lua), 0o600); err != nil {
			return nil, err
		}
		run := func(d time.Duration) (string, error) {
			cctx, cancel := context.WithTimeout(ctx, d+time.Minute)
			defer cancel()
			b, err := exec.CommandContext(cctx, bin, "-t2", fmt.Sprintf("-c%d", conc), fmt.Sprintf("-d%ds", max(1, int(d.Seconds()))),
				"--latency", "-s", script, t.url).CombinedOutput()
			if err != nil {
				return "", fmt.Errorf("wrk %s: %v: %s", t.name, err, b)
			}
			return string(b), nil
		}
		if _, err := run(time.Second); err != nil { // warm-up
			return nil, err
		}
		text, err := run(d)
		if err != nil {
			return nil, err
		}
		row, err := parseWrk(text)
		if err != nil {
			return nil, fmt.Errorf("reading wrk's output for %s: %w\n%s", t.name, err, text)
		}
		row.name = t.name
		out = append(out, row)
	}
	return out, nil
}

var (
	wrkPct      = regexp.MustCompile(`(?m)^\s+(50|99)%\s+([\d.]+)(us|ms|s)\s*$`)
	wrkRequests = regexp.MustCompile(`(?m)^\s+(\d+) requests in ([\d.]+)(us|ms|s|m)`)
	wrkNon2xx   = regexp.MustCompile(`(?m)^\s+Non-2xx or 3xx responses: (\d+)`)
	wrkErrors   = regexp.MustCompile(`(?m)^\s+Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)`)
)

// parseWrk reads requests, wall time, p50/p99 and errors from wrk --latency.
func parseWrk(text string) (apiRow, error) {
	var row apiRow
	unit := map[string]float64{"us": 0.001, "ms": 1, "s": 1000, "m": 60000}
	for _, m := range wrkPct.FindAllStringSubmatch(text, -1) {
		v, _ := strconv.ParseFloat(m[2], 64)
		if m[1] == "50" {
			row.p50 = v * unit[m[3]]
		} else {
			row.p99 = v * unit[m[3]]
		}
	}
	m := wrkRequests.FindStringSubmatch(text)
	if m == nil || row.p50 == 0 || row.p99 == 0 {
		return row, fmt.Errorf("no request count or latency percentiles")
	}
	row.requests, _ = strconv.Atoi(m[1])
	secs, _ := strconv.ParseFloat(m[2], 64)
	row.wall = time.Duration(secs * unit[m[3]] * float64(time.Millisecond))
	if m := wrkNon2xx.FindStringSubmatch(text); m != nil {
		row.errors, _ = strconv.Atoi(m[1])
		row.firstError = "non-2xx answers"
	}
	if m := wrkErrors.FindStringSubmatch(text); m != nil {
		for _, s := range m[1:] {
			n, _ := strconv.Atoi(s)
			row.errors += n
		}
		if strings.TrimSpace(m[0]) != "Socket errors: connect 0, read 0, write 0, timeout 0" {
			row.firstError = strings.TrimSpace(m[0])
		}
	}
	return row, nil
}
