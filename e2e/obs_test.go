package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/ossea/unifiedfailover/testsvc"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/ossea/unifiedfailover/client"
	"github.com/ossea/unifiedfailover/deploy"
	"github.com/ossea/unifiedfailover/failover"
	"github.com/ossea/unifiedfailover/store"
)

// TestObservability runs demo-like work through real api, worker and
// scheduler processes (a test failover and its rollback, a live failover
// with a final sync and its rollback, a failover that fails at a step and
// its rollback) and then checks what operators see: every process's
// /metrics passes promtool and carries what the dashboard and the alert
// rules use, every query of the dashboard and the rules run on a
// Prometheus scraping the processes, asynqmon under /monitoring/ behind the
// API's roles and rendered in headless Chromium, and the worker's JSON
// logs.
func TestObservability(t *testing.T) {
	t.Parallel()
	b := setupObs(t, 2)
	vm0, vm1 := &b.lab.VMs[0], &b.lab.VMs[1]
	var jobs []*client.FailoverStatus

	// A test failover and its rollback, as make demo does.
	st := b.failover(t, failover.FailoverRequest{ContextID: b.contexts[vm0.Name], FailoverType: failover.Test})
	if st.Status != store.JobCompleted {
		t.Fatalf("test failover ended %s: %s", st.Status, st.Error)
	}
	rb := b.rollback(t, failover.RollbackRequest{ContextID: b.contexts[vm0.Name]})
	if rb.Status != store.JobCompleted {
		t.Fatalf("rollback ended %s: %s", rb.Status, rb.Error)
	}
	jobs = append(jobs, st, rb)

	// A live failover copies what changed on the source in its final sync.
	payload := bytes.Repeat([]byte("observability!!!"), 4096) // 64 KiB
	for i := range vm1.Disks {
		if err := b.lab.WriteSource(b.ctx, vm1.Name, i, 0, payload); err != nil {
			t.Fatal(err)
		}
	}
	live := b.failover(t, failover.FailoverRequest{ContextID: b.contexts[vm1.Name], FailoverType: failover.Live, Confirm: vm1.Name})
	if live.Status != store.JobCompleted {
		t.Fatalf("live failover ended %s: %s", live.Status, live.Error)
	}
	sync := live.Step("final-sync")
	if sync.Progress == nil || sync.Progress.BytesTotal < int64(len(payload)) {
		t.Fatalf("final-sync step: %+v", sync)
	}
	rb = b.rollback(t, failover.RollbackRequest{ContextID: b.contexts[vm1.Name], Confirm: vm1.Name, PowerOnSource: ptr(true)})
	if rb.Status != store.JobCompleted {
		t.Fatalf("live rollback ended %s: %s", rb.Status, rb.Error)
	}
	jobs = append(jobs, live, rb)

	// A failover that fails for good at vm-creation, and its rollback.
	b.lab.CloudStack.FailNext("deployVirtualMachine", 1, 530, "Unable to create a deployment for VM")
	failed := b.failover(t, failover.FailoverRequest{ContextID: b.contexts[vm0.Name], FailoverType: failover.Test})
	if failed.Status != store.JobFailed || failed.CurrentStep != "vm-creation" {
		t.Fatalf("want the failover failed at vm-creation, got %s at %s: %s", failed.Status, failed.CurrentStep, failed.Error)
	}
	b.lab.CloudStack.ClearFaults()
	rb = b.rollback(t, failover.RollbackRequest{ContextID: b.contexts[vm0.Name]})
	if rb.Status != store.JobCompleted {
		t.Fatalf("rollback of the failed failover ended %s: %s", rb.Status, rb.Error)
	}
	jobs = append(jobs, failed, rb)

	// The worker counts a job's end right after recording it in Postgres; a
	// reader woken by that record (GET ...?wait=) can be a moment ahead of
	// the counter, as a Prometheus scrape can. Wait until every job of this
	// test is counted, then scrape.
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		ended, _ := value(parseMetrics(t, "worker", get(t, b.workerURL+"/metrics")), "failover_jobs_total", nil)
		if ended >= float64(len(jobs)) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the worker counted %v job ends, want %d", ended, len(jobs))
		}
	}
	scrapes := map[string][]byte{"api": get(t, b.apiURL+"/metrics"), "worker": get(t, b.workerURL+"/metrics"),
		"scheduler": get(t, b.schedURL+"/metrics")}
	t.Run("promtool", func(t *testing.T) { checkPromtool(t, scrapes) })
	fams := map[string]map[string]*dto.MetricFamily{}
	for proc, body := range scrapes {
		fams[proc] = parseMetrics(t, proc, body)
	}
	t.Run("exported", func(t *testing.T) { checkExported(t, fams) })
	t.Run("counted", func(t *testing.T) { checkCounted(t, fams, sync.Progress.BytesTotal) })
	t.Run("queries", func(t *testing.T) { checkQueries(t, b) })
	t.Run("rpo", func(t *testing.T) { checkRPO(t, fams, b.contexts[vm1.Name]) })
	t.Run("asynqmon", func(t *testing.T) { checkAsynqmon(t, b) })
	t.Run("chromium", func(t *testing.T) { checkChromium(t, b) })
	t.Run("logs", func(t *testing.T) { checkStepLogs(t, filepath.Join(b.logDir, "worker.log"), jobs) })
}

// checkPromtool runs promtool check metrics on each process's scrape: it
// must report nothing.
func checkPromtool(t *testing.T, scrapes map[string][]byte) {
	promtool := testsvc.Tool(t, "make observability-tools: Debian package prometheus", "promtool")
	for proc, body := range scrapes {
		cmd := exec.Command(promtool, "check", "metrics")
		cmd.Stdin = bytes.NewReader(body)
		out, err := cmd.CombinedOutput()
		if err != nil || len(bytes.TrimSpace(out)) > 0 {
			t.Errorf("promtool check metrics on the %s's /metrics: %v\n%s", proc, err, out)
		}
	}
}

func parseMetrics(t *testing.T, proc string, body []byte) map[string]*dto.MetricFamily {
	t.Helper()
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(bytes.NewReader(body))
	if err != nil {
		t.Fatalf("parsing the %s's /metrics: %v", proc, err)
	}
	return fams
}

// checkExported checks that every metric deploy.Exported lists (the ones
// the dashboard and the alert rules may use, as deploy's test checks) is
// really exported by some process, with exactly the listed labels.
func checkExported(t *testing.T, fams map[string]map[string]*dto.MetricFamily) {
	for name, want := range deploy.Exported {
		if slices.Contains(deploy.Synthetic, name) {
			continue
		}
		var where []string
		for proc, fs := range fams {
			f := fs[name]
			if f == nil || len(f.Metric) == 0 {
				continue
			}
			where = append(where, proc)
			if slices.Contains(deploy.Histograms, name) != (f.GetType() == dto.MetricType_HISTOGRAM) {
				t.Errorf("%s (%s): type %s; deploy.Histograms disagrees", name, proc, f.GetType())
			}
			for _, m := range f.Metric {
				var got []string
				for _, l := range m.Label {
					got = append(got, l.GetName())
				}
				sort.Strings(got)
				exp := slices.Sorted(slices.Values(want))
				if !slices.Equal(got, exp) {
					t.Errorf("%s (%s): labels %v, deploy.Exported says %v", name, proc, got, exp)
					break
				}
			}
		}
		if len(where) == 0 {
			t.Errorf("%s is listed in deploy.Exported (dashboard, alerts) but no process exports it", name)
		}
	}
	// The other way round, for the product's own families: every one a
	// process exports is listed (and so, by deploy's test, in the README's
	// metrics table).
	for proc, fs := range fams {
		for name := range fs {
			if (strings.HasPrefix(name, "failover_") || strings.HasPrefix(name, "asynq_")) && deploy.Exported[name] == nil {
				t.Errorf("the %s exports %s, which deploy.Exported (and the README's metrics table) does not list", proc, name)
			}
		}
	}
}

// value sums the samples of a family whose labels include match.
func value(fs map[string]*dto.MetricFamily, name string, match map[string]string) (sum float64, found bool) {
	f := fs[name]
	if f == nil {
		return 0, false
	}
next:
	for _, m := range f.Metric {
		for k, v := range match {
			ok := false
			for _, l := range m.Label {
				if l.GetName() == k && l.GetValue() == v {
					ok = true
				}
			}
			if !ok {
				continue next
			}
		}
		found = true
		switch {
		case m.Counter != nil:
			sum += m.Counter.GetValue()
		case m.Gauge != nil:
			sum += m.Gauge.GetValue()
		case m.Histogram != nil:
			sum += float64(m.Histogram.GetSampleCount())
		}
	}
	return sum, found
}

// checkCounted checks that the work shows in the metrics: jobs by type and
// outcome, step histograms filled, the failure, the final sync's bytes,
// no job left active, and asynq's queue metrics on the API.
func checkCounted(t *testing.T, fams map[string]map[string]*dto.MetricFamily, syncBytes int64) {
	w, api := fams["worker"], fams["api"]
	atLeast := func(fs map[string]*dto.MetricFamily, name string, match map[string]string, min float64) {
		t.Helper()
		if v, _ := value(fs, name, match); v < min {
			t.Errorf("%s%v = %v, want >= %v", name, match, v, min)
		}
	}
	// Jobs by type and failover type: a rollback's is its failover's.
	jobs := func(typ, ft, outcome string) map[string]string {
		return map[string]string{"type": typ, "failover_type": ft, "outcome": outcome}
	}
	atLeast(w, "failover_jobs_total", jobs("failover", "test", "completed"), 1)
	atLeast(w, "failover_jobs_total", jobs("failover", "live", "completed"), 1)
	atLeast(w, "failover_jobs_total", jobs("failover", "test", "failed"), 1)
	atLeast(w, "failover_jobs_total", jobs("rollback", "test", "completed"), 2)
	atLeast(w, "failover_jobs_total", jobs("rollback", "live", "completed"), 1)
	atLeast(w, "failover_job_duration_seconds", map[string]string{"type": "failover", "failover_type": "test"}, 2)
	atLeast(w, "failover_job_duration_seconds", map[string]string{"type": "failover", "failover_type": "live"}, 1)
	atLeast(w, "failover_job_duration_seconds", map[string]string{"type": "rollback"}, 3)
	atLeast(w, "failover_step_duration_seconds", map[string]string{"type": "failover", "step": "vm-creation"}, 3)
	atLeast(w, "failover_step_duration_seconds", map[string]string{"type": "failover", "failover_type": "live", "step": "final-sync"}, 1)
	atLeast(w, "failover_step_duration_seconds", map[string]string{"type": "rollback", "failover_type": "live"}, 1)
	atLeast(w, "failover_step_failures_total", map[string]string{"step": "vm-creation", "failover_type": "test", "class": "permanent"}, 1)
	for _, o := range []string{"passed", "failed"} {
		if _, found := value(w, "failover_drills_total", map[string]string{"outcome": o}); !found {
			t.Errorf("worker: no failover_drills_total{outcome=%q} before the first drill", o)
		}
	}
	atLeast(w, "failover_sync_duration_seconds", nil, 1)
	// The final sync adds its bytes as it copies; the total is what it copied.
	if v, _ := value(w, "failover_sync_bytes_total", nil); v != float64(syncBytes) {
		t.Errorf("failover_sync_bytes_total = %v, want the final sync's %d bytes", v, syncBytes)
	}
	for proc, fs := range fams {
		for _, ft := range []string{"test", "live"} {
			match := map[string]string{"type": "failover", "failover_type": ft}
			v, found := value(fs, "failover_active_jobs", match)
			if !found || v != 0 {
				t.Errorf("%s: failover_active_jobs%v = %v (found %v), want 0", proc, match, v, found)
			}
		}
	}
	// The ages of active jobs come from the API alone; with no job
	// active they are 0.
	for _, name := range []string{"failover_oldest_active_job_age_seconds", "failover_active_job_last_step_age_seconds"} {
		match := map[string]string{"type": "failover", "failover_type": "live"}
		if v, found := value(api, name, match); !found || v != 0 {
			t.Errorf("api: %s%v = %v (found %v), want 0", name, match, v, found)
		}
		for _, proc := range []string{"worker", "scheduler"} {
			if fams[proc][name] != nil {
				t.Errorf("%s exports %s: only the API should", proc, name)
			}
		}
	}
	atLeast(api, "failover_api_requests_total", map[string]string{"route": "/api/v1/failover/unified", "code": "202"}, 3)
	for _, q := range []string{"critical", "default", "low"} {
		for _, name := range []string{"asynq_queue_size", "asynq_queue_latency_seconds", "asynq_queue_paused",
			"asynq_tasks_processed_total", "asynq_tasks_failed_total"} {
			if _, found := value(api, name, map[string]string{"queue": q}); !found {
				t.Errorf("api: no %s{queue=%q}", name, q)
			}
		}
	}
	atLeast(api, "asynq_tasks_processed_total", map[string]string{"queue": "critical"}, 1) // live failover and rollbacks
	atLeast(api, "asynq_tasks_processed_total", map[string]string{"queue": "default"}, 1)  // test failovers
	for _, proc := range []string{"worker", "scheduler"} {
		if fams[proc]["asynq_queue_size"] != nil {
			t.Errorf("%s exports asynq's queue metrics: only the API should", proc)
		}
	}
}

// checkRPO checks the per-VM RPO series: the API exports them for every
// VM (the lab registers its VMs in sync); the VM whose live failover ran a
// final sync reads near zero; no other process repeats them.
func checkRPO(t *testing.T, fams map[string]map[string]*dto.MetricFamily, liveCtx string) {
	api := fams["api"]
	if v, found := value(api, "failover_vm_rpo_seconds", map[string]string{"context_id": liveCtx}); !found || v >= 60 {
		t.Errorf("api: failover_vm_rpo_seconds{context_id=%q} = %v (found %v), want under 60 after the final sync", liveCtx, v, found)
	}
	if v, found := value(api, "failover_vm_rpo_target_seconds", map[string]string{"context_id": liveCtx}); !found || v != 900 {
		t.Errorf("api: failover_vm_rpo_target_seconds{context_id=%q} = %v (found %v), want 900 (FAILOVER_RPO_TARGET's default)", liveCtx, v, found)
	}
	if f := api["failover_vm_rpo_seconds"]; f == nil || len(f.Metric) < 2 {
		t.Errorf("api: failover_vm_rpo_seconds should have a series per registered VM: %v", f)
	}
	for _, proc := range []string{"worker", "scheduler"} {
		if fams[proc]["failover_vm_rpo_seconds"] != nil {
			t.Errorf("%s exports failover_vm_rpo_seconds: only the API should", proc)
		}
	}
}

// authProxy is what an SSO proxy does for a browser: it forwards to the
// API with a bearer token.
func authProxy(t *testing.T, apiURL, token string) string {
	t.Helper()
	target, err := url.Parse(apiURL)
	if err != nil {
		t.Fatal(err)
	}
	p := &httputil.ReverseProxy{Rewrite: func(r *httputil.ProxyRequest) {
		r.SetURL(target)
		r.Out.Host = r.In.Host
		r.Out.Header.Set("Authorization", "Bearer "+token)
	}}
	srv := httptest.NewServer(p)
	t.Cleanup(srv.Close)
	return srv.URL
}

func do(t *testing.T, method, url string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// checkAsynqmon checks asynqmon's access rules: no token, no access; a
// viewer may look but not act; an admin may act (pause and resume a queue,
// which the paused gauge shows).
func checkAsynqmon(t *testing.T, b *obsBundle) {
	viewer, admin := authProxy(t, b.apiURL, b.viewer), authProxy(t, b.apiURL, b.admin)
	if code, _ := do(t, "GET", b.apiURL+"/monitoring/"); code != http.StatusUnauthorized {
		t.Errorf("GET /monitoring/ without a token: %d, want 401", code)
	}
	if code, _ := do(t, "GET", b.apiURL+"/monitoring"); code != http.StatusMovedPermanently {
		t.Errorf("GET /monitoring: %d, want a redirect to /monitoring/", code)
	}
	code, body := do(t, "GET", viewer+"/monitoring/")
	if code != http.StatusOK || !strings.Contains(body, `<div id="root">`) {
		t.Errorf("viewer GET /monitoring/: %d %.300s", code, body)
	}
	code, body = do(t, "GET", viewer+"/monitoring/api/queues")
	for _, q := range []string{"critical", "default", "low"} {
		if code != http.StatusOK || !strings.Contains(body, `"queue":"`+q+`"`) {
			t.Errorf("viewer GET /monitoring/api/queues: %d, want queue %s in %.500s", code, q, body)
		}
	}
	if code, body := do(t, "POST", viewer+"/monitoring/api/queues/low:pause"); code != http.StatusForbidden {
		t.Errorf("viewer pausing a queue: %d %s, want 403", code, body)
	}
	if code, body := do(t, "POST", admin+"/monitoring/api/queues/low:pause"); code/100 != 2 {
		t.Fatalf("admin pausing a queue: %d %s", code, body)
	}
	paused := func() float64 {
		v, _ := value(parseMetrics(t, "api", get(t, b.apiURL+"/metrics")), "asynq_queue_paused", map[string]string{"queue": "low"})
		return v
	}
	if v := paused(); v != 1 {
		t.Errorf("asynq_queue_paused{queue=low} = %v while paused", v)
	}
	if code, body := do(t, "POST", admin+"/monitoring/api/queues/low:resume"); code/100 != 2 {
		t.Fatalf("admin resuming a queue: %d %s", code, body)
	}
	if v := paused(); v != 0 {
		t.Errorf("asynq_queue_paused{queue=low} = %v after resume", v)
	}
	// What asynqmon would answer with a 500, or show too widely.
	for _, c := range []struct {
		who, path string
		want      int
	}{
		{viewer, "/monitoring/api/redis_info", http.StatusForbidden},
		{admin, "/monitoring/api/redis_info", http.StatusOK},
		{admin, "/monitoring/api/queues/nosuch", http.StatusNotFound},
		{admin, "/monitoring/api/queues/nosuch/pending_tasks", http.StatusNotFound},
		{viewer, "/monitoring/api/queues/low", http.StatusOK},
		{admin, "/monitoring/api/metrics", http.StatusNotFound},
	} {
		if code, body := do(t, "GET", c.who+c.path); code != c.want {
			t.Errorf("GET %s: %d, want %d: %.300s", c.path, code, c.want, body)
		}
	}
}

// checkChromium renders /monitoring/ (through a viewer's proxy) in headless
// Chromium: a screenshot for the test's artifacts, and the DOM, which must
// list the product's queues.
func checkChromium(t *testing.T, b *obsBundle) {
	chromium := testsvc.Chromium(t, "make observability-tools")
	artifacts := os.Getenv("ARTIFACTS_DIR")
	if artifacts == "" {
		artifacts = t.TempDir()
	}
	if err := os.MkdirAll(artifacts, 0o755); err != nil {
		t.Fatal(err)
	}
	page := authProxy(t, b.apiURL, b.viewer) + "/monitoring/"
	run := func(args ...string) []byte {
		t.Helper()
		ctx, cancel := context.WithTimeout(b.ctx, 2*time.Minute)
		defer cancel()
		base := append(testsvc.ChromiumArgs(t.TempDir()), "--window-size=1280,900", "--virtual-time-budget=10000")
		cmd := exec.CommandContext(ctx, chromium, append(append(base, args...), page)...)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("chromium %v: %v\n%s", args, err, stderr.Bytes())
		}
		return out
	}
	shot := filepath.Join(artifacts, "asynqmon.png")
	run("--screenshot=" + shot)
	if fi, err := os.Stat(shot); err != nil || fi.Size() < 5000 {
		t.Fatalf("screenshot %s: %v (%v bytes)", shot, err, fi)
	}
	t.Logf("asynqmon screenshot: %s", shot)
	dom := string(run("--dump-dom"))
	if err := os.WriteFile(filepath.Join(artifacts, "asynqmon.html"), []byte(dom), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{"critical", "default", "low"} {
		if !strings.Contains(dom, ">"+q+"<") {
			t.Errorf("the rendered asynqmon page does not list queue %s (DOM in %s)", q, filepath.Join(artifacts, "asynqmon.html"))
		}
	}
}

// checkStepLogs parses the worker's JSON log and checks that every line
// logged inside a step of the jobs carries job_id, external_job_id,
// context_id, step and attempt with the job's values, that every step that
// ran logged its start, and that the engine's own messages (its job
// events) come through the step's logger too.
func checkStepLogs(t *testing.T, path string, jobs []*client.FailoverStatus) {
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	byID := map[string]*client.FailoverStatus{}
	for _, j := range jobs {
		byID[j.ID] = j
	}
	// Logged by the runner about a step task before the step runs (no
	// attempt yet).
	preStep := map[string]bool{"dropping stale step task": true, "step already done; advancing": true}
	started := map[string]bool{} // job id + step
	inStep, engine := 0, 0
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Bytes()
		if len(line) == 0 || line[0] != '{' {
			continue
		}
		var rec map[string]any
		if err := json.Unmarshal(line, &rec); err != nil {
			t.Errorf("a worker log line is not JSON: %v: %s", err, line)
			continue
		}
		id, _ := rec["job_id"].(string)
		job := byID[id]
		step, hasStep := rec["step"].(string)
		msg, _ := rec["msg"].(string)
		if job == nil || !hasStep || preStep[msg] {
			continue
		}
		inStep++
		if rec["external_job_id"] != job.ExternalID || rec["context_id"] != job.ContextID || job.Step(step) == nil {
			t.Errorf("log line of job %s: external_job_id %v context_id %v step %v, want %s %s and one of its steps: %s",
				id, rec["external_job_id"], rec["context_id"], step, job.ExternalID, job.ContextID, line)
		}
		if a, ok := rec["attempt"].(float64); !ok || a < 1 {
			t.Errorf("log line of job %s step %s has no attempt: %s", id, step, line)
		}
		switch msg {
		case "step started":
			started[id+" "+step] = true
		case "step completed", "step failed", "step attempt failed; will retry":
		default:
			engine++
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	for _, j := range jobs {
		for _, s := range j.Steps {
			if (s.Status == store.StepCompleted || s.Status == store.StepFailed) && !started[j.ID+" "+s.Name] {
				t.Errorf("job %s (%s): no \"step started\" line for step %s", j.ExternalID, j.Type, s.Name)
			}
		}
	}
	if engine == 0 {
		t.Error("no engine message (job event) logged inside a step")
	}
	t.Logf("%d log lines inside steps checked, %d of them the engine's own", inStep, engine)
}
