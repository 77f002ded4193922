package main

import (
	"bytes"
	"context"
	"encoding/json"
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
