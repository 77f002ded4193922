package api

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"

	"github.com/ossea/unifiedfailover/errs"
)

type pathInner struct {
	Name string          `json:"name"`
	Raw  json.RawMessage `json:"raw"`
	Any  any             `json:"any"`
}

type pathEmbedded struct {
	Promoted string `json:"promoted"`
}

type pathOuter struct {
	pathEmbedded
	Items  []pathInner          `json:"items"`
	ByName map[string]pathInner `json:"by_name"`
	One    *pathInner           `json:"one"`
	Free   map[string]any       `json:"free"`
	Plain  string               // no tag: matched by name, ignoring case
	Skip   string               `json:"-"`
	Arr    [2]map[string][]int  `json:"arr"`
}

// The decoder names an unknown member only, and a wrong type by its path
// without indices; decodeJSON names either by its whole JSON path, so
// that an operator can tell which object is at fault.
func TestMemberAtFaultIsNamedByItsPath(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		body, want string
	}{
		{`{"bogus":1}`, "bogus"},
		{`{"items":[{"name":"a"},{"name":"b","bogus":1}]}`, "items[1].bogus"},
		{`{"by_name":{"k":{"name":"a","raw":{"bogus":1},"any":{"bogus":2}}},"one":{"bogus":3}}`, "one.bogus"},
		{`{"free":{"bogus":{"x":1}},"promoted":"p","PLAIN":"q","items":[{"NAME":"a","x":1}]}`, "items[0].x"},
		{`{"Skip":"s"}`, "Skip"},
		{`{"arr":[{},{"k":[1]}],"items":[],"one":null,"by_name":{"z":{"y":1}}}`, "by_name.z.y"},
		// Wrong types: the decoder gives the path without indices.
		{`{"items":[{"name":"a"},{"name":"b"},{"name":5}]}`, "items[2].name"},
		{`{"by_name":{"k":{"name":"a"},"l":{"name":true}}}`, "by_name.l.name"},
		{`{"arr":[{"k":[1,2]},{"k":[3,"x"]}]}`, "arr[1].k[1]"},
		{`{"items":{}}`, "items"},
		{`{"one":[]}`, "one"},
	} {
		r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(tc.body))
		r.Header.Set("Content-Type", "application/json")
		var v pathOuter
		err := decodeJSON(r, &v)
		var e *errs.Error
		if !errs.Is(err, errs.InvalidArgument) || !errors.As(err, &e) || e.Details["field"] != tc.want {
			t.Errorf("%s: error %v, want field %q", tc.body, err, tc.want)
		}
	}
	// A body the decoder accepts has no unknown member to find.
	valid := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(
		`{"promoted":"p","plain":"q","items":[{"name":"a","raw":{"x":1},"any":[{"y":2}]}],"free":{"a":{"b":1}}}`))
	valid.Header.Set("Content-Type", "application/json; charset=utf-8")
	if err := decodeJSON(valid, &pathOuter{}); err != nil {
		t.Fatalf("valid body: %v", err)
	}
	// When the walk cannot find the member the decoder named, the name is kept.
	f := memberFinder{body: []byte(`{"items":[`), t: reflect.TypeFor[pathOuter]()}
	if got := f.unknown("bogus"); got != "bogus" {
		t.Errorf("truncated body: %q, want the name as the decoder gave it", got)
	}
	if got := f.wrongType("items.name"); got != "items.name" {
		t.Errorf("truncated body: %q, want the path as the decoder gave it", got)
	}
}

// A string of an embedded struct is checked under its own member name,
// as the JSON body has it; a field tagged "-" is not a member.
func TestControlCharactersAreNamedByMember(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		v    pathOuter
		want string
	}{
		{pathOuter{pathEmbedded: pathEmbedded{Promoted: "a\x00"}}, "promoted"},
		{pathOuter{Items: []pathInner{{}, {Name: "\x01"}}}, "items[1].name"},
		{pathOuter{Plain: "\x02"}, "Plain"},
	} {
		var e *errs.Error
		if err := checkStrings(&tc.v); !errors.As(err, &e) || e.Details["field"] != tc.want {
			t.Errorf("%+v: error %v, want field %q", tc.v, err, tc.want)
		}
	}
	if err := checkStrings(&pathOuter{Skip: "\x00"}); err != nil {
		t.Errorf("a field tagged \"-\" was checked: %v", err)
	}
}
