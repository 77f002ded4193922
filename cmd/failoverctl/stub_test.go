package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/spf13/cobra"
)

// stubAPI serves GET requests for the paths in answers, each its value as
// JSON (a json.RawMessage as it is), and 404 for anything else. It returns
// the base URL.
func stubAPI(t *testing.T, answers map[string]any) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		v, ok := answers[r.URL.Path]
		if !ok || r.Method != http.MethodGet {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(v)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// execute runs the command mk builds for an app talking to base, with
// args, and returns what it printed.
func execute(t *testing.T, base string, asJSON bool, mk func(*app) *cobra.Command, args ...string) string {
	t.Helper()
	var out bytes.Buffer
	a := &app{apiURL: base, token: "t", out: &out, json: asJSON}
	cmd := mk(a)
	cmd.SetArgs(args)
	if err := cmd.ExecuteContext(context.Background()); err != nil {
		t.Fatalf("%v: %v", args, err)
	}
	return out.String()
}
