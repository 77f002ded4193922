package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v4"

	"github.com/ossea/unifiedfailover/testsvc"
)

// promServer is a Prometheus scraping the processes of an obsBundle, with
// the product's alert and recording rules loaded.
type promServer struct {
	url string
}

// startPrometheus starts Prometheus scraping the api, the worker and the
// scheduler every second under the job names of deploy/prometheus, with
// deploy/prometheus/alerts.yml, and waits until it holds three scrapes of
// each.
func startPrometheus(t *testing.T, b *obsBundle) *promServer {
	t.Helper()
	bin := testsvc.Tool(t, "make observability-tools: Debian package prometheus", "prometheus")
	rules, err := filepath.Abs("../deploy/prometheus/alerts.yml")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	host := func(u string) string { return strings.TrimPrefix(u, "http://") }
	cfg := fmt.Sprintf(`global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files: [%q]
scrape_configs:
  - job_name: failover-api
    static_configs: [{targets: [%q]}]
  - job_name: failover-worker
    static_configs: [{targets: [%q]}]
  - job_name: failover-scheduler
    static_configs: [{targets: [%q]}]
`, rules, host(b.apiURL), host(b.workerURL), host(b.schedURL))
	cfgFile := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(cfgFile, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	addr := "127.0.0.1:" + strconv.Itoa(testsvc.FreePort(t))
	cmd := exec.Command(bin, "--config.file="+cfgFile, "--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+addr, "--log.level=warn")
	startLogged(t, cmd, filepath.Join(b.logDir, "prometheus.log"), 20*time.Second)
	p := &promServer{url: "http://" + addr}
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		res, err := p.query(`min(count_over_time(up{job=~"failover-.*"}[1m])) >= 3 and count(up{job=~"failover-.*"} == 1) == 3`)
		if err == nil && len(res) > 0 {
			return p
		}
		if time.Now().After(deadline) {
			t.Fatalf("prometheus does not hold three good scrapes of each process (%v); see %s", err,
				filepath.Join(b.logDir, "prometheus.log"))
		}
	}
}

// promResult is one series of an instant query's answer.
type promResult struct {
	Metric map[string]string `json:"metric"`
	Value  [2]any            `json:"value"`
}

// query runs an instant query; an expression Prometheus refuses (parse
// or evaluation error) is an error.
func (p *promServer) query(expr string) ([]promResult, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, "GET", p.url+"/api/v1/query?query="+url.QueryEscape(expr), nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var out struct {
		Status string `json:"status"`
		Error  string `json:"error"`
		Data   struct {
			ResultType string          `json:"resultType"`
			Result     json.RawMessage `json:"result"`
		} `json:"data"`
	}
	if err := json.Unmarshal(body, &out); err != nil {
		return nil, fmt.Errorf("%d %s", resp.StatusCode, body)
	}
	if out.Status != "success" {
		return nil, fmt.Errorf("%s", out.Error)
	}
	var res []promResult
	if out.Data.ResultType == "vector" {
		if err := json.Unmarshal(out.Data.Result, &res); err != nil {
			return nil, err
		}
	}
	return res, nil
}

var (
	// grafanaVars are the dashboard's variables as the queries get them
	// here: every job and failover type, windows a few scrapes long.
	grafanaVars = strings.NewReplacer("$__rate_interval", "30s", "$__range", "30s", "$window", "30s",
		"${type}", ".*", "$type", ".*", "${failover_type}", ".*", "$failover_type", ".*")
	reLabelValues = regexp.MustCompile(`^\s*label_values\s*\(\s*(.*?)\s*,\s*\w+\s*\)\s*$`)
	reSelectors   = regexp.MustCompile(`\{[^}]*\}`)
	reComparison  = regexp.MustCompile(`[<>]|==|!=`)
)

// dashboardQueries returns the dashboard's panel and variable queries,
// keyed by where they are.
func dashboardQueries(t *testing.T) map[string]string {
	t.Helper()
	raw, err := os.ReadFile("../deploy/grafana/dashboards/failover.json")
	if err != nil {
		t.Fatal(err)
	}
	type panel struct {
		Title   string            `json:"title"`
		Panels  []json.RawMessage `json:"panels"`
		Targets []struct {
			Expr  string `json:"expr"`
			RefID string `json:"refId"`
		} `json:"targets"`
	}
	var d struct {
		Panels     []json.RawMessage `json:"panels"`
		Templating struct {
			List []struct {
				Name  string          `json:"name"`
				Type  string          `json:"type"`
				Query json.RawMessage `json:"query"` // a string, or an object for query variables
			} `json:"list"`
		} `json:"templating"`
	}
	if err := json.Unmarshal(raw, &d); err != nil {
		t.Fatalf("failover.json: %v", err)
	}
	out := map[string]string{}
	var walk func([]json.RawMessage)
	walk = func(ps []json.RawMessage) {
		for _, r := range ps {
			var p panel
			if err := json.Unmarshal(r, &p); err != nil {
				t.Fatalf("failover.json: panel: %v", err)
			}
			for _, tg := range p.Targets {
				out["panel "+p.Title+" "+tg.RefID] = tg.Expr
			}
			walk(p.Panels)
		}
	}
	walk(d.Panels)
	for _, v := range d.Templating.List {
		if v.Type != "query" {
			continue
		}
		var q struct {
			Query string `json:"query"`
		}
		if err := json.Unmarshal(v.Query, &q.Query); err != nil {
			if err := json.Unmarshal(v.Query, &q); err != nil {
				t.Fatalf("failover.json: variable %s: %v", v.Name, err)
			}
		}
		out["variable "+v.Name] = q.Query
	}
	return out
}

// ruleQueries returns the expressions of alerts.yml and the names its
// recording rules record.
func ruleQueries(t *testing.T) (exprs map[string]string, recorded []string) {
	t.Helper()
	raw, err := os.ReadFile("../deploy/prometheus/alerts.yml")
	if err != nil {
		t.Fatal(err)
	}
	var f struct {
		Groups []struct {
			Rules []struct {
				Alert  string `yaml:"alert"`
				Record string `yaml:"record"`
				Expr   string `yaml:"expr"`
			} `yaml:"rules"`
		} `yaml:"groups"`
	}
	if err := yaml.Unmarshal(raw, &f); err != nil {
		t.Fatalf("alerts.yml: %v", err)
	}
	exprs = map[string]string{}
	for _, g := range f.Groups {
		for _, r := range g.Rules {
			if r.Record != "" {
				recorded = append(recorded, r.Record)
				exprs["record "+r.Record] = r.Expr
			} else {
				exprs["alert "+r.Alert] = r.Expr
			}
		}
	}
	return exprs, recorded
}

// checkQueries runs every query of the dashboard and of the alert rules
// on a Prometheus that scraped the running processes: Prometheus must
// accept and evaluate each one, and one without a comparison (a filter
// that may rightly leave nothing) must find series, so that a metric or a
// label the processes do not export shows up here. It also checks that
// Prometheus evaluated the rules without an error.
func checkQueries(t *testing.T, b *obsBundle) {
	p := startPrometheus(t, b)
	exprs := dashboardQueries(t)
	rules, recorded := ruleQueries(t)
	for k, v := range rules {
		exprs[k] = v
	}
	for where, expr := range exprs {
		q := grafanaVars.Replace(expr)
		if m := reLabelValues.FindStringSubmatch(q); m != nil {
			q = m[1]
		}
		res, err := p.query(q)
		if err != nil {
			t.Errorf("%s: Prometheus refuses %q: %v", where, q, err)
			continue
		}
		// Recording rules of a 1m group may not have run yet.
		usesRecorded := false
		for _, r := range recorded {
			usesRecorded = usesRecorded || strings.Contains(q, r)
		}
		if len(res) == 0 && !usesRecorded && !reComparison.MatchString(reSelectors.ReplaceAllString(q, "")) {
			t.Errorf("%s: %q finds no series on the scraped processes", where, q)
		}
	}
	// The rules as Prometheus evaluates them: none in error.
	resp, err := http.Get(p.url + "/api/v1/rules")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		Data struct {
			Groups []struct {
				Name  string `json:"name"`
				Rules []struct {
					Name      string `json:"name"`
					Health    string `json:"health"`
					LastError string `json:"lastError"`
				} `json:"rules"`
			} `json:"groups"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, g := range out.Data.Groups {
		for _, r := range g.Rules {
			n++
			if r.Health == "err" {
				t.Errorf("rule %s (group %s) fails in Prometheus: %s", r.Name, g.Name, r.LastError)
			}
		}
	}
	if n != len(rules) {
		t.Errorf("Prometheus loaded %d rules, alerts.yml has %d", n, len(rules))
	}
	t.Logf("%d dashboard and rule queries run on Prometheus' scrapes of api, worker and scheduler", len(exprs))
}
