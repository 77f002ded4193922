package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/ossea/unifiedfailover/api/apiv1"
)

// Ctrl-C while watching stops the watch, says the job keeps running and
// how to follow it again, and exits with its own code.
func TestInterruptedWatchSaysTheJobKeepsRunning(t *testing.T) {
	t.Parallel()
	const id = "6f1c2a70-0000-4000-8000-000000000001"
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(apiv1.Job{ID: id, ExternalID: "unified-test-failover-web-1", Status: apiv1.JobRunning,
			Steps: []apiv1.Step{{Seq: 0, Name: "validation", Status: "running"}}})
	}))
	t.Cleanup(srv.Close)
	var out bytes.Buffer
	a := &app{apiURL: srv.URL, token: "t", every: 10 * time.Millisecond, out: &out}
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond) // the Ctrl-C
	defer cancel()
	err := a.watchJob(ctx, id)
	if code := exitCode(err); code != exitInterrupted {
		t.Fatalf("exit code %d (%v), want %d", code, err, exitInterrupted)
	}
	if s := out.String(); !strings.Contains(s, "keeps running") || !strings.Contains(s, "failoverctl watch "+id) {
		t.Fatalf("output does not say the job keeps running and how to watch it:\n%s", s)
	}
}
