package client_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/ossea/unifiedfailover/api/apiv1"
	"github.com/ossea/unifiedfailover/client"
)

// TestPlans: each plan method sends its route, body and (for an update)
// If-Match, and decodes the answer; a stale update is a 412 *APIError
// with the current version.
func TestPlans(t *testing.T) {
	t.Parallel()
	var got []string
	plan := `{"id":"p1","name":"shop","version":3,"created_by":"otto","created_at":"2026-01-01T00:00:00Z","updated_at":"2026-01-01T00:00:00Z","waves":[{"members":[{"vm":"db"}]}]}`
	c := server(t, func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		got = append(got, strings.TrimSpace(r.Method+" "+r.URL.EscapedPath()+" "+r.Header.Get("If-Match")+" "+string(body)))
		switch {
		case r.Method == "PUT" && r.Header.Get("If-Match") == `"v1"`:
			answer(w, http.StatusPreconditionFailed, `{"error":"stale","code":"precondition_failed","details":{"version":3}}`)
		case r.Method == "DELETE":
			w.WriteHeader(http.StatusNoContent)
		case strings.HasSuffix(r.URL.Path, "/validate"):
			answer(w, 200, `{"valid":false,"blockers":[{"field":"waves[0].members[0].vm","members":["db"],"message":"no VM"}],"warnings":[]}`)
		case r.URL.Path == "/api/v1/plans" && r.Method == "GET":
			answer(w, 200, `{"plans":[`+plan+`]}`)
		default:
			answer(w, 200, plan)
		}
	})
	ctx := context.Background()
	spec := apiv1.PlanSpec{Name: "shop", Waves: []apiv1.Wave{{Members: []apiv1.Member{{VM: "db"}}}}}
	raw, _ := json.Marshal(spec)
	if ps, err := c.Plans(ctx); err != nil || len(ps) != 1 || ps[0].Version != 3 {
		t.Fatalf("Plans: %v %v", ps, err)
	}
	if p, err := c.Plan(ctx, "my shop"); err != nil || p.ID != "p1" || p.Waves[0].Members[0].VM != "db" {
		t.Fatalf("Plan: %+v %v", p, err)
	}
	if p, err := c.CreatePlan(ctx, spec); err != nil || p.Version != 3 {
		t.Fatalf("CreatePlan: %+v %v", p, err)
	}
	if p, err := c.UpdatePlan(ctx, "p1", 3, spec); err != nil || p.Version != 3 {
		t.Fatalf("UpdatePlan: %+v %v", p, err)
	}
	var ae *client.APIError
	if _, err := c.UpdatePlan(ctx, "p1", 1, spec); !errors.As(err, &ae) || ae.Status != 412 || ae.Details["version"] != float64(3) {
		t.Fatalf("a stale UpdatePlan: %v", err)
	}
	if err := c.DeletePlan(ctx, "p1"); err != nil {
		t.Fatal(err)
	}
	if v, err := c.ValidatePlan(ctx, "p1", "test"); err != nil || v.Valid || v.Blockers[0].Members[0] != "db" {
		t.Fatalf("ValidatePlan: %+v %v", v, err)
	}
	if _, err := c.ValidatePlan(ctx, "p1", ""); err != nil {
		t.Fatal(err)
	}
	want := []string{
		"GET /api/v1/plans",
		"GET /api/v1/plans/my%20shop",
		"POST /api/v1/plans  " + string(raw),
		`PUT /api/v1/plans/p1 "v3" ` + string(raw),
		`PUT /api/v1/plans/p1 "v1" ` + string(raw),
		"DELETE /api/v1/plans/p1",
		`POST /api/v1/plans/p1/validate  {"mode":"test"}`,
		"POST /api/v1/plans/p1/validate",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("requests:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
