package main

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"github.com/ossea/unifiedfailover/api/apiv1"
)

// drills create, update and delete send what the flags say: VMs by name
// become context ids, and update keeps the settings no flag changes.
func TestDrillsCreateUpdateDelete(t *testing.T) {
	t.Parallel()
	base, requests := recordingAPI(t, func(w http.ResponseWriter, r *http.Request, body []byte) {
		switch {
		case r.Method == http.MethodGet && r.URL.Path == "/api/v1/contexts/web-1":
			_ = json.NewEncoder(w).Encode(apiv1.ContextDetail{VMContext: apiv1.VMContext{ContextID: "ctx-7", VMName: "web-1"}})
		case r.Method == http.MethodGet && r.URL.Path == "/api/v1/drills/d-1":
			_ = json.NewEncoder(w).Encode(apiv1.Drill{ID: "d-1", Name: "nightly", ContextIDs: []string{"ctx-7"}, Cron: "0 2 * * *",
				Timezone: "UTC", Hold: "10m0s", MaxParallel: 2, Enabled: true})
		case r.Method == http.MethodPost || r.Method == http.MethodPut:
			var sp apiv1.DrillSpec
			_ = json.Unmarshal(body, &sp)
			_ = json.NewEncoder(w).Encode(apiv1.Drill{ID: "d-1", Name: sp.Name, ContextIDs: sp.ContextIDs, Cron: sp.Cron})
		case r.Method == http.MethodDelete:
			w.WriteHeader(http.StatusNoContent)
		default:
			http.NotFound(w, r)
		}
	})
	run := func(args ...string) string {
		t.Helper()
		return execute(t, base, false, (*app).drillsCmd, args...)
	}
	run("create", "--name", "nightly", "--cron", "0 2 * * *", "--vm", "web-1", "--hold", "10m")
	run("update", "d-1", "--cron", "30 3 * * 6")
	if out := run("delete", "d-1"); !strings.Contains(out, "deleted") {
		t.Fatalf("delete: %q", out)
	}
	got := requests()
	want := []string{
		`GET /api/v1/contexts/web-1 `,
		`POST /api/v1/drills {"name":"nightly","context_ids":["ctx-7"],"cron":"0 2 * * *","hold":"10m"}`,
		`GET /api/v1/drills/d-1 `,
		`PUT /api/v1/drills/d-1 {"name":"nightly","context_ids":["ctx-7"],"cron":"30 3 * * 6","timezone":"UTC","hold":"10m0s","max_parallel":2,"enabled":true}`,
		`DELETE /api/v1/drills/d-1 `,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("requests:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// With --json, the commands that only report what they did print JSON too.
func TestJSONForCommandsThatReportWhatTheyDid(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.Method == http.MethodDelete && strings.HasPrefix(r.URL.Path, "/api/v1/network-mappings/"):
			w.Header().Set("Content-Type", "application/json")
			_ = json.NewEncoder(w).Encode(apiv1.MappingsDeleted{Deleted: 2})
		case r.Method == http.MethodDelete:
			w.WriteHeader(http.StatusNoContent)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	for _, c := range []struct {
		cmd  func(a *app) *cobra.Command
		args []string
	}{
		{(*app).mappingsCmd, []string{"delete", "web-1", "VM Network"}},
		{(*app).unregisterCmd, []string{"web-1", "--yes"}},
		{(*app).drillsCmd, []string{"delete", "d-1"}},
	} {
		out := execute(t, srv.URL, true, c.cmd, c.args...)
		var v map[string]any
		if err := json.Unmarshal([]byte(out), &v); err != nil || len(v) == 0 {
			t.Fatalf("%v --json printed %q (%v)", c.args, out, err)
		}
	}
}
