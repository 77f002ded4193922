package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ossea/unifiedfailover/api/apiv1"
)

const planYAML = `
name: shop
max_parallel_vms: 4
test_ttl: 2h
waves:
  - name: db
    members:
      - vm: db-1
      - vm: db-2
        depends_on:
          - member: db-1
            soft: true
        readiness: {type: tcp, address: "db-2:5432", timeout: 5m}
  - name: web
    on_failure: continue
    members:
      - vm: web-1
        optional: true
        pre_power_on:
          - {type: webhook, url: "https://hooks.example/lb", modes: [test]}
`

// planStub is an API with one plan (shop, version 3) that records every
// request: method, path, If-Match and body.
type planStub struct {
	mu    sync.Mutex
	got   []string
	valid apiv1.PlanValidation
	url   string
}

func newPlanStub(t *testing.T) *planStub {
	t.Helper()
	s := &planStub{valid: apiv1.PlanValidation{Valid: true, Blockers: []apiv1.PlanIssue{}, Warnings: []apiv1.PlanIssue{}}}
	var spec apiv1.PlanSpec
	if err := decodePlan([]byte(planYAML), &spec); err != nil {
		t.Fatal(err)
	}
	stored := apiv1.RecoveryPlan{PlanSpec: spec, ID: "p-1", Version: 3, CreatedBy: "otto", UpdatedAt: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body bytes.Buffer
		_, _ = body.ReadFrom(r.Body)
		s.mu.Lock()
		s.got = append(s.got, strings.TrimSpace(r.Method+" "+r.URL.Path+" "+r.Header.Get("If-Match")+" "+strings.TrimSpace(body.String())))
		valid := s.valid
		s.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		switch {
		case r.Method == http.MethodGet && r.URL.Path == "/api/v1/plans":
			_ = json.NewEncoder(w).Encode(apiv1.PlanList{Plans: []apiv1.RecoveryPlan{stored}})
		case r.Method == http.MethodGet && r.URL.Path == "/api/v1/plans/shop":
			_ = json.NewEncoder(w).Encode(stored)
		case r.Method == http.MethodPost && r.URL.Path == "/api/v1/plans/shop/validate":
			_ = json.NewEncoder(w).Encode(valid)
		case r.Method == http.MethodPost || r.Method == http.MethodPut:
			var sp apiv1.PlanSpec
			_ = json.Unmarshal(body.Bytes(), &sp)
			if len(sp.Waves) == 2 && len(sp.Waves[1].Members) == 0 {
				w.WriteHeader(http.StatusBadRequest)
				_ = json.NewEncoder(w).Encode(apiv1.Error{Error: "the plan cannot run", Code: apiv1.CodeInvalidArgument,
					Details: map[string]any{"blockers": []apiv1.PlanIssue{{Field: "waves[1].members", Message: "a wave needs at least one member"}}}})
				return
			}
			_ = json.NewEncoder(w).Encode(apiv1.RecoveryPlan{PlanSpec: sp, ID: "p-1", Version: 4})
		case r.Method == http.MethodDelete:
			w.WriteHeader(http.StatusNoContent)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	s.url = srv.URL
	return s
}

func (s *planStub) requests() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := s.got
	s.got = nil
	return out
}

// run runs failoverctl plans with args and returns its output and exit
// code.
func (s *planStub) run(asJSON bool, args ...string) (string, int) {
	var out bytes.Buffer
	a := &app{apiURL: s.url, token: "t", out: &out, json: asJSON}
	cmd := a.plansCmd()
	cmd.SetArgs(args)
	cmd.SetOut(&out)
	cmd.SetErr(&out)
	err := cmd.ExecuteContext(context.Background())
	return out.String(), exitCode(err)
}

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// plans create and update read YAML or JSON by the API's member names,
// refuse unknown members before sending anything, and update sends the
// version it read as If-Match.
func TestPlansCreateUpdate(t *testing.T) {
	t.Parallel()
	s := newPlanStub(t)
	wantBody := `{"name":"shop","max_parallel_vms":4,"test_ttl":"2h","waves":[{"name":"db","members":[{"vm":"db-1"},` +
		`{"vm":"db-2","depends_on":[{"member":"db-1","soft":true}],"readiness":{"type":"tcp","address":"db-2:5432","timeout":"5m"}}]},` +
		`{"name":"web","on_failure":"continue","members":[{"vm":"web-1","optional":true,"pre_power_on":[{"type":"webhook","url":"https://hooks.example/lb","modes":["test"]}]}]}]}`
	yamlFile := writeFile(t, "shop.yaml", planYAML)
	if out, code := s.run(false, "create", "-f", yamlFile); code != 0 || !strings.Contains(out, "plan shop created: p-1") {
		t.Fatalf("create from YAML: %d %q", code, out)
	}
	if got := s.requests(); len(got) != 1 || got[0] != "POST /api/v1/plans  "+wantBody {
		t.Fatalf("create sent:\n%v\nwant:\nPOST /api/v1/plans %s", got, wantBody)
	}
	jsonFile := writeFile(t, "shop.json", wantBody)
	if out, code := s.run(false, "update", "shop", "-f", jsonFile); code != 0 || !strings.Contains(out, "version 4") {
		t.Fatalf("update from JSON: %d %q", code, out)
	}
	if got := s.requests(); len(got) != 2 || got[0] != "GET /api/v1/plans/shop" || got[1] != `PUT /api/v1/plans/shop "v3" `+wantBody {
		t.Fatalf("update sent %v", got)
	}
	// Unknown members, in YAML or JSON, are refused before any request.
	for _, bad := range []string{
		writeFile(t, "bad.yaml", "name: shop\nwaves:\n  - members:\n      - vm: a\n        boot_delay: 30\n"),
		writeFile(t, "bad.json", `{"name":"shop","waves":[],"colour":"red"}`),
		writeFile(t, "notyaml.yaml", "name: [shop\n"),
		writeFile(t, "empty.yaml", "# nothing\n"),
	} {
		if out, code := s.run(false, "create", "-f", bad); code != exitUsage {
			t.Errorf("create -f %s: %d %q, want exit %d", filepath.Base(bad), code, out, exitUsage)
		}
	}
	if _, code := s.run(false, "create"); code != exitUsage {
		t.Errorf("create without -f: exit %d", code)
	}
	if got := s.requests(); len(got) != 0 {
		t.Fatalf("refused files sent %v", got)
	}
	// A plan the API refuses: its blockers are printed, exit 2.
	empty := writeFile(t, "empty.yaml", "name: shop\nwaves:\n  - members: [{vm: a}]\n  - members: []\n")
	if out, code := s.run(false, "create", "-f", empty); code != exitUsage || !strings.Contains(out, "BLOCKER waves[1].members: a wave needs at least one member") {
		t.Fatalf("refused create: %d %q", code, out)
	}
}

// plans, show, delete and validate: what they print and their exit codes.
func TestPlansShowDeleteValidate(t *testing.T) {
	t.Parallel()
	s := newPlanStub(t)
	if out, code := s.run(false); code != 0 || !strings.Contains(out, "shop") || !strings.Contains(out, "p-1") {
		t.Fatalf("plans: %d %q", code, out)
	}
	out, code := s.run(false, "show", "shop")
	for _, want := range []string{
		"shop (p-1), version 3, by otto",
		"max parallel VMs 4", "test TTL 2h",
		"wave 1 db (on failure halt)",
		"- db-2 (vm db-2) critical, power_on, ready when tcp db-2:5432, timeout 5m",
		"depends on db-1 (soft)",
		"wave 2 web (on failure continue)",
		"- web-1 (vm web-1) optional",
		"pre-power-on hook: webhook https://hooks.example/lb (timeout 5m; test)",
	} {
		if code != 0 || !strings.Contains(out, want) {
			t.Errorf("show lacks %q (exit %d):\n%s", want, code, out)
		}
	}
	if out, code := s.run(true, "show", "shop"); code != 0 || !strings.Contains(out, `"version": 3`) {
		t.Fatalf("show --json: %d %q", code, out)
	}
	s.requests()
	if _, code := s.run(false, "delete", "shop"); code != exitUsage {
		t.Fatalf("delete without --yes: exit %d", code)
	}
	if got := s.requests(); len(got) != 0 {
		t.Fatalf("delete without --yes sent %v", got)
	}
	if out, code := s.run(false, "delete", "shop", "--yes"); code != 0 || !strings.Contains(out, "deleted") {
		t.Fatalf("delete: %d %q", code, out)
	}
	if got := s.requests(); len(got) != 1 || got[0] != "DELETE /api/v1/plans/shop" {
		t.Fatalf("delete sent %v", got)
	}

	if out, code := s.run(false, "validate", "shop"); code != 0 || !strings.Contains(out, "VALID (0 blocker(s)") {
		t.Fatalf("validate: %d %q", code, out)
	}
	s.mu.Lock()
	s.valid = apiv1.PlanValidation{Blockers: []apiv1.PlanIssue{{Field: "waves[0].members[1].vm", Members: []string{"db-2"},
		Message: "member db-2: VM db-2 is replicating"}}, Warnings: []apiv1.PlanIssue{{Field: "waves[0].members[0].vm",
		Members: []string{"db-1"}, Message: "the RPO is unknown"}}}
	s.mu.Unlock()
	out, code = s.run(false, "validate", "shop", "--type", "test")
	if code != exitConflict || !strings.Contains(out, "NOT VALID") ||
		!strings.Contains(out, "BLOCKER waves[0].members[1].vm [db-2]: member db-2: VM db-2 is replicating") ||
		!strings.Contains(out, "WARNING waves[0].members[0].vm [db-1]: the RPO is unknown") {
		t.Fatalf("validate with a blocker: %d %q", code, out)
	}
	if out, code := s.run(true, "validate", "shop"); code != exitConflict || !strings.Contains(out, `"valid": false`) {
		t.Fatalf("validate --json with a blocker: %d %q", code, out)
	}
	if _, code := s.run(false, "validate", "shop", "--type", "prod"); code != exitUsage {
		t.Fatalf("validate --type prod: exit %d", code)
	}
	got := s.requests()
	want := []string{"POST /api/v1/plans/shop/validate", `POST /api/v1/plans/shop/validate  {"mode":"test"}`, "POST /api/v1/plans/shop/validate"}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("validate sent %q, want %q", got, want)
	}
}
