package api

import (
	"errors"
	"strings"
	"testing"

	"github.com/ossea/unifiedfailover/api/apiv1"
	"github.com/ossea/unifiedfailover/errs"
)

// wantField fails unless err is InvalidArgument on field ("" wants nil).
func wantField(t *testing.T, err error, field string) {
	t.Helper()
	if field == "" {
		if err != nil {
			t.Fatalf("refused: %v", err)
		}
		return
	}
	var e *errs.Error
	if !errs.Is(err, errs.InvalidArgument) || !errors.As(err, &e) || e.Details["field"] != field {
		t.Fatalf("got %v, want InvalidArgument on field %s", err, field)
	}
}

// TestFailoverRequestValidation: a failover request's shape is checked
// before anything is read, each refusal naming its field.
func TestFailoverRequestValidation(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name  string
		req   apiv1.FailoverRequest
		field string
	}{
		{"by name", apiv1.FailoverRequest{VMName: "web-1", FailoverType: "test"}, ""},
		{"by context", apiv1.FailoverRequest{ContextID: "ctx-1", FailoverType: "live"}, ""},
		{"by VMware UUID", apiv1.FailoverRequest{VMwareVMID: "4210-aa", FailoverType: "test"}, ""},
		{"no type", apiv1.FailoverRequest{VMName: "web-1"}, "failover_type"},
		{"unknown type", apiv1.FailoverRequest{VMName: "web-1", FailoverType: "prod"}, "failover_type"},
		{"no VM", apiv1.FailoverRequest{FailoverType: "test"}, "context_id"},
		{"control character in the name", apiv1.FailoverRequest{VMName: "web\x1b[2J", FailoverType: "test"}, "vm_name"},
		{"bidi control in the naming", apiv1.FailoverRequest{VMName: "web-1", VMNaming: "exact\u202e", FailoverType: "test"}, "vm_naming"},
		{"mapping without source", apiv1.FailoverRequest{VMName: "web-1", FailoverType: "test",
			Options: apiv1.Options{NetworkMappings: []apiv1.NetworkChoice{{DestinationNetworkID: "net-1"}}}},
			"network_mappings[0].source_network_name"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			wantField(t, checkFailoverRequest(&c.req), c.field)
		})
	}
}

// TestRollbackRequestValidation: the same for a rollback request.
func TestRollbackRequestValidation(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name  string
		req   apiv1.RollbackRequest
		field string
	}{
		{"by name", apiv1.RollbackRequest{VMName: "web-1"}, ""},
		{"by vm_id", apiv1.RollbackRequest{VMID: "web-1", FailoverType: "live"}, ""},
		{"no VM", apiv1.RollbackRequest{}, "context_id"},
		{"unknown type", apiv1.RollbackRequest{VMName: "web-1", FailoverType: "prod"}, "failover_type"},
		{"reason too long", apiv1.RollbackRequest{VMName: "web-1", Reason: strings.Repeat("x", 4097)}, "reason"},
		{"NUL in the context id", apiv1.RollbackRequest{ContextID: "ctx\x00"}, "context_id"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			wantField(t, checkRollbackRequest(&c.req), c.field)
		})
	}
}
