package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/ossea/unifiedfailover/api/apiv1"
)

// failoverctl contexts VM shows the VM's network mappings.
func TestContextsShowsTheMappings(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/api/v1/contexts/web-1" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(apiv1.ContextDetail{
			VMContext: apiv1.VMContext{ContextID: "ctx-web-1", VMName: "web-1", CurrentStatus: "ready_for_failover"},
			Mappings: []apiv1.NetworkMapping{
				{SourceNetworkName: "VM Network", DestinationNetworkID: "net-7", DestinationNetworkName: "prod-net", MappingType: "live"},
				{SourceNetworkName: "VM Network", DestinationNetworkID: "net-9", DestinationNetworkName: "drill-net", MappingType: "test"},
			}})
	}))
	t.Cleanup(srv.Close)
	var out bytes.Buffer
	a := &app{apiURL: srv.URL, token: "t", out: &out}
	cmd := a.contextsCmd()
	cmd.SetArgs([]string{"web-1"})
	if err := cmd.ExecuteContext(context.Background()); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"mapping live: VM Network -> prod-net (net-7)", "mapping test: VM Network -> drill-net (net-9)"} {
		if !strings.Contains(out.String(), want) {
			t.Fatalf("output lacks %q:\n%s", want, out.String())
		}
	}
}

// drills --json prints what the API sent, without zero values of members
// it left out.
func TestDrillsJSONPrintsWhatTheAPISent(t *testing.T) {
	t.Parallel()
	const body = `{"drills":[{"id":"d-1","name":"nightly","cron":"0 2 * * *"}]}`
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/api/v1/drills" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(body))
	}))
	t.Cleanup(srv.Close)
	var out bytes.Buffer
	a := &app{apiURL: srv.URL, token: "t", out: &out, json: true}
	cmd := a.drillsCmd()
	cmd.SetArgs(nil)
	if err := cmd.ExecuteContext(context.Background()); err != nil {
		t.Fatal(err)
	}
	var got, want any
	if err := json.Unmarshal(out.Bytes(), &got); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, out.String())
	}
	_ = json.Unmarshal([]byte(body), &want)
	if g, w := fmt.Sprint(got), fmt.Sprint(want); g != w {
		t.Fatalf("printed %s\nthe API sent %s", out.String(), body)
	}
}

// audit prints a choice as readable key=value pairs, and the VM's name
// next to its context id.
func TestAuditPrintsKeyValuesAndVMNames(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch r.URL.Path {
		case "/api/v1/audit":
			_ = json.NewEncoder(w).Encode(apiv1.AuditList{Decisions: []apiv1.Decision{{Decision: "failover-options", Actor: "ops",
				ContextID: "ctx-web-1", Choice: map[string]any{"failover_type": "live", "options": map[string]any{"power_off_source": true}}}}})
		case "/api/v1/contexts":
			_ = json.NewEncoder(w).Encode(apiv1.ContextList{Contexts: []apiv1.VMContext{{ContextID: "ctx-web-1", VMName: "storefront"}}})
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	var out bytes.Buffer
	a := &app{apiURL: srv.URL, token: "t", out: &out}
	cmd := a.auditCmd()
	cmd.SetArgs(nil)
	if err := cmd.ExecuteContext(context.Background()); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"failover_type=live options.power_off_source=true", "storefront", "ctx-web-1"} {
		if !strings.Contains(out.String(), want) {
			t.Fatalf("audit output lacks %q:\n%s", want, out.String())
		}
	}
}

// mappings shows the VM's name next to each mapping's context id.
func TestMappingsShowVMNames(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch r.URL.Path {
		case "/api/v1/network-mappings":
			_ = json.NewEncoder(w).Encode(apiv1.Mappings{Mappings: []apiv1.NetworkMapping{{ContextID: "ctx-db-2",
				SourceNetworkName: "DB Network", DestinationNetworkID: "net-3", DestinationNetworkName: "db-net", MappingType: "live"}}})
		case "/api/v1/contexts":
			_ = json.NewEncoder(w).Encode(apiv1.ContextList{Contexts: []apiv1.VMContext{{ContextID: "ctx-db-2", VMName: "orders-database"}}})
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	var out bytes.Buffer
	a := &app{apiURL: srv.URL, token: "t", out: &out}
	cmd := a.mappingsCmd()
	cmd.SetArgs(nil)
	if err := cmd.ExecuteContext(context.Background()); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "orders-database") || !strings.Contains(out.String(), "ctx-db-2") {
		t.Fatalf("mappings output lacks the VM name beside its context:\n%s", out.String())
	}
}
