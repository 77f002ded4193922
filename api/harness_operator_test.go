package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"

	"github.com/ossea/unifiedfailover/api"
	"github.com/ossea/unifiedfailover/auth"
	"github.com/ossea/unifiedfailover/cloudstack"
	"github.com/ossea/unifiedfailover/failover"
	"github.com/ossea/unifiedfailover/lab"
	"github.com/ossea/unifiedfailover/recovery"
	"github.com/ossea/unifiedfailover/store"
	"github.com/ossea/unifiedfailover/tasks"
	"github.com/ossea/unifiedfailover/virtio"
	"github.com/ossea/unifiedfailover/vsphere"
)

// Tokens of the full bundle, one per role.
const (
	viewerToken   = "uft_test-viewer"
	operatorToken = "uft_test-operator"
	adminToken    = "uft_test-admin-full"
)

// spec is the OpenAPI document, loaded and validated once.
var spec struct {
	once   sync.Once
	doc    *openapi3.T
	router routers.Router
	err    error
}

func openAPI(t *testing.T) (*openapi3.T, routers.Router) {
	t.Helper()
	spec.once.Do(func() {
		loader := openapi3.NewLoader()
		spec.doc, spec.err = loader.LoadFromData(api.OpenAPIDocument())
		if spec.err != nil {
			return
		}
		if spec.err = spec.doc.Validate(context.Background()); spec.err != nil {
			return
		}
		spec.router, spec.err = gorillamux.NewRouter(spec.doc)
	})
	if spec.err != nil {
		t.Fatalf("the OpenAPI document: %v", spec.err)
	}
	return spec.doc, spec.router
}

// full is an API with the failover engine on the in-process lab, a worker
// running every chain, and tokens for every role.
type full struct {
	ctx      context.Context
	t        *testing.T
	store    *store.Store
	lab      *lab.Lab
	url      string
	contexts map[string]string // VM name → context id
	runs     *recovery.Runs    // the worker's plan runner

	mu      sync.Mutex
	covered map[string]bool // "GET /api/v1/…" operations with a validated answer
}

// setupFull is setupLab with every lab VM registered through the short
// form of POST /contexts: its VMware UUID and network mappings, the
// replicas found by the naming rule, the exports by the lab's templates
// and the change ids read from vCenter.
func setupFull(t *testing.T) *full {
	t.Helper()
	return setupFullWith(t, lab.Config{VMs: 3})
}

// setupFullWith is setupFull on a lab of cfg (its DiskSize and
// JobDuration are the harness's).
func setupFullWith(t *testing.T, cfg lab.Config) *full {
	t.Helper()
	f := setupLabWith(t, cfg)
	for _, vm := range f.lab.Manifest().VMs {
		raw, _ := json.Marshal(map[string]any{"vmware_vm_id": vm.VMwareVMID, "network_mappings": vm.Register.NetworkMappings})
		code, body := f.call(operatorToken, "POST", "/api/v1/contexts", string(raw))
		if code != http.StatusCreated {
			t.Fatalf("registering %s: %d %v", vm.Name, code, body)
		}
		f.contexts[vm.Name] = body["context_id"].(string)
	}
	return f
}

// setupLab is an API with the failover engine on the in-process lab (its
// export templates in the engine's replica rules), a worker running every
// chain, and tokens for every role; no VM is registered.
func setupLab(t *testing.T) *full {
	t.Helper()
	return setupLabWith(t, lab.Config{VMs: 3})
}

// setupLabWith is setupLab on a lab of cfg (its DiskSize and JobDuration
// are the harness's).
func setupLabWith(t *testing.T, cfg lab.Config) *full {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	t.Cleanup(cancel)
	cfg.DiskSize, cfg.JobDuration = 16<<20, 5*time.Millisecond
	l, err := lab.Start(ctx, cfg)
	if err != nil {
		t.Fatalf("starting the lab: %v", err)
	}
	t.Cleanup(l.Close)
	p := newPipeline(t, ctx)
	st, runner, log, m := p.store, p.runner, p.log, p.m
	cs, err := cloudstack.New(cloudstack.Config{URL: l.CloudStackURL, APIKey: l.CloudStackAPIKey,
		SecretKey: l.CloudStackSecretKey, ZoneID: l.ZoneID})
	if err != nil {
		t.Fatal(err)
	}
	eng, err := failover.New(failover.EngineConfig{Store: st, Runner: runner, CloudStack: cs,
		VCenter: vsphere.Config{URL: l.VCenter.URL, User: l.VCenter.User, Password: l.VCenter.Password, Insecure: true},
		ZoneID:  l.ZoneID, TemplateID: l.TemplateID, ApplianceVMID: l.ApplianceVMID, Virtio: virtio.Config{Command: "true", DeviceDir: l.DeviceDir},
		Replicas: failover.ReplicaRules{SourceNBDURI: l.SourceNBDURITemplate, ReplicaNBDURI: l.ReplicaNBDURITemplate},
		Logger:   log, Metrics: m, Planner: tasks.PlanSteps})
	if err != nil {
		t.Fatal(err)
	}
	// The pipeline registered the probe; the engine's chains here.
	for _, c := range tasks.Engine(eng) {
		runner.Register(c)
	}
	runs := tasks.PlanRuns(runner, st, eng, log)
	p.startWorker(t)
	a, err := api.New(api.Config{Auth: auth.Static(map[string]auth.Principal{
		viewerToken: {Name: "vera", Role: auth.Viewer}, operatorToken: {Name: "otto", Role: auth.Operator},
		adminToken: {Name: "ada", Role: auth.Admin}}),
		Store: st, Runner: runner, Engine: eng, Redis: p.rdb, Logger: log, Metrics: m, Gatherer: p.reg, MaxBodyBytes: 64 << 10})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(a.Handler())
	t.Cleanup(hs.Close)
	return &full{ctx: ctx, t: t, store: st, lab: l, url: hs.URL, contexts: map[string]string{}, covered: map[string]bool{}, runs: runs}
}

// call sends a request with token ("" for none) and checks the answer is
// JSON that matches the OpenAPI document (when the route is documented).
func (f *full) call(token, method, path, body string) (int, map[string]any) {
	f.t.Helper()
	code, raw := f.raw(token, method, path, body, nil)
	var out map[string]any
	if len(raw) > 0 && json.Unmarshal(raw, &out) != nil {
		f.t.Fatalf("%s %s: body is not a JSON object: %.300q", method, path, raw)
	}
	return code, out
}

// raw is call without decoding; header, when not nil, adds headers.
func (f *full) raw(token, method, path, body string, header http.Header) (int, []byte) {
	f.t.Helper()
	code, _, raw := f.send(token, method, path, body, header)
	return code, raw
}

// send is raw that also returns the answer's headers.
func (f *full) send(token, method, path, body string, header http.Header) (int, http.Header, []byte) {
	f.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(f.ctx, method, f.url+path, rd)
	if err != nil {
		f.t.Fatalf("%s %s: %v", method, path, err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		f.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	f.validate(req, resp, raw)
	return resp.StatusCode, resp.Header, raw
}

// validate checks a response against the OpenAPI document and records
// the operation as covered.
func (f *full) validate(req *http.Request, resp *http.Response, raw []byte) {
	f.t.Helper()
	doc, router := openAPI(f.t)
	_ = doc
	// The router matches on the server-relative URL.
	u := *req.URL
	u.Scheme, u.Host = "", ""
	rr := req.Clone(f.ctx)
	rr.URL = &u
	rr.Host = ""
	route, params, err := router.FindRoute(rr)
	if err != nil {
		// Undocumented paths (404 no route, 405) still answer JSON errors.
		if resp.StatusCode != http.StatusNotFound && resp.StatusCode != http.StatusMethodNotAllowed {
			f.t.Errorf("%s %s answered %d but is not in the OpenAPI document: %v", req.Method, req.URL.Path, resp.StatusCode, err)
		}
		return
	}
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: rr, PathParams: params, Route: route},
		Status:                 resp.StatusCode, Header: resp.Header, Body: io.NopCloser(bytes.NewReader(raw)),
		Options: &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true},
	}
	if err := openapi3filter.ValidateResponse(f.ctx, in); err != nil {
		f.t.Errorf("%s %s → %d does not match the OpenAPI document: %v\nbody: %.600s", req.Method, req.URL.Path, resp.StatusCode, err, raw)
		return
	}
	f.mu.Lock()
	f.covered[req.Method+" "+route.Path] = true
	f.mu.Unlock()
}

// uncovered lists the documented operations (except prefixes skipped)
// that got no validated answer.
func (f *full) uncovered(skip ...string) []string {
	doc, _ := openAPI(f.t)
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
outer:
	for p, item := range doc.Paths.Map() {
		for _, s := range skip {
			if strings.HasPrefix(p, s) {
				continue outer
			}
		}
		for method := range item.Operations() {
			if !f.covered[method+" "+p] {
				out = append(out, method+" "+p)
			}
		}
	}
	sort.Strings(out)
	return out
}

// wait polls a job until it ends and returns it.
func (f *full) wait(id string) map[string]any {
	f.t.Helper()
	for deadline := time.Now().Add(2 * time.Minute); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		// The read itself waits for the job's end (at most 20 s at a time).
		code, job := f.call(viewerToken, "GET", "/api/v1/jobs/"+url.PathEscape(id)+"?wait=20s", "")
		if code != 200 {
			f.t.Fatalf("GET job %s: %d %v", id, code, job)
		}
		if s := job["status"]; s != "pending" && s != "running" {
			return job
		}
	}
	f.t.Fatalf("job %s did not finish", id)
	return nil
}

// dbState is every table of the test's schema: row count and a digest of
// its rows.
func (f *full) dbState() map[string]string {
	f.t.Helper()
	rows, err := f.store.Pool().Query(f.ctx, `SELECT table_name FROM information_schema.tables
		WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' ORDER BY table_name`)
	if err != nil {
		f.t.Fatal(err)
	}
	var tables []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			f.t.Fatal(err)
		}
		tables = append(tables, n)
	}
	rows.Close()
	if len(tables) < 5 {
		f.t.Fatalf("found only tables %v", tables)
	}
	out := map[string]string{}
	for _, tbl := range tables {
		var n int64
		var digest string
		if err := f.store.Pool().QueryRow(f.ctx, fmt.Sprintf(`SELECT count(*), COALESCE(md5(string_agg(t::text, '|' ORDER BY t::text)), '')
			FROM %q t`, tbl)).Scan(&n, &digest); err != nil {
			f.t.Fatal(err)
		}
		out[tbl] = fmt.Sprintf("%d rows %s", n, digest)
	}
	return out
}
