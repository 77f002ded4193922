package failover

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/ossea/unifiedfailover/auth"
	"github.com/ossea/unifiedfailover/errs"
	"github.com/ossea/unifiedfailover/store"
)

func ptrBool(b bool) *bool { return &b }

// TestApprovalByEffect lists every operation on a VM with the role and
// approval it needs: admin and "confirm" exactly when it changes
// production or destroys a way back, whatever its label.
func TestApprovalByEffect(t *testing.T) {
	t.Parallel()
	vm := &store.VMContext{ContextID: "c1", VMName: "web01", VMwareVMID: "u1"}
	resolved := func(typ Type, opts Options) *Config {
		cfg, err := Resolve(vm, typ, opts, nil, time.Unix(1_800_000_000, 0))
		if err != nil {
			t.Fatalf("Resolve(%s, %+v): %v", typ, opts, err)
		}
		return cfg
	}
	for _, c := range []struct {
		operation string
		fx        Effects
		role      auth.Role
		confirm   bool
	}{
		{"test failover", failoverEffects(resolved(Test, Options{})), auth.Operator, false},
		{"test failover, no snapshot of the source, skip validation", failoverEffects(resolved(Test, Options{SkipValidation: true})), auth.Operator, false},
		{"test failover on production networks", failoverEffects(resolved(Test, Options{NetworkStrategy: NetworkProduction})), auth.Admin, true},
		{"live failover", failoverEffects(resolved(Live, Options{})), auth.Admin, true},
		{"live failover, isolated networks", failoverEffects(resolved(Live, Options{NetworkStrategy: NetworkIsolated})), auth.Admin, true},
		{"live failover, source left running, isolated", failoverEffects(resolved(Live, Options{PowerOffSource: ptrBool(false),
			PerformFinalSync: ptrBool(false), NetworkStrategy: NetworkIsolated})), auth.Operator, false},
		{"rollback of a test failover", rollbackEffects(Test, RollbackOptions{}), auth.Operator, false},
		{"rollback of a test failover, power on source", rollbackEffects(Test, RollbackOptions{PowerOnSource: true}), auth.Operator, false},
		{"rollback of a test failover, forced cleanup", rollbackEffects(Test, RollbackOptions{ForceCleanup: true}), auth.Admin, true},
		{"rollback of a live failover", rollbackEffects(Live, RollbackOptions{PowerOnSource: true}), auth.Admin, true},
		{"rollback of a live failover, source left off", rollbackEffects(Live, RollbackOptions{}), auth.Admin, true},
		{"commit", commitEffects(), auth.Admin, true},
	} {
		got := approvalFor(c.fx)
		if got.Role != c.role || got.Confirm != c.confirm || (len(got.Effects) > 0) != c.confirm {
			t.Errorf("%s: needs %+v, want role %s confirm %v", c.operation, got, c.role, c.confirm)
		}
	}
}

func TestTestFailoverNeverTouchesTheSource(t *testing.T) {
	t.Parallel()
	vm := &store.VMContext{ContextID: "c1", VMName: "web01", VMwareVMID: "u1"}
	for _, c := range []struct {
		opts  Options
		field string
	}{
		{Options{PowerOffSource: ptrBool(true)}, "power_off_source"},
		{Options{PowerOffSource: ptrBool(true), PerformFinalSync: ptrBool(true)}, "power_off_source"},
		{Options{PerformFinalSync: ptrBool(true)}, "perform_final_sync"},
	} {
		_, err := Resolve(vm, Test, c.opts, nil, time.Now())
		if !errs.Is(err, errs.InvalidArgument) || !containsField(err, c.field) {
			t.Errorf("test failover with %+v: %v, want invalid %s", c.opts, err, c.field)
		}
	}
	if _, err := Resolve(vm, Test, Options{PowerOffSource: ptrBool(false), PerformFinalSync: ptrBool(false)}, nil, time.Now()); err != nil {
		t.Errorf("a test failover that asks not to touch the source: %v", err)
	}
}

func TestAuthorize(t *testing.T) {
	t.Parallel()
	p := &Plan{Operation: "commit", VMName: "web01"}
	p.setApproval(commitEffects())
	if err := p.authorize(Actor{Name: "op", Role: auth.Operator}, "web01"); !errs.Is(err, errs.PermissionDenied) {
		t.Errorf("operator commit: %v, want permission denied", err)
	}
	if err := p.authorize(Actor{Name: "ada", Role: auth.Admin}, ""); !errs.Is(err, errs.ApprovalRequired) {
		t.Errorf("admin commit without confirm: %v, want approval required", err)
	}
	if err := p.authorize(Actor{Name: "ada", Role: auth.Admin}, "web02"); !errs.Is(err, errs.ApprovalRequired) {
		t.Errorf("admin commit confirming another VM: %v, want approval required", err)
	}
	if err := p.authorize(Actor{Name: "ada", Role: auth.Admin}, "web01"); err != nil {
		t.Errorf("admin commit with confirm: %v", err)
	}
	q := &Plan{Operation: "test-failover", VMName: "web01"}
	q.setApproval(Effects{})
	if err := q.authorize(System("drill:nightly"), ""); err != nil || q.ApprovalRequired {
		t.Errorf("a drill's test failover: %v (approval %v)", err, q.ApprovalRequired)
	}
	if err := q.authorize(Actor{Name: "v", Role: auth.Viewer}, ""); !errs.Is(err, errs.PermissionDenied) {
		t.Errorf("viewer test failover: %v, want permission denied", err)
	}
}

// containsField reports whether err is a field error naming field.
func containsField(err error, field string) bool {
	return err != nil && strings.HasPrefix(err.Error(), field+":")
}

func TestDashboardShapes(t *testing.T) {
	t.Parallel()
	var o Options
	if err := json.Unmarshal([]byte(`{"network_mappings":{"b-net":"n2","a-net":"n1"}}`), &o); err != nil {
		t.Fatal(err)
	}
	if len(o.NetworkMappings) != 2 || o.NetworkMappings[0] != (NetworkChoice{SourceNetworkName: "a-net", DestinationNetworkID: "n1"}) {
		t.Fatalf("object form: %+v", o.NetworkMappings)
	}
	if err := json.Unmarshal([]byte(`{"network_mappings":[{"source_network_name":"x","destination_network_id":"y"}]}`), &o); err != nil ||
		len(o.NetworkMappings) != 1 || o.NetworkMappings[0].DestinationNetworkID != "y" {
		t.Fatalf("list form: %+v %v", o.NetworkMappings, err)
	}
	if err := json.Unmarshal([]byte(`{"network_mappings":{"a":1}}`), &o); err == nil {
		t.Fatal("a non-string destination must be refused")
	}
	cfg := &Config{VMName: "Web01", FailoverType: Test, RequestedAt: time.Unix(1_800_000_000, 0), DestinationVMName: "Web01-test-1"}
	if err := cfg.applyNaming(NamingExact); err != nil || cfg.DestinationVMName != "Web01" || cfg.DestinationHostName != "web01" {
		t.Fatalf("exact: %+v %v", cfg, err)
	}
	if err := cfg.applyNaming(NamingSuffixed); err != nil || cfg.DestinationVMName != "Web01-test-1800000000" {
		t.Fatalf("suffixed: %+v %v", cfg, err)
	}
	if err := cfg.applyNaming("pretty"); !errs.Is(err, errs.InvalidArgument) {
		t.Fatalf("unknown naming: %v", err)
	}
}
