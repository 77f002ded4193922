package api

import (
	"bytes"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/ossea/unifiedfailover/api/apiv1"
	"github.com/ossea/unifiedfailover/errs"
	"github.com/ossea/unifiedfailover/failover"
)

// decodeFuzz decodes body like a handler does, with a 64 KiB limit, into v
// and runs check; the only acceptable failures are bad input and too large.
func decodeFuzz(t *testing.T, body []byte, v any, check func() error) {
	rec := httptest.NewRecorder()
	r := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	r.Body = http.MaxBytesReader(rec, r.Body, 64<<10)
	err := decodeJSON(r, v)
	if err == nil {
		err = check()
	}
	if err == nil {
		return
	}
	switch errs.CodeOf(err) {
	case errs.InvalidArgument, errs.TooLarge:
	default:
		t.Fatalf("body %q: error %v has code %s, want invalid_argument or too_large", body, err, errs.CodeOf(err))
	}
	var e *errs.Error
	if errors.As(err, &e) && e.Details != nil {
		if fld, ok := e.Details["field"].(string); ok && fld == "" {
			t.Fatalf("body %q: empty field name in %v", body, err)
		}
	}
}

var fuzzSeeds = []string{
	`{"":"",""`, `{"vm_name":"a","VM_NAME":"b","failover_type":"test"}`, `{"network_mappings":{"VM Network":"n1"}}`,
	`{}`, `{"vm_name":"pgtest1","failover_type":"test"}`, `{"failover_type":"live","confirm":"x","power_off_source":false}`,
	`{"vm_name":5}`, `{"vm_name":"a\u0000"}`, `{"network_mappings":[{"source_network_name":"a","destination_network_id":"b"}]}`,
	`{"mappings":[{"source_network_name":"VM Network","destination_network_id":"n1","mapping_type":"test"}]}`,
	`{"mappings":[{"source_network_name":"../x","destination_network_id":"n1","is_test_network":true}]}`,
	`{"vm_name":"v","source_network_name":"s","destination_network_id":"d","mapping_type":"live"}`,
	`{"names":["a","b"]}`, `{"mappings":[{"source_network_name":"a","x":{"y":1}}]}`, `[`, `{"a":1} {}`, `null`, `"x"`, `{"shutdown_timeout":"5m","keep_macs":"no"}`,
}

// FuzzDecodeFailoverRequest fuzzes decoding and validation of failover
// requests (POST /failover/unified, /failover/preflight/validate).
func FuzzDecodeFailoverRequest(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var req failover.FailoverRequest
		decodeFuzz(t, body, &req, func() error { return checkFailoverRequest(&req) })
		var rb failover.RollbackRequest
		decodeFuzz(t, body, &rb, func() error { return checkRollbackRequest(&rb) })
	})
}

// FuzzDecodeMappings fuzzes decoding and validation of network mapping
// requests (bulk, legacy, targeted) and network name resolution.
func FuzzDecodeMappings(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var bulk apiv1.BulkMappings
		decodeFuzz(t, body, &bulk, func() error { return checkBulk(&bulk) })
		var legacy apiv1.LegacyMapping
		decodeFuzz(t, body, &legacy, func() error { return checkMapping(&legacy.MappingInput, "", true) })
		var one apiv1.SourceMapping
		decodeFuzz(t, body, &one, func() error {
			in := apiv1.MappingInput{SourceNetworkName: "s", DestinationNetworkID: one.DestinationNetworkID,
				DestinationNetworkName: one.DestinationNetworkName, MappingType: one.MappingType}
			return checkMapping(&in, "", false)
		})
		var res apiv1.ResolveRequest
		decodeFuzz(t, body, &res, func() error { _, err := resolveNames(&res); return err })
	})
}

// FuzzPathName fuzzes the checks of names taken from URL paths.
func FuzzPathName(f *testing.F) {
	for _, s := range []string{"pgtest1", "..", "%2e%2e", "a%2Fb", "vm%00", "VM Network", "%ff", "ctx-pgtest1-20250909-113839"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		v, err := url.PathUnescape(raw)
		if err != nil {
			return
		}
		if err := checkName("vm", v); err == nil {
			if v == "" || v == "." || v == ".." || bytes.ContainsAny([]byte(v), "/\\\x00") || len(v) > maxNameLen {
				t.Fatalf("checkName accepted %q", v)
			}
		} else if errs.CodeOf(err) != errs.InvalidArgument {
			t.Fatalf("checkName(%q): %v", v, err)
		}
	})
}
