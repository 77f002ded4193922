package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ossea/unifiedfailover/api"
	"github.com/ossea/unifiedfailover/auth"
	"github.com/ossea/unifiedfailover/store"
)

const testToken = "uft_test-admin"

type bundle struct {
	ctx         context.Context
	store       *store.Store
	url         string
	api         *api.Server
	startWorker func(t *testing.T)
}

// setup runs the real API router and a real worker in process, against a
// Postgres schema and a Redis of the test's own.
func setup(t *testing.T) *bundle {
	t.Helper()
	b := setupIdle(t)
	b.startWorker(t)
	return b
}

// setupIdle is setup without a worker: jobs are accepted and queued, and
// nothing runs them until startWorker.
func setupIdle(t *testing.T) *bundle {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	p := newPipeline(t, ctx)
	a, err := api.New(api.Config{Auth: auth.Static(map[string]auth.Principal{testToken: {Name: "tester", Role: auth.Admin}}),
		Store: p.store, Runner: p.runner, Redis: p.rdb, Logger: p.log, Metrics: p.m, Gatherer: p.reg, MaxBodyBytes: 1024})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(a.Handler())
	t.Cleanup(hs.Close)
	return &bundle{ctx: ctx, store: p.store, url: hs.URL, api: a, startWorker: p.startWorker}
}

func (b *bundle) do(t *testing.T, method, path, body string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequestWithContext(b.ctx, method, b.url+path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+testToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	raw, _ := io.ReadAll(resp.Body)
	if len(raw) > 0 && json.Unmarshal(raw, &out) != nil {
		t.Fatalf("%s %s: body is not JSON: %q", method, path, raw)
	}
	return resp.StatusCode, out
}

// startProbe starts the probe chain and returns the 202 answer.
func (b *bundle) startProbe(t *testing.T) map[string]any {
	t.Helper()
	code, started := b.do(t, "POST", "/api/v1/probe", "")
	if code != http.StatusAccepted {
		t.Fatalf("POST probe: %d %v", code, started)
	}
	return started
}

// answer is the answer to a request made by getAsync, and when it came.
type answer struct {
	code int
	body map[string]any
	at   time.Time
}

// getAsync sends a GET of each path at once and returns their answers as
// they come.
func (b *bundle) getAsync(t *testing.T, paths ...string) <-chan answer {
	answers := make(chan answer, len(paths))
	for _, path := range paths {
		go func() {
			code, body := b.do(t, "GET", path, "")
			answers <- answer{code, body, time.Now()}
		}()
	}
	return answers
}

func (b *bundle) waitDone(t *testing.T, id string) map[string]any {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		code, job := b.do(t, "GET", "/api/v1/jobs/"+id, "")
		if code != 200 {
			t.Fatalf("GET job %s: %d %v", id, code, job)
		}
		if s := job["status"]; s != "pending" && s != "running" {
			return job
		}
	}
	t.Fatalf("job %s did not finish", id)
	return nil
}

func TestProbeChainThroughAPIAndWorker(t *testing.T) {
	t.Parallel()
	b := setup(t)
	started := b.startProbe(t)
	id, ext := started["job_id"].(string), started["external_job_id"].(string)
	job := b.waitDone(t, id)
	if job["status"] != "completed" || job["progress_percent"] != 100.0 {
		t.Fatalf("job: %v", job)
	}
	steps := job["steps"].([]any)
	want := []string{"accept", "process", "finish"}
	var prevEnd time.Time
	for i, s := range steps {
		st := s.(map[string]any)
		start, _ := time.Parse(time.RFC3339Nano, st["started_at"].(string))
		end, _ := time.Parse(time.RFC3339Nano, st["ended_at"].(string))
		if st["name"] != want[i] || st["status"] != "completed" || st["attempts"] != 1.0 || end.Before(start) || start.Before(prevEnd) {
			t.Fatalf("step %d: %v", i, st)
		}
		prevEnd = end
	}
	code, byExt := b.do(t, "GET", "/api/v1/jobs/"+ext, "")
	if code != 200 || byExt["job_id"] != id {
		t.Fatalf("by external id: %d %v", code, byExt)
	}
	code, evs := b.do(t, "GET", "/api/v1/jobs/"+ext+"/events", "")
	if code != 200 || len(evs["events"].([]any)) != 3 {
		t.Fatalf("events: %d %v", code, evs)
	}
}

// A job read with wait answers when the job ends, not at the end of the
// wait; with no end in sight it answers, as the job is, when the wait is
// over.
func TestJobReadWaitsForTheEnd(t *testing.T) {
	t.Parallel()
	b := setupIdle(t)
	id := b.startProbe(t)["job_id"].(string)
	// No worker: the job stays pending through the whole wait.
	began := time.Now()
	code, job := b.do(t, "GET", "/api/v1/jobs/"+id+"?wait=300ms", "")
	if code != 200 || job["status"] != "pending" || time.Since(began) < 300*time.Millisecond {
		t.Fatalf("wait on a job nobody runs: %d %v after %s", code, job, time.Since(began))
	}
	answers := b.getAsync(t, "/api/v1/jobs/"+id+"?wait=50s", "/api/v1/failover/"+id+"/status?wait=50s")
	time.Sleep(200 * time.Millisecond) // both are waiting
	b.startWorker(t)
	for range 2 {
		a := <-answers
		if a.code != 200 || a.body["status"] != "completed" {
			t.Fatalf("waited read: %d %v", a.code, a.body)
		}
		ended, err := time.Parse(time.RFC3339Nano, a.body["ended_at"].(string))
		if err != nil {
			t.Fatal(err)
		}
		// The store looks again every 5 s on its own; well under that, the
		// answer came from the job's end being notified.
		if lag := a.at.Sub(ended); lag > 3*time.Second {
			t.Fatalf("answered %s after the job ended", lag)
		}
	}
}

// A server that starts shutting down (Drain) answers the reads waiting for
// a job's end at once, with the job as it is, so its graceful shutdown
// does not wait for them.
func TestDrainAnswersWaitingReads(t *testing.T) {
	t.Parallel()
	b := setupIdle(t)
	id := b.startProbe(t)["job_id"].(string)
	answers := b.getAsync(t, "/api/v1/failover/"+id+"/status?wait=50s")
	time.Sleep(300 * time.Millisecond) // it is waiting
	select {
	case a := <-answers:
		t.Fatalf("answered before the drain: %d %v", a.code, a.body)
	default:
	}
	drained := time.Now()
	b.api.Drain()
	a := <-answers
	if a.code != 200 || a.body["status"] != "pending" || time.Since(drained) > 3*time.Second {
		t.Fatalf("after Drain: %d %v, %s later", a.code, a.body, time.Since(drained))
	}
}

func TestConcurrentEnqueuesForOneVMMakeOneJob(t *testing.T) {
	t.Parallel()
	b := setupIdle(t) // no worker yet: the first job stays active throughout
	if err := b.store.CreateContext(b.ctx, &store.VMContext{ContextID: "ctx-vm1", VMName: "vm1", VMwareVMID: "u-1",
		OSType: "linux", Firmware: "bios", CurrentStatus: store.StatusReadyForFailover}); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	type res struct {
		code int
		body map[string]any
	}
	out := make(chan res, 50)
	start := make(chan struct{})
	for range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			code, body := b.do(t, "POST", "/api/v1/probe", `{"context_id":"ctx-vm1"}`)
			out <- res{code, body}
		}()
	}
	close(start)
	wg.Wait()
	close(out)
	var accepted []map[string]any
	var conflicts []map[string]any
	for r := range out {
		switch r.code {
		case http.StatusAccepted:
			accepted = append(accepted, r.body)
		case http.StatusConflict:
			conflicts = append(conflicts, r.body)
		default:
			t.Fatalf("unexpected answer %d %v", r.code, r.body)
		}
	}
	jobs, err := b.store.ListJobs(b.ctx, store.JobFilter{ContextID: "ctx-vm1"})
	if err != nil {
		t.Fatal(err)
	}
	if len(accepted) != 1 || len(conflicts) != 49 || len(jobs) != 1 {
		t.Fatalf("%d accepted, %d conflicts, %d jobs; want 1, 49, 1", len(accepted), len(conflicts), len(jobs))
	}
	winner := accepted[0]["job_id"].(string)
	for _, c := range conflicts {
		d, _ := c["details"].(map[string]any)
		if c["code"] != "conflict" || d["active_job_id"] != winner || !strings.Contains(c["error"].(string), winner) {
			t.Fatalf("conflict does not name the active job %s: %v", winner, c)
		}
	}
	b.startWorker(t)
	b.waitDone(t, winner)
	code, body := b.do(t, "POST", "/api/v1/probe", `{"context_id":"ctx-vm1"}`)
	if code != http.StatusAccepted {
		t.Fatalf("after the job ended a new one should be accepted: %d %v", code, body)
	}
}

func TestBadInputGetsJSONErrors(t *testing.T) {
	t.Parallel()
	b := setup(t)
	cases := []struct {
		name, method, path, body string
		code                     int
		field                    string
	}{
		{"malformed", "POST", "/api/v1/probe", `{"context_id":`, 400, ""},
		{"unknown field", "POST", "/api/v1/probe", `{"vm":"x"}`, 400, "vm"},
		{"wrong type", "POST", "/api/v1/probe", `{"context_id":5}`, 400, "context_id"},
		{"trailing data", "POST", "/api/v1/probe", `{} {}`, 400, ""},
		{"oversized", "POST", "/api/v1/probe", `{"context_id":"` + strings.Repeat("a", 2000) + `"}`, 413, ""},
		{"unknown context", "POST", "/api/v1/probe", `{"context_id":"nope"}`, 404, ""},
		{"unknown job", "GET", "/api/v1/jobs/nope", "", 404, ""},
		{"bad events cursor", "GET", "/api/v1/jobs/nope/events?after=-1", "", 400, "after"},
		{"wait not a duration", "GET", "/api/v1/jobs/nope?wait=soon", "", 400, "wait"},
		{"wait too long", "GET", "/api/v1/jobs/nope?wait=2m", "", 400, "wait"},
		{"negative wait", "GET", "/api/v1/failover/nope/status?wait=-1s", "", 400, "wait"},
		{"wait on unknown job", "GET", "/api/v1/jobs/nope?wait=5s", "", 404, ""},
		{"no route", "GET", "/api/v1/nothing", "", 404, ""},
	}
	for _, c := range cases {
		code, body := b.do(t, c.method, c.path, c.body)
		if code != c.code || body["error"] == "" || body["code"] == "" {
			t.Errorf("%s: got %d %v, want %d with a JSON error", c.name, code, body, c.code)
		}
		if c.field != "" && body["field"] != c.field {
			t.Errorf("%s: error should name field %q: %v", c.name, c.field, body)
		}
	}
	if jobs, _ := b.store.ListJobs(b.ctx, store.JobFilter{}); len(jobs) != 0 {
		t.Fatalf("bad requests created jobs: %d", len(jobs))
	}
}

func TestHealthAndReadiness(t *testing.T) {
	t.Parallel()
	b := setup(t)
	for _, p := range []string{"/healthz", "/readyz"} {
		if code, body := b.do(t, "GET", p, ""); code != 200 {
			t.Fatalf("%s: %d %v", p, code, body)
		}
	}
	resp, err := http.Get(b.url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !bytes.Contains(raw, []byte("failover_api_requests_total")) {
		t.Fatalf("/metrics lacks the API counter")
	}
}
