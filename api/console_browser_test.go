package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/ossea/unifiedfailover/lab"
	"github.com/ossea/unifiedfailover/testsvc"
)

const xssVMName = `<img src=x onerror=alert(1)>`

// browser starts headless Chromium at 1280×800 and counts the JavaScript
// dialogs that open (none should: a dialog is a script the console ran
// from data). Chromium missing fails the test with how to install it.
func browser(t *testing.T, ctx context.Context) (context.Context, *atomic.Int32) {
	t.Helper()
	bin, err := exec.LookPath("chromium")
	if err != nil {
		if bin, err = exec.LookPath("chromium-browser"); err != nil {
			t.Fatalf("chromium is not installed: `make drill-tools` (or `make test-tools`) installs Debian's chromium package")
		}
	}
	opts := []chromedp.ExecAllocatorOption{chromedp.ExecPath(bin), chromedp.Flag("window-size", "1280,800")}
	for _, a := range testsvc.ChromiumArgs(t.TempDir()) {
		k, v, ok := strings.Cut(strings.TrimPrefix(a, "--"), "=")
		if ok {
			opts = append(opts, chromedp.Flag(k, v))
		} else {
			opts = append(opts, chromedp.Flag(k, true))
		}
	}
	actx, cancelA := chromedp.NewExecAllocator(ctx, opts...)
	t.Cleanup(cancelA)
	bctx, cancelB := chromedp.NewContext(actx)
	t.Cleanup(cancelB)
	dialogs := &atomic.Int32{}
	err = chromedp.Listen(bctx, func(ev any) {
		if _, ok := ev.(*page.EventJavascriptDialogOpening); ok {
			dialogs.Add(1)
			go func() { _, _ = chromedp.Call(bctx, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{}) }()
		}
	})
	if err != nil {
		t.Fatalf("starting chromium: %v", err)
	}
	if err := chromedp.Do(bctx, chromedp.EmulateViewport(1280, 800)); err != nil {
		t.Fatalf("setting the viewport: %v", err)
	}
	// Every page records the Content-Security-Policy violations it sees,
	// in the tab's sessionStorage (cspViolations reads them).
	if _, err := chromedp.Call(bctx, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: `
		document.addEventListener("securitypolicyviolation", e => {
			const v = JSON.parse(sessionStorage.getItem("csp") || "[]");
			v.push(location.pathname + ": " + e.violatedDirective + " " + e.blockedURI);
			sessionStorage.setItem("csp", JSON.stringify(v));
		});`}); err != nil {
		t.Fatalf("adding the CSP listener: %v", err)
	}
	return bctx, dialogs
}

// run runs actions in the browser, failing the test with the page's main
// part when one fails.
func run(t *testing.T, ctx context.Context, what string, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	c, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	if err := chromedp.Do(c, actions...); err != nil {
		fatalOnPage(t, ctx, what, err)
	}
}

// value runs a in the browser and returns its value.
func value[T any](t *testing.T, ctx context.Context, what string, a chromedp.Action[T]) T {
	t.Helper()
	c, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	v, err := chromedp.Run(c, a)
	if err != nil {
		fatalOnPage(t, ctx, what, err)
	}
	return v
}

func fatalOnPage(t *testing.T, ctx context.Context, what string, err error) {
	t.Helper()
	c, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	html, _ := chromedp.Run(c, chromedp.OuterHTML(chromedp.CSS("main")))
	t.Fatalf("%s: %v\npage's main:\n%s", what, err, html)
}

// login logs into the console with token in the browser.
func login(t *testing.T, b context.Context, base, token string) {
	t.Helper()
	run(t, b, "logging in",
		chromedp.Navigate(base+"/ui/login"),
		chromedp.SendKeys(chromedp.ID("token"), token),
		chromedp.Click(chromedp.ID("login")),
		chromedp.WaitVisible(chromedp.ID("vms")))
}

// logout logs out of the console with its button.
func logout(t *testing.T, b context.Context) {
	t.Helper()
	run(t, b, "logging out", chromedp.Click(chromedp.CSS(`header form.who button`)), chromedp.WaitVisible(chromedp.ID("token")))
}

// waitText waits until the text of sel (by query) is want, without
// reloading the page.
func waitText(sel, want string) chromedp.Action[chromedp.Void] {
	return chromedp.Poll[chromedp.Void](fmt.Sprintf(`(document.querySelector(%q)||{}).textContent === %q`, sel, want),
		chromedp.WithPollingInterval(200*time.Millisecond), chromedp.WithPollingTimeout(50*time.Second))
}

// waitLeave waits until the browser is on another page than from, and
// returns its URL.
func waitLeave(t *testing.T, b context.Context, from string) string {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		c, cancel := context.WithTimeout(b, 2*time.Second)
		u, err := chromedp.Run(c, chromedp.Location())
		cancel()
		if err == nil && u != from {
			return u
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("the browser stayed on %s", from)
	return ""
}

// TestConsoleInBrowser: an operator logs in, sees a VM named like markup
// shown literally, opens another VM, starts a test failover, watches it
// complete on the job page without a reload, rolls it back and finds both
// decisions in the audit; a viewer sees no action and a forged POST is
// refused; a POST without the CSRF token is refused.
func TestConsoleInBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("a headless-Chromium test: make test-short leaves out the real-tool tests; run it without -short")
	}
	f := setupFullWith(t, lab.Config{VMs: 2, Names: []string{xssVMName}})
	vm := f.lab.Manifest().VMs[1].Name
	b, dialogs := browser(t, f.ctx)
	login(t, b, f.url, operatorToken)

	// The markup VM's name is text, in the list and on its page.
	names := value(t, b, "reading the VM list", chromedp.Evaluate[[]string](`[...document.querySelectorAll("a.vm-link")].map(a => a.textContent)`))
	if !contains(names, xssVMName) || !contains(names, vm) {
		t.Fatalf("VM links %q: want %q shown literally and %q", names, xssVMName, vm)
	}
	run(t, b, "opening the markup VM", chromedp.Navigate(f.url+"/ui/vms/"+f.contexts[xssVMName]),
		chromedp.WaitVisible(chromedp.ID("vm-name")))
	imgs := value(t, b, "counting images", chromedp.Evaluate[int](`document.querySelectorAll("main img").length`))
	h1 := value(t, b, "reading its name", chromedp.TextContent(chromedp.ID("vm-name")))
	if h1 != xssVMName || imgs != 0 {
		t.Fatalf("the markup VM's heading %q and %d <img>: want the name as text", h1, imgs)
	}

	// Open the VM from the list and start a test failover.
	run(t, b, "opening the VM",
		chromedp.Navigate(f.url+"/ui/vms?q="+url.QueryEscape(vm)),
		chromedp.Click(chromedp.CSS(`a.vm-link`)),
		chromedp.WaitVisible(chromedp.ID("start-test")))
	preflight := value(t, b, "reading the pre-flight report", chromedp.TextContent(chromedp.ID("readiness")))
	t.Logf("pre-flight: %s", preflight)
	// Edit a test mapping: another proposed test network.
	// Not a network any live mapping uses, nor a shared one: those fail
	// the test-isolation check.
	code, all := f.call(viewerToken, "GET", "/api/v1/network-mappings", "")
	if code != http.StatusOK {
		t.Fatalf("GET /network-mappings: %d %v", code, all)
	}
	var live []string
	for _, m := range all["mappings"].([]any) {
		if m := m.(map[string]any); m["mapping_type"] == "live" {
			live = append(live, m["destination_network_id"].(string))
		}
	}
	liveJSON, _ := json.Marshal(live)
	pick := value(t, b, "choosing a test network", chromedp.Evaluate[[]string](`(() => {
		const live = `+string(liveJSON)+`;
		const sel = document.querySelector('#mapping-editor select[data-type="test"]');
		const o = [...sel.options].find(o => o.value && o.value !== sel.value && !live.includes(o.value) &&
			!o.text.includes("(Shared)") && o.text.includes("proposed test network"));
		return o ? [sel.id, o.value, o.text.split(" (")[0], sel.dataset.source] : [];
	})()`))
	if len(pick) != 4 {
		t.Fatal("the mapping editor offers no other proposed test network")
	}
	vmURL := value(t, b, "reading the URL", chromedp.Location())
	run(t, b, "saving the mapping", chromedp.SetValue(chromedp.ID(pick[0]), pick[1]), chromedp.Click(chromedp.ID("save-mappings")))
	waitLeave(t, b, vmURL)
	run(t, b, "reloading the VM", chromedp.WaitVisible(chromedp.ID("mappings")))
	mapped := value(t, b, "reading the mappings", chromedp.Evaluate[[]string](`[...document.querySelectorAll("#mappings tbody tr")].map(r => [...r.cells].map(c => c.textContent).join("|"))`))
	if want := pick[3] + "|test|" + pick[2] + " (" + pick[1] + ")"; !contains(mapped, want) {
		t.Fatalf("mappings %q after the edit: want %q", mapped, want)
	}

	// Its plan, before anything runs, then start it from there.
	run(t, b, "opening the plan", chromedp.Click(chromedp.ID("plan-test")), chromedp.WaitVisible(chromedp.ID("plan-steps")))
	planned := value(t, b, "reading the plan", chromedp.Evaluate[[]string](`[...document.querySelectorAll("#plan-steps li")].map(li => li.textContent)`))
	if len(planned) == 0 || !strings.HasPrefix(planned[0], "validation") {
		t.Fatalf("the plan's steps: %q", planned)
	}
	run(t, b, "starting a test failover",
		chromedp.Click(chromedp.ID("start-test")),
		chromedp.WaitVisible(chromedp.ID("job-live")),
		// A mark on the page: it survives only if the page is never reloaded.
		chromedp.Evaluate[chromedp.Void](`window.consoleMark = "kept"; undefined`))
	run(t, b, "watching the failover complete",
		waitText("#job-status", "completed"),
		waitText("#failover-status", "completed"))
	failoverURL := value(t, b, "reading the URL", chromedp.Location())
	mark := value(t, b, "checking the page was not reloaded", chromedp.Evaluate[string](`window.consoleMark || ""`))
	if mark != "kept" {
		t.Fatal("the job page was reloaded: it should update in place")
	}
	steps := value(t, b, "reading the steps", chromedp.Evaluate[[]string](`[...document.querySelectorAll("#steps tbody tr")].map(r => r.cells[1].textContent + " " + r.cells[2].textContent.trim())`))
	if len(steps) == 0 {
		t.Fatal("the job page shows no step")
	}
	for _, s := range steps {
		if !strings.HasSuffix(s, " completed") && !strings.HasSuffix(s, " skipped") {
			t.Errorf("step %q is not done", s)
		}
	}
	shot := value(t, b, "taking a screenshot", chromedp.FullScreenshot(100))
	path := filepath.Join(t.ArtifactDir(), "job-page.png")
	if err := os.WriteFile(path, shot, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("job page screenshot: %s", path)
	failoverJob := failoverURL[strings.LastIndex(failoverURL, "/")+1:]

	// Roll it back from the job page.
	run(t, b, "rolling back", chromedp.WaitVisible(chromedp.ID("rollback")))
	needsName := value(t, b, "reading the rollback form", chromedp.Evaluate[bool](`!!document.querySelector("#rollback-confirm")`))
	if needsName {
		run(t, b, "typing the name", chromedp.SendKeys(chromedp.ID("rollback-confirm"), vm))
	}
	run(t, b, "starting the rollback", chromedp.Click(chromedp.ID("rollback")))
	rollbackURL := waitLeave(t, b, failoverURL)
	run(t, b, "watching the rollback complete", chromedp.WaitVisible(chromedp.ID("job-live")), waitText("#job-status", "completed"))
	rollbackJob := rollbackURL[strings.LastIndex(rollbackURL, "/")+1:]
	if rollbackJob == failoverJob {
		t.Fatalf("the rollback did not start a job (still on %s)", rollbackURL)
	}

	// Both decisions are in the audit.
	run(t, b, "opening the audit", chromedp.Navigate(f.url+"/ui/audit"), chromedp.WaitVisible(chromedp.ID("audit")))
	audited := value(t, b, "reading the audit",
		chromedp.Evaluate[[]string](`[...document.querySelectorAll("#audit tbody tr[data-job]")].map(r => r.dataset.decision + " " + r.dataset.job)`))
	t.Logf("audit: %q", audited)
	var forFailover, forRollback bool
	for _, a := range audited {
		forFailover = forFailover || strings.HasSuffix(a, " "+failoverJob)
		forRollback = forRollback || strings.HasPrefix(a, "rollback ") && strings.HasSuffix(a, " "+rollbackJob)
	}
	if !forFailover || !forRollback {
		t.Fatalf("audit rows %q: want a decision of the failover %s and the rollback %s", audited, failoverJob, rollbackJob)
	}

	// The pages, htmx and its swaps ran within the CSP.
	if v := value(t, b, "reading the CSP violations", chromedp.Evaluate[string](`sessionStorage.getItem("csp") || "[]"`)); v != "[]" {
		t.Fatalf("Content-Security-Policy violations: %s", v)
	}

	// A viewer sees no action button, on the VM and on the job.
	logout(t, b)
	login(t, b, f.url, viewerToken)
	for _, p := range []string{"/ui/vms/" + f.contexts[vm], "/ui/jobs/" + failoverJob, "/ui/jobs/" + rollbackJob} {
		run(t, b, "opening "+p, chromedp.Navigate(f.url+p), chromedp.WaitVisible(chromedp.CSS("main h1")))
		buttons := value(t, b, "counting "+p+"'s buttons", chromedp.Evaluate[int](`document.querySelectorAll("main button, main input[type=submit]").length`))
		if buttons != 0 {
			t.Errorf("the viewer sees %d buttons on %s", buttons, p)
		}
	}
	if n := dialogs.Load(); n != 0 {
		t.Fatalf("%d JavaScript dialogs opened: a page ran a script from data", n)
	}

	// A forged POST with the viewer's cookie and its own CSRF token: 403
	// from the API's rule. A POST without a CSRF token: 403.
	viewer := consoleClient(t, f, viewerToken)
	csrf := viewer.csrf(t, "/ui/vms/"+f.contexts[vm])
	if code, body := viewer.post(t, "/ui/vms/"+f.contexts[vm]+"/failover", url.Values{"failover_type": {"test"}, "csrf": {csrf}}); code != http.StatusForbidden {
		t.Fatalf("viewer's forged POST: %d %s", code, body)
	}
	if code, body := viewer.post(t, "/ui/jobs/"+failoverJob+"/rollback", url.Values{"csrf": {csrf}}); code != http.StatusForbidden {
		t.Fatalf("viewer's forged rollback: %d %s", code, body)
	}
	operator := consoleClient(t, f, operatorToken)
	if code, body := operator.post(t, "/ui/vms/"+f.contexts[vm]+"/failover", url.Values{"failover_type": {"test"}}); code != http.StatusForbidden {
		t.Fatalf("operator's POST without a CSRF token: %d %s", code, body)
	}
	// A live failover needs the admin role, then the typed name.
	ocsrf := operator.csrf(t, "/ui/vms/"+f.contexts[vm])
	if code, body := operator.post(t, "/ui/vms/"+f.contexts[vm]+"/failover", url.Values{"failover_type": {"live"}, "confirm": {vm}, "csrf": {ocsrf}}); code != http.StatusForbidden {
		t.Fatalf("operator's live failover: %d %s", code, body)
	}
	admin := consoleClient(t, f, adminToken)
	acsrf := admin.csrf(t, "/ui/vms/"+f.contexts[vm])
	if code, body := admin.post(t, "/ui/vms/"+f.contexts[vm]+"/failover", url.Values{"failover_type": {"live"}, "csrf": {acsrf}}); code != http.StatusPreconditionRequired {
		t.Fatalf("admin's live failover without the name: %d %s", code, body)
	}

	// With the admin role and the typed name, a live failover runs.
	logout(t, b)
	login(t, b, f.url, adminToken)
	run(t, b, "opening the live plan",
		chromedp.Navigate(f.url+"/ui/vms/"+f.contexts[vm]),
		chromedp.Click(chromedp.ID("plan-live")),
		chromedp.WaitVisible(chromedp.ID("plan-needs")))
	if needs := value(t, b, "reading what it needs", chromedp.TextContent(chromedp.ID("plan-needs"))); !strings.Contains(needs, "admin") || !strings.Contains(needs, "typed") {
		t.Fatalf("the live plan needs %q: want the admin role and the typed name", needs)
	}
	planURL := value(t, b, "reading the URL", chromedp.Location())
	run(t, b, "starting a live failover",
		chromedp.SendKeys(chromedp.ID("live-confirm"), vm),
		chromedp.Click(chromedp.ID("start-live")))
	liveURL := waitLeave(t, b, planURL)
	run(t, b, "watching the live failover complete", chromedp.WaitVisible(chromedp.ID("job-live")),
		waitText("#job-status", "completed"), waitText("#failover-status", "completed"))
	if !strings.Contains(liveURL, "/ui/jobs/") {
		t.Fatalf("the live failover went to %s", liveURL)
	}
	if title := value(t, b, "reading the heading", chromedp.TextContent(chromedp.CSS("main h1"))); !strings.HasPrefix(title, "live failover") {
		t.Fatalf("the live job's heading is %q", title)
	}

	// /api/v1 never takes the cookie.
	if code, _ := admin.get(t, "/api/v1/contexts"); code != http.StatusUnauthorized {
		t.Fatalf("/api/v1 with the console's cookie: %d, want 401", code)
	}

	// The cookie opens asynqmon: the viewer looks, and may not act.
	if code, _ := viewer.get(t, "/monitoring"+"/api/queues"); code != http.StatusOK {
		t.Fatalf("viewer's asynqmon with the cookie: %d", code)
	}
	if code, _ := viewer.post(t, "/monitoring/api/queues/default:pause", nil); code != http.StatusForbidden {
		t.Fatalf("viewer pausing a queue with the cookie: %d", code)
	}
	// An admin's cookie acts only from this site.
	if code, body := admin.do(t, "POST", "/monitoring/api/queues/default:pause", nil, "Origin", "https://evil.example"); code != http.StatusForbidden {
		t.Fatalf("a cross-site pause with the admin's cookie: %d %s", code, body)
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// cclient is a plain HTTP client logged into the console.
type cclient struct {
	f *full
	c *http.Client
}

func consoleClient(t *testing.T, f *full, token string) *cclient {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &cclient{f: f, c: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
	if code, body := c.post(t, "/ui/login", url.Values{"token": {token}}); code != http.StatusSeeOther {
		t.Fatalf("login: %d %s", code, body)
	}
	return c
}

func (c *cclient) do(t *testing.T, method, path string, form url.Values, header ...string) (int, string) {
	t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequestWithContext(c.f.ctx, method, c.f.url+path, body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := c.c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(raw)
}

func (c *cclient) get(t *testing.T, path string) (int, string) { return c.do(t, "GET", path, nil) }

func (c *cclient) post(t *testing.T, path string, form url.Values) (int, string) {
	return c.do(t, "POST", path, form)
}

var csrfInput = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// csrf is the CSRF token in the forms of the page at path.
func (c *cclient) csrf(t *testing.T, path string) string {
	t.Helper()
	code, body := c.get(t, path)
	m := csrfInput.FindStringSubmatch(body)
	if code != http.StatusOK || m == nil {
		t.Fatalf("GET %s: %d, no CSRF token", path, code)
	}
	return m[1]
}
