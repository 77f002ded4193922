package client_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/ossea/unifiedfailover/api/apiv1"
	"github.com/ossea/unifiedfailover/client"
)

// server answers every request with h, after checking the bearer token.
func server(t *testing.T, h http.HandlerFunc) *client.Client {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if got := r.Header.Get("Authorization"); got != "Bearer tok" {
			t.Errorf("%s %s: Authorization %q, want the bearer token", r.Method, r.URL, got)
		}
		h(w, r)
	}))
	t.Cleanup(srv.Close)
	return client.New(srv.URL+"/", "tok")
}

func answer(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, body)
}

func TestErrorAnswers(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name    string
		status  int
		body    string
		want    client.APIError
		details map[string]any
	}{
		{name: "coded", status: http.StatusConflict,
			body: `{"error":"VM context c1 already has an active failover job j1","code":"conflict","field":"context_id","details":{"active_job_id":"j1"}}`,
			want: client.APIError{Status: http.StatusConflict, Message: "VM context c1 already has an active failover job j1",
				Code: apiv1.CodeConflict, Field: "context_id"}, details: map[string]any{"active_job_id": "j1"}},
		{name: "invalid", status: http.StatusBadRequest, body: `{"error":"failover_type: must be test or live","code":"invalid_argument","field":"failover_type"}`,
			want: client.APIError{Status: http.StatusBadRequest, Message: "failover_type: must be test or live",
				Code: apiv1.CodeInvalidArgument, Field: "failover_type"}},
		{name: "not JSON", status: http.StatusBadGateway, body: "bad gateway\n",
			want: client.APIError{Status: http.StatusBadGateway, Message: "bad gateway"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := server(t, func(w http.ResponseWriter, r *http.Request) { answer(w, tc.status, tc.body) })
			_, err := c.Job(context.Background(), "j1")
			var ae *client.APIError
			if !errors.As(err, &ae) {
				t.Fatalf("got %v (%T), want an *APIError", err, err)
			}
			if ae.Status != tc.want.Status || ae.Message != tc.want.Message || ae.Code != tc.want.Code || ae.Field != tc.want.Field ||
				string(ae.Body) != tc.body {
				t.Fatalf("got %+v, want %+v", ae, tc.want)
			}
			for k, v := range tc.details {
				if ae.Details[k] != v {
					t.Fatalf("details %v, want %s=%v", ae.Details, k, v)
				}
			}
			if client.IsTransient(err) {
				t.Fatalf("an answer of the API is not transient: %v", err)
			}
		})
	}
}

func TestApprovalAnswerCarriesThePlan(t *testing.T) {
	t.Parallel()
	c := server(t, func(w http.ResponseWriter, r *http.Request) {
		answer(w, http.StatusPreconditionRequired, `{"error":"a live failover needs confirm","code":"approval_required",
			"plan":{"operation":"live-failover","context_id":"c1","vm_name":"vm1","steps":[{"Name":"power-off-source","SkipReason":""}],
			"effects":{"touches_source":true},"needs":{"role":"admin","confirm":true},"approval_required":true}}`)
	})
	_, err := c.Failover(context.Background(), apiv1.FailoverRequest{ContextID: "c1", FailoverType: apiv1.FailoverLive})
	p := client.PlanOf(err)
	if p == nil || p.VMName != "vm1" || len(p.Steps) != 1 || p.Steps[0].Name != "power-off-source" || !p.Needs.Confirm ||
		p.Needs.Role != "admin" || !p.Effects.TouchesSource {
		t.Fatalf("PlanOf(%v) = %+v", err, p)
	}
	if client.PlanOf(errors.New("other")) != nil {
		t.Fatal("PlanOf of an error that is not an answer must be nil")
	}
}

func TestUnreachableIsTransient(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close()
	_, err := client.New(url, "").Job(context.Background(), "j1")
	var te *client.TransportError
	if !errors.As(err, &te) || !client.IsTransient(err) {
		t.Fatalf("got %v (%T), want a transient *TransportError", err, err)
	}
}

func TestFailoverSendsTheRequest(t *testing.T) {
	t.Parallel()
	c := server(t, func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != "/api/v1/failover/unified" || r.Header.Get("Content-Type") != "application/json" {
			t.Errorf("got %s %s (%s)", r.Method, r.URL.Path, r.Header.Get("Content-Type"))
		}
		var body map[string]any
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			t.Errorf("decoding the body: %v", err)
		}
		if body["context_id"] != "c1" || body["failover_type"] != "test" || body["skip_virtio"] != true || len(body) != 3 {
			t.Errorf("body %v", body)
		}
		answer(w, http.StatusAccepted, `{"job_id":"j1","external_job_id":"unified-test-failover-vm1-1","status":"pending",
			"plan":{"operation":"test-failover","context_id":"c1","vm_name":"vm1","steps":[],"effects":{},"needs":{"role":"operator","confirm":false},"approval_required":false}}`)
	})
	st, err := c.Failover(context.Background(), apiv1.FailoverRequest{ContextID: "c1", FailoverType: apiv1.FailoverTest,
		Options: apiv1.Options{SkipVirtio: true}})
	if err != nil || st.JobID != "j1" || st.Status != apiv1.JobPending || st.Plan == nil || st.Plan.Operation != "test-failover" {
		t.Fatalf("Failover = %+v, %v", st, err)
	}
}

func TestWaitJobWaitsOnTheServer(t *testing.T) {
	t.Parallel()
	reads := 0
	c := server(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/api/v1/jobs/j1" || r.URL.Query().Get("wait") != "30s" {
			t.Errorf("got %s", r.URL)
		}
		reads++
		status := "running"
		if reads == 2 {
			status = "completed"
		}
		answer(w, http.StatusOK, `{"job_id":"j1","external_job_id":"probe-1","job_type":"probe","queue":"low","status":"`+status+`",
			"run_no":1,"created_at":"2026-01-02T03:04:05Z","updated_at":"2026-01-02T03:04:05Z",
			"steps":[{"seq":1,"name":"probe-a","status":"completed","attempts":1,"external_ms":0}],"progress_percent":100}`)
	})
	j, err := c.WaitJob(context.Background(), "j1", time.Millisecond, nil)
	if err != nil || j.Status != apiv1.JobCompleted || reads != 2 || j.ProgressPercent != 100 || j.Step("probe-a") == nil ||
		j.Step("probe-a").Status != apiv1.StepCompleted {
		t.Fatalf("WaitJob = %+v, %v after %d reads", j, err, reads)
	}
}
