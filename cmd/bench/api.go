package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/ossea/unifiedfailover/client"
	"github.com/ossea/unifiedfailover/failover"
	"github.com/ossea/unifiedfailover/store"
)

type apiRow struct {
	name       string
	requests   int
	errors     int
	wall       time.Duration
	p50, p99   float64 // ms
	firstError string
}

// api measures the product's status and dry-run endpoints, a bare chi
// handler with one indexed query, and chi answering the status from
// memory (the floor), at f.concurrency.
func (e *env) api(ctx context.Context, f flags) ([]apiRow, error) {
	st, err := e.startStack(ctx, 1, nil)
	if err != nil {
		return nil, err
	}
	defer st.Stop()
	api := client.New(st.APIURL, e.token)
	// A completed job to ask about: one test failover of the first VM.
	fo, err := api.Failover(ctx, failover.FailoverRequest{ContextID: e.contexts[0], FailoverType: failover.Test})
	if err != nil {
		return nil, fmt.Errorf("starting a failover to look at: %w", err)
	}
	if j, err := api.WaitJob(ctx, fo.JobID, pollEvery, nil); err != nil || j.Status != store.JobCompleted {
		return nil, fmt.Errorf("failover %s: %v (%s)", fo.JobID, err, jobStatus(j))
	}
	// Roll it back, so the VM is ready for the dry runs (and later phases).
	rb, err := api.Rollback(ctx, failover.RollbackRequest{ContextID: e.contexts[0]})
	if err != nil {
		return nil, fmt.Errorf("rolling back %s: %w", fo.JobID, err)
	}
	if j, err := api.WaitJob(ctx, rb.JobID, pollEvery, nil); err != nil || j.Status != store.JobCompleted {
		return nil, fmt.Errorf("rollback %s: %v (%s)", rb.JobID, err, jobStatus(j))
	}
	// The bare handler: chi, one indexed query on the same table, JSON.
	pool, err := pgxpool.New(ctx, e.dbURL)
	if err != nil {
		return nil, err
	}
	defer pool.Close()
	r := chi.NewRouter()
	r.Get("/bare/{job_id}", func(w http.ResponseWriter, r *http.Request) {
		var status, ext string
		err := pool.QueryRow(r.Context(), `SELECT status, external_job_id FROM job_tracking WHERE id = $1::uuid`,
			chi.URLParam(r, "job_id")).Scan(&status, &ext)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]string{"job_id": chi.URLParam(r, "job_id"), "status": status, "external_job_id": ext})
	})
	// The floor: chi answering with the status endpoint's own answer, kept
	// in memory: no auth, no query, no encoding. No handler on this machine
	// answers faster at this concurrency, so it bounds what any change to
	// the status endpoint (a cache included) could reach.
	var status json.RawMessage
	if err := api.Do(ctx, http.MethodGet, "/api/v1/failover/"+fo.JobID+"/status", nil, &status); err != nil {
		return nil, fmt.Errorf("reading the status of %s: %w", fo.JobID, err)
	}
	r.Get("/memory/{job_id}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(status)
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	srv := &http.Server{Handler: r, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	defer srv.Close()
	bareURL := "http://" + ln.Addr().String()

	hc := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConns: f.concurrency * 2,
		MaxIdleConnsPerHost: f.concurrency * 2, IdleConnTimeout: time.Minute}}
	dry, _ := json.Marshal(failover.FailoverRequest{ContextID: e.contexts[0], FailoverType: failover.Test, DryRun: true})
	targets := []struct {
		name   string
		method string
		url    string
		body   []byte
		want   int
	}{
		{"chi + status answer from memory", http.MethodGet, bareURL + "/memory/" + fo.JobID, nil, http.StatusOK},
		{"bare chi + 1 indexed query", http.MethodGet, bareURL + "/bare/" + fo.JobID, nil, http.StatusOK},
		{"GET /failover/{id}/status", http.MethodGet, st.APIURL + "/api/v1/failover/" + fo.JobID + "/status", nil, http.StatusOK},
		{"POST /failover/unified dry_run", http.MethodPost, st.APIURL + "/api/v1/failover/unified", dry, http.StatusOK},
	}
	var out []apiRow
	for _, t := range targets {
		do := func() (int, error) {
			req, err := http.NewRequestWithContext(ctx, t.method, t.url, bytes.NewReader(t.body))
			if err != nil {
				return 0, err
			}
			req.Header.Set("Authorization", "Bearer "+e.token)
			if t.body != nil {
				req.Header.Set("Content-Type", "application/json")
			}
			resp, err := hc.Do(req)
			if err != nil {
				return 0, err
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			return resp.StatusCode, nil
		}
		// Warm-up: open the connections, fill caches.
		_ = load(f.concurrency, f.concurrency*2, do, t.want)
		row := load(f.concurrency, f.requests, do, t.want)
		row.name = t.name
		out = append(out, row)
	}
	// The same endpoints with wrk, when it is installed.
	var wt []wrkTarget
	for _, t := range targets {
		wt = append(wt, wrkTarget{name: t.name + " (wrk)", method: t.method, url: t.url, body: t.body})
	}
	wrows, err := wrkLoad(ctx, e.token, f.concurrency, f.wrkFor, wt)
	if err != nil {
		return nil, err
	}
	return append(out, wrows...), nil
}

// load sends total requests with conc at a time and measures them.
func load(conc, total int, do func() (int, error), want int) apiRow {
	lat := make([]float64, total)
	var next atomic.Int64
	var errCount atomic.Int64
	var firstErr atomic.Value
	var wg sync.WaitGroup
	began := time.Now()
	for range conc {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= total {
					return
				}
				t0 := time.Now()
				code, err := do()
				lat[i] = float64(time.Since(t0)) / float64(time.Millisecond)
				if err != nil || code != want {
					errCount.Add(1)
					firstErr.CompareAndSwap(nil, fmt.Sprintf("status %d, %v", code, err))
				}
			}
		})
	}
	wg.Wait()
	row := apiRow{requests: total, errors: int(errCount.Load()), wall: time.Since(began), p50: pct(lat, 50), p99: pct(lat, 99)}
	if v, ok := firstErr.Load().(string); ok {
		row.firstError = v
	}
	return row
}

func printAPI(f flags, rows []apiRow) {
	fmt.Printf("API: %d requests per endpoint, %d concurrent, keep-alive, loopback\n", f.requests, f.concurrency)
	fmt.Printf("%-38s %10s %10s %10s %8s\n", "endpoint", "req/s", "p50", "p99", "errors")
	for _, r := range rows {
		fmt.Printf("%-38s %10.0f %8.2fms %8.2fms %8d\n", r.name, float64(r.requests)/r.wall.Seconds(), r.p50, r.p99, r.errors)
		if r.firstError != "" {
			fmt.Printf("  first error: %s\n", r.firstError)
		}
	}
	if len(rows) == 0 || !strings.HasSuffix(rows[len(rows)-1].name, "(wrk)") {
		fmt.Printf("  (wrk is not installed: make bench installs it for a second set of figures)\n\n")
		return
	}
	fmt.Printf("  (wrk): the same requests from wrk, a C load generator, %d connections on 2 threads for %s after 1 s of warm-up\n", f.concurrency, f.wrkFor)
	fmt.Println()
}
