package ui

import (
	"crypto/tls"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/ossea/unifiedfailover/api/apiv1"
	"github.com/ossea/unifiedfailover/auth"
)

var principals = map[string]auth.Principal{
	"tok-viewer": {Name: "vera", Role: auth.Viewer}, "tok-operator": {Name: "otto", Role: auth.Operator},
	"tok-admin": {Name: "ada", Role: auth.Admin}}

const xssName = `<img src=x onerror=alert(1)>`

// stubAPI answers the few /api/v1 routes the pages call, with the API's
// role rule for starting a failover, and records the POSTs.
type stubAPI struct {
	posts  []string
	bodies []string
}

func (a *stubAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p, ok := principals[strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")]
	if !ok {
		w.WriteHeader(http.StatusUnauthorized)
		_ = json.NewEncoder(w).Encode(apiv1.Error{Error: "bad token"})
		return
	}
	vm := apiv1.VMContext{ContextID: "ctx-1", VMName: xssName, CurrentStatus: apiv1.StatusReadyForFailover}
	var out any
	switch {
	case r.Method == http.MethodGet && r.URL.Path == "/api/v1/contexts":
		out = apiv1.ContextList{Contexts: []apiv1.VMContext{vm, {ContextID: "ctx-2", VMName: "db01", CurrentStatus: apiv1.StatusFailed}}}
	case r.Method == http.MethodGet && r.URL.Path == "/api/v1/contexts/ctx-1":
		out = apiv1.ContextDetail{VMContext: vm}
	case r.Method == http.MethodGet && r.URL.Path == "/api/v1/failover/jobs":
		out = apiv1.JobList{}
	case r.Method == http.MethodGet && r.URL.Path == "/api/v1/failover/ctx-1/readiness":
		out = apiv1.ReadinessReport{Ready: true, Preflight: &apiv1.PreflightReport{Passed: true}}
	case r.Method == http.MethodPost && r.URL.Path == "/api/v1/network-mappings/context/ctx-1":
		raw, _ := io.ReadAll(r.Body)
		a.posts, a.bodies = append(a.posts, r.URL.Path), append(a.bodies, string(raw))
		out = apiv1.Mappings{}
	case r.Method == http.MethodPost && r.URL.Path == "/api/v1/failover/unified":
		raw, _ := io.ReadAll(r.Body)
		a.posts, a.bodies = append(a.posts, r.URL.Path), append(a.bodies, string(raw))
		if !p.Role.Allows(auth.Operator) {
			w.WriteHeader(http.StatusForbidden)
			_ = json.NewEncoder(w).Encode(apiv1.Error{Error: "needs the operator role"})
			return
		}
		w.WriteHeader(http.StatusAccepted)
		out = apiv1.Started{JobID: "job-1"}
	default:
		w.WriteHeader(http.StatusNotFound)
		out = apiv1.Error{Error: "no route " + r.URL.Path}
	}
	_ = json.NewEncoder(w).Encode(out)
}

func newConsole(t *testing.T) (*Console, *stubAPI, http.Handler) {
	t.Helper()
	api := &stubAPI{}
	c := New(Config{API: api, Authenticate: func(tok string) (auth.Principal, error) {
		if p, ok := principals[tok]; ok {
			return p, nil
		}
		return auth.Principal{}, errors.New("bad token")
	}})
	return c, api, c.Handler()
}

func do(h http.Handler, method, target, token string, form url.Values, hdr map[string]string) *httptest.ResponseRecorder {
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	r := httptest.NewRequest(method, target, body)
	if form != nil {
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if token != "" {
		r.AddCookie(&http.Cookie{Name: CookieName, Value: token})
	}
	for k, v := range hdr {
		r.Header.Set(k, v)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

func TestLoginSetsAStrictHttpOnlyCookie(t *testing.T) {
	_, _, h := newConsole(t)
	w := do(h, "POST", "/ui/login", "", url.Values{"token": {"nope"}}, nil)
	if w.Code != http.StatusUnauthorized || len(w.Result().Cookies()) != 0 {
		t.Fatalf("a bad token: %d, cookies %v", w.Code, w.Result().Cookies())
	}
	w = do(h, "POST", "/ui/login", "", url.Values{"token": {"tok-operator"}, "next": {"//evil.example/x"}}, nil)
	if w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/ui/vms" {
		t.Fatalf("login: %d to %q (want 303 to /ui/vms: next must stay in the console)", w.Code, w.Header().Get("Location"))
	}
	cs := w.Result().Cookies()
	if len(cs) != 1 {
		t.Fatalf("cookies %v", cs)
	}
	c := cs[0]
	if c.Name != CookieName || c.Value != "tok-operator" || !c.HttpOnly || c.SameSite != http.SameSiteStrictMode || c.Secure || c.Path != "/" {
		t.Fatalf("cookie %+v: want HttpOnly, SameSite=Strict, Path=/, not Secure over plain HTTP", c)
	}

	// Over TLS the cookie is Secure.
	r := httptest.NewRequest("POST", "/ui/login", strings.NewReader("token=tok-viewer"))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.TLS = &tls.ConnectionState{}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	if cs := rec.Result().Cookies(); len(cs) != 1 || !cs[0].Secure {
		t.Fatalf("over TLS: cookies %+v, want one Secure", cs)
	}

	// A login posted from another site is refused.
	w = do(h, "POST", "/ui/login", "", url.Values{"token": {"tok-admin"}}, map[string]string{"Origin": "https://evil.example"})
	if w.Code != http.StatusForbidden || len(w.Result().Cookies()) != 0 {
		t.Fatalf("cross-site login: %d, cookies %v", w.Code, w.Result().Cookies())
	}
}

func TestPagesNeedASession(t *testing.T) {
	_, _, h := newConsole(t)
	w := do(h, "GET", "/ui/vms?q=a", "", nil, nil)
	if w.Code != http.StatusSeeOther || !strings.HasPrefix(w.Header().Get("Location"), "/ui/login?next=") {
		t.Fatalf("no session: %d to %q", w.Code, w.Header().Get("Location"))
	}
	w = do(h, "GET", "/ui/vms", "revoked", nil, nil)
	if w.Code != http.StatusSeeOther || len(w.Result().Cookies()) != 1 || w.Result().Cookies()[0].MaxAge >= 0 {
		t.Fatalf("a revoked token: %d, cookies %v (want a redirect that clears the cookie)", w.Code, w.Result().Cookies())
	}
	w = do(h, "GET", "/ui/jobs/x/live", "", nil, map[string]string{"HX-Request": "true"})
	if w.Code != http.StatusUnauthorized {
		t.Fatalf("a partial without a session: %d", w.Code)
	}
	w = do(h, "POST", "/ui/vms/ctx-1/failover", "", url.Values{"failover_type": {"test"}}, nil)
	if w.Code != http.StatusUnauthorized {
		t.Fatalf("a POST without a session: %d", w.Code)
	}
}

func TestPostsNeedTheSessionsCSRFToken(t *testing.T) {
	c, api, h := newConsole(t)
	form := func(csrf string) url.Values {
		v := url.Values{"failover_type": {"test"}}
		if csrf != "" {
			v.Set(csrfField, csrf)
		}
		return v
	}
	for name, f := range map[string]url.Values{
		"none":                 form(""),
		"another session's":    form(c.csrf.token("tok-admin")),
		"made with other keys": form(csrf{key: []byte("other")}.token("tok-operator")),
	} {
		if w := do(h, "POST", "/ui/vms/ctx-1/failover", "tok-operator", f, nil); w.Code != http.StatusForbidden {
			t.Errorf("CSRF token %s: %d, want 403", name, w.Code)
		}
	}
	if w := do(h, "POST", "/ui/logout", "tok-operator", url.Values{}, nil); w.Code != http.StatusForbidden {
		t.Errorf("logout without a CSRF token: %d, want 403", w.Code)
	}
	good := form(c.csrf.token("tok-operator"))
	if w := do(h, "POST", "/ui/vms/ctx-1/failover", "tok-operator", good, map[string]string{"Sec-Fetch-Site": "cross-site"}); w.Code != http.StatusForbidden {
		t.Errorf("a cross-site POST with a good token: %d, want 403", w.Code)
	}
	if len(api.posts) != 0 {
		t.Fatalf("refused POSTs reached the API: %v", api.posts)
	}
	w := do(h, "POST", "/ui/vms/ctx-1/failover", "tok-operator", good, map[string]string{"Sec-Fetch-Site": "same-origin"})
	if w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/ui/jobs/job-1" {
		t.Fatalf("a good POST: %d to %q", w.Code, w.Header().Get("Location"))
	}
	w = do(h, "POST", "/ui/logout", "tok-operator", url.Values{csrfField: {c.csrf.token("tok-operator")}}, nil)
	if cs := w.Result().Cookies(); w.Code != http.StatusSeeOther || len(cs) != 1 || cs[0].MaxAge >= 0 || cs[0].Value != "" {
		t.Fatalf("logout: %d, cookies %+v (want the cookie cleared)", w.Code, cs)
	}
}

func TestRolesDecideTheActionsShown(t *testing.T) {
	c, api, h := newConsole(t)
	for tok, want := range map[string][]bool{"tok-viewer": {false, false}, "tok-operator": {true, false}, "tok-admin": {true, true}} {
		w := do(h, "GET", "/ui/vms/ctx-1", tok, nil, nil)
		if w.Code != http.StatusOK {
			t.Fatalf("%s: %d %s", tok, w.Code, w.Body)
		}
		body := w.Body.String()
		if got := []bool{strings.Contains(body, `id="start-test"`), strings.Contains(body, `id="start-live"`)}; got[0] != want[0] || got[1] != want[1] {
			t.Errorf("%s: test, live buttons shown %v, want %v", tok, got, want)
		}
		if tok == "tok-viewer" && strings.Contains(body, "<button type=\"submit\" id=") {
			t.Errorf("viewer sees an action button:\n%s", body)
		}
	}
	// The viewer's forged POST, with a valid CSRF token, is refused by the API's rule.
	w := do(h, "POST", "/ui/vms/ctx-1/failover", "tok-viewer", url.Values{"failover_type": {"test"}, csrfField: {c.csrf.token("tok-viewer")}}, nil)
	if w.Code != http.StatusForbidden || len(api.posts) != 1 {
		t.Fatalf("viewer's forged POST: %d (API saw %v), want 403 from the API", w.Code, api.posts)
	}
}

func TestEveryAnswerHasTheSecurityHeadersAndEscapes(t *testing.T) {
	_, _, h := newConsole(t)
	for _, path := range []string{"/ui/login", "/ui/vms", "/ui/vms/ctx-1", "/ui/nowhere", "/ui/assets/console.css"} {
		w := do(h, "GET", path, "tok-viewer", nil, nil)
		csp := w.Header().Get("Content-Security-Policy")
		if !strings.Contains(csp, "script-src 'self'") || !strings.Contains(csp, "frame-ancestors 'none'") || strings.Contains(csp, "unsafe-inline") {
			t.Errorf("%s: CSP %q", path, csp)
		}
		if w.Header().Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("%s: no nosniff", path)
		}
		if strings.Contains(w.Body.String(), xssName) {
			t.Errorf("%s: the VM's name is not escaped", path)
		}
	}
	w := do(h, "GET", "/ui/vms?q=IMG", "tok-viewer", nil, nil)
	if !strings.Contains(w.Body.String(), "&lt;img src=x onerror=alert(1)&gt;") || strings.Contains(w.Body.String(), "db01") {
		t.Fatalf("search for IMG:\n%s", w.Body)
	}
	w = do(h, "GET", "/ui/vms?status=failed", "tok-viewer", nil, nil)
	if !strings.Contains(w.Body.String(), "db01") || strings.Contains(w.Body.String(), "&lt;img") {
		t.Fatalf("status=failed:\n%s", w.Body)
	}
	// No inline script: every <script> has a src under the console.
	w = do(h, "GET", "/ui/vms", "tok-viewer", nil, nil)
	if strings.Contains(w.Body.String(), "<script>") || strings.Contains(w.Body.String(), " on") && strings.Contains(w.Body.String(), "onclick") {
		t.Fatalf("inline script in the page")
	}
}

func TestTimesAreLocalWithUTCInTheTitle(t *testing.T) {
	var b strings.Builder
	at := time.Date(2026, 12, 1, 21, 0, 0, 0, time.UTC)
	if err := loadPages().byName["partials"].ExecuteTemplate(&b, "time", at); err != nil {
		t.Fatal(err)
	}
	if want := `datetime="2026-12-01T21:00:00Z" title="2026-12-01T21:00:00Z UTC"`; !strings.Contains(b.String(), want) {
		t.Fatalf("%s: want %s", b.String(), want)
	}
}

func TestTheMappingEditorSavesEveryRowInOneRequest(t *testing.T) {
	vm := apiv1.ContextDetail{VMContext: apiv1.VMContext{NICs: []apiv1.SourceNIC{{NetworkName: "web"}, {NetworkName: "db"}, {NetworkName: "web"}}},
		Mappings: []apiv1.NetworkMapping{{SourceNetworkName: "db", MappingType: apiv1.MappingTest, DestinationNetworkID: "n-test"}}}
	rows := mappingRows(vm)
	if len(rows) != 4 || rows[0].Source != "web" || rows[0].Type != apiv1.MappingLive || rows[3].Source != "db" ||
		rows[3].Type != apiv1.MappingTest || rows[3].DestinationID != "n-test" || rows[2].DestinationID != "" {
		t.Fatalf("rows %+v", rows)
	}
	c, api, h := newConsole(t)
	form := url.Values{csrfField: {c.csrf.token("tok-operator")},
		"src_0": {"web"}, "type_0": {"live"}, "dst_0": {"n-live"},
		"src_1": {"web"}, "type_1": {"test"}, "dst_1": {""},
		"src_2": {"db"}, "type_2": {"test"}, "dst_2": {"n-iso"}}
	w := do(h, "POST", "/ui/vms/ctx-1/mappings", "tok-operator", form, nil)
	if w.Code != http.StatusSeeOther || len(api.bodies) != 1 {
		t.Fatalf("save: %d, API got %v", w.Code, api.bodies)
	}
	want := `{"mappings":[{"source_network_name":"web","destination_network_id":"n-live","mapping_type":"live"},` +
		`{"source_network_name":"db","destination_network_id":"n-iso","mapping_type":"test"}]}`
	if api.bodies[0] != want {
		t.Fatalf("the API got %s\nwant %s", api.bodies[0], want)
	}
	if w := do(h, "POST", "/ui/vms/ctx-1/mappings", "tok-operator", url.Values{"src_0": {"web"}, "dst_0": {"x"}}, nil); w.Code != http.StatusForbidden {
		t.Fatalf("save without a CSRF token: %d", w.Code)
	}
}

func TestTheStartFormsCarryTheirOptions(t *testing.T) {
	c, api, h := newConsole(t)
	tok := c.csrf.token("tok-admin")
	do(h, "POST", "/ui/vms/ctx-1/failover", "tok-admin", url.Values{csrfField: {tok}, "failover_type": {"test"}, "test_duration": {" 30m "}}, nil)
	do(h, "POST", "/ui/vms/ctx-1/failover", "tok-admin", url.Values{csrfField: {tok}, "failover_type": {"live"}, "confirm": {xssName}, "accept_rpo": {"on"}}, nil)
	want := []string{`{"context_id":"ctx-1","failover_type":"test","test_duration":"30m"}`,
		`{"context_id":"ctx-1","failover_type":"live","accept_rpo":true,"confirm":"\u003cimg src=x onerror=alert(1)\u003e"}`}
	if len(api.bodies) != 2 || api.bodies[0] != want[0] || api.bodies[1] != want[1] {
		t.Fatalf("the API got %q\nwant %q", api.bodies, want)
	}
	if w := do(h, "POST", "/ui/vms/ctx-1/failover", "tok-admin", url.Values{csrfField: {tok}, "failover_type": {"drill"}}, nil); w.Code != http.StatusBadRequest {
		t.Fatalf("failover_type drill: %d", w.Code)
	}
}
