package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
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

// recordingAPI serves every request with answer (given the body it read)
// and records it as "METHOD PATH BODY". It returns the base URL and a
// function that lists the requests so far.
func recordingAPI(t *testing.T, answer func(w http.ResponseWriter, r *http.Request, body []byte)) (string, func() []string) {
	t.Helper()
	var mu sync.Mutex
	var got []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body bytes.Buffer
		_, _ = body.ReadFrom(r.Body)
		mu.Lock()
		got = append(got, r.Method+" "+r.URL.Path+" "+strings.TrimSpace(body.String()))
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		answer(w, r, body.Bytes())
	}))
	t.Cleanup(srv.Close)
	return srv.URL, func() []string {
		mu.Lock()
		defer mu.Unlock()
		return slices.Clone(got)
	}
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
