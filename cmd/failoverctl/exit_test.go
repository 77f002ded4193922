package main

import (
	"errors"
	"fmt"
	"testing"

	"github.com/ossea/unifiedfailover/client"
)

func TestExitCodes(t *testing.T) {
	t.Parallel()
	cases := []struct {
		err  error
		want int
	}{
		{nil, exitOK},
		{errors.New("boom"), exitFailed},
		{jobFailed{"job x failed"}, exitFailed},
		{usageError{errors.New("bad flag")}, exitUsage},
		{quiet{exitApproval}, exitApproval},
		{&client.APIError{Status: 400}, exitUsage},
		{&client.APIError{Status: 413}, exitUsage},
		{&client.APIError{Status: 428}, exitApproval},
		{fmt.Errorf("wrapped: %w", &client.APIError{Status: 409}), exitConflict},
		{&client.APIError{Status: 401}, exitAuth},
		{&client.APIError{Status: 403}, exitAuth},
		{&client.APIError{Status: 404}, exitNotFound},
		{&client.APIError{Status: 503}, exitUnavailable},
		{&client.APIError{Status: 500}, exitFailed},
		{&client.TransportError{Op: "GET /", Err: errors.New("connection refused")}, exitUnavailable},
	}
	for _, c := range cases {
		if got := exitCode(c.err); got != c.want {
			t.Errorf("exitCode(%v) = %d, want %d", c.err, got, c.want)
		}
	}
}

func TestUsageErrors(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{{"explode"}, {"jobs", "--colour"}, {"rollback"}, {"failover", "vm1"},
		{"failover", "--type", "prod", "vm1"}, {"token", "create", "--role", "admin"}} {
		root := newRoot()
		root.SetArgs(args)
		root.SetOut(new(discard))
		root.SetErr(new(discard))
		if got := exitCode(root.Execute()); got != exitUsage {
			t.Errorf("failoverctl %v: exit %d, want %d", args, got, exitUsage)
		}
	}
}

type discard struct{}

func (*discard) Write(p []byte) (int, error) { return len(p), nil }
