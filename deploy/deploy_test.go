package deploy

// The tests check the deployment files: promtool accepts the Prometheus
// files, every metric the dashboard and the rules name is one the product
// exports (Exported), the YAML files parse and the Kubernetes objects are
// well-formed, and the dashboard's panels all have a title and a query.

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/ossea/unifiedfailover/testsvc"

	"go.yaml.in/yaml/v4"
)

// scrapeLabels are attached by Prometheus to every scraped series.
var scrapeLabels = []string{"job", "instance", "pod"}

// knownSeries returns every series name the product exports, with labels.
func knownSeries() map[string][]string {
	known := map[string][]string{}
	for name, labels := range Exported {
		known[name] = labels
	}
	for _, h := range Histograms {
		delete(known, h)
		known[h+"_sum"] = Exported[h]
		known[h+"_count"] = Exported[h]
		known[h+"_bucket"] = append(slices.Clone(Exported[h]), "le")
	}
	return known
}

func TestPromtool(t *testing.T) {
	promtool := testsvc.Tool(t, "make deploy-tools: Debian package prometheus", "promtool")
	configs, _ := filepath.Glob("prometheus/prometheus*.yml")
	if len(configs) == 0 {
		t.Fatal("no prometheus/prometheus*.yml")
	}
	runs := [][]string{{"check", "rules", "prometheus/alerts.yml"}, {"test", "rules", "prometheus/alerts_test.yml"}}
	for _, c := range configs {
		runs = append(runs, []string{"check", "config", c})
	}
	for _, args := range runs {
		out, err := exec.Command(promtool, args...).CombinedOutput()
		if err != nil {
			t.Errorf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
}

// --- metric names in PromQL ---

var (
	reString   = regexp.MustCompile(`"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|` + "`[^`]*`")
	reRange    = regexp.MustCompile(`\[[^\]]*\]`)
	reGrafVar  = regexp.MustCompile(`\$\{[^}]*\}|\$\w+`)
	reGrouping = regexp.MustCompile(`\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)`)
	reSelector = regexp.MustCompile(`([A-Za-z_:][A-Za-z0-9_:]*)?\s*\{([^}]*)\}`)
	reIdent    = regexp.MustCompile(`[A-Za-z_:][A-Za-z0-9_:]*`)
	reMatcher  = regexp.MustCompile(`([A-Za-z_][A-Za-z0-9_]*)\s*(=~|!~|!=|=)`)
	reNumber   = regexp.MustCompile(`^(?:\d+(?:\.\d+)?(?:e[+-]?\d+)?|0x[0-9a-f]+|inf|nan)$`)
	reLabelVal = regexp.MustCompile(`^\s*label_values\s*\(\s*(.*?)\s*,\s*\w+\s*\)\s*$`)
	reDuration = regexp.MustCompile(`^\d+(ms|s|m|h|d|w|y)$`)
)

var promqlKeywords = map[string]bool{"by": true, "without": true, "on": true, "ignoring": true,
	"group_left": true, "group_right": true, "and": true, "or": true, "unless": true, "bool": true,
	"offset": true, "atan2": true}

// selectorUse is one metric referenced by an expression, with the label
// names its matchers use.
type selectorUse struct {
	name   string
	labels []string
}

// metricsIn returns the metrics an expression selects. It is a small
// tokenizer, not a full PromQL parser: strings, range/subquery brackets,
// Grafana variables and grouping clauses are removed; an identifier followed
// by "(" is a function or aggregation; every other identifier (not a keyword,
// number or duration) is a metric name. A selector without a name
// ({__name__=~"..."}) is reported with the name "{}" so that it fails.
func metricsIn(expr string) []selectorUse {
	if m := reLabelVal.FindStringSubmatch(expr); m != nil {
		expr = m[1]
	}
	e := reGrafVar.ReplaceAllString(expr, "1")
	// Matchers first (they hold strings), then strip.
	var uses []selectorUse
	strip := reString.ReplaceAllString(e, `""`)
	for _, m := range reSelector.FindAllStringSubmatch(strip, -1) {
		var labels []string
		for _, lm := range reMatcher.FindAllStringSubmatch(m[2], -1) {
			labels = append(labels, lm[1])
		}
		if m[1] == "" || promqlKeywords[m[1]] {
			uses = append(uses, selectorUse{name: "{}", labels: labels})
			continue
		}
		uses = append(uses, selectorUse{name: m[1], labels: labels})
	}
	rest := reSelector.ReplaceAllStringFunc(strip, func(s string) string {
		return reSelector.FindStringSubmatch(s)[1] + " "
	})
	rest = reRange.ReplaceAllString(rest, " ")
	rest = reGrouping.ReplaceAllString(rest, " ")
	seen := map[string]bool{}
	for _, u := range uses {
		seen[u.name] = true
	}
	for _, loc := range reIdent.FindAllStringIndex(rest, -1) {
		id := rest[loc[0]:loc[1]]
		after := strings.TrimLeft(rest[loc[1]:], " \t\n")
		if strings.HasPrefix(after, "(") || promqlKeywords[strings.ToLower(id)] ||
			reNumber.MatchString(strings.ToLower(id)) || reDuration.MatchString(id) || seen[id] {
			continue
		}
		if loc[0] > 0 && (rest[loc[0]-1] >= '0' && rest[loc[0]-1] <= '9' || rest[loc[0]-1] == '.') {
			continue // the exponent or unit of a number
		}
		seen[id] = true
		uses = append(uses, selectorUse{name: id})
	}
	return uses
}

func TestMetricsIn(t *testing.T) {
	cases := map[string][]string{
		`sum by (type, outcome) (increase(failover_jobs_total{outcome="failed", type=~"$type"}[5m])) > 0`:              {"failover_jobs_total"},
		`histogram_quantile(0.99, sum by (le) (rate(failover_api_request_duration_seconds_bucket[$__rate_interval])))`: {"failover_api_request_duration_seconds_bucket"},
		`(sum(up{job="failover-worker"}) or on () vector(0)) == 0`:                                                     {"up"},
		`a:rec:rate1h < 0.5 * quantile_over_time(0.5, a:rec:rate1h[7d])`:                                               {"a:rec:rate1h"},
		`max by (type) (x) unless on (type) (sum by (type) (y) > 0) * 1e3`:                                             {"x", "y"},
		`label_values(failover_step_duration_seconds_count, type)`:                                                     {"failover_step_duration_seconds_count"},
		`{__name__=~"failover_.*"}`:                   {"{}"},
		`rate(typo_total{code=~"5.."}[5m] offset 1h)`: {"typo_total"},
	}
	for expr, want := range cases {
		var got []string
		for _, u := range metricsIn(expr) {
			got = append(got, u.name)
		}
		sort.Strings(got)
		sort.Strings(want)
		if !slices.Equal(got, want) {
			t.Errorf("metricsIn(%q) = %q, want %q", expr, got, want)
		}
	}
}

// ruleExprs returns the alert and recording rules of alerts.yml, and the
// names the recording rules define.
func ruleExprs(t *testing.T) (exprs map[string]string, recorded map[string]bool) {
	t.Helper()
	var f struct {
		Groups []struct {
			Name  string `yaml:"name"`
			Rules []struct {
				Alert       string            `yaml:"alert"`
				Record      string            `yaml:"record"`
				Expr        string            `yaml:"expr"`
				Annotations map[string]string `yaml:"annotations"`
			} `yaml:"rules"`
		} `yaml:"groups"`
	}
	b, err := os.ReadFile("prometheus/alerts.yml")
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(b, &f); err != nil {
		t.Fatalf("alerts.yml: %v", err)
	}
	exprs, recorded = map[string]string{}, map[string]bool{}
	for _, g := range f.Groups {
		for _, r := range g.Rules {
			switch {
			case r.Record != "":
				recorded[r.Record] = true
				exprs["record "+r.Record] = r.Expr
			case r.Alert != "":
				exprs["alert "+r.Alert] = r.Expr
				for _, a := range []string{"summary", "description", "runbook"} {
					if strings.TrimSpace(r.Annotations[a]) == "" {
						t.Errorf("alert %s has no %s annotation", r.Alert, a)
					}
				}
			default:
				t.Errorf("group %s: a rule with neither alert nor record", g.Name)
			}
		}
	}
	for _, want := range []string{"FailoverJobFailed", "FailoverJobStuck", "FailoverQueueLatencyHigh",
		"FailoverFinalSyncThroughputLow", "FailoverNoWorkerAlive"} {
		if _, ok := exprs["alert "+want]; !ok {
			t.Errorf("alerts.yml has no alert %s", want)
		}
	}
	return exprs, recorded
}

// dashboard is the part of a Grafana dashboard the checks read.
type dashboard struct {
	Title         string  `json:"title"`
	UID           string  `json:"uid"`
	SchemaVersion int     `json:"schemaVersion"`
	Panels        []panel `json:"panels"`
	Templating    struct {
		List []struct {
			Name  string          `json:"name"`
			Type  string          `json:"type"`
			Query json.RawMessage `json:"query"`
		} `json:"list"`
	} `json:"templating"`
}

type panel struct {
	ID      int     `json:"id"`
	Type    string  `json:"type"`
	Title   string  `json:"title"`
	Panels  []panel `json:"panels"` // collapsed rows
	Targets []struct {
		Expr  string `json:"expr"`
		RefID string `json:"refId"`
	} `json:"targets"`
}

func loadDashboard(t *testing.T) dashboard {
	t.Helper()
	b, err := os.ReadFile("grafana/dashboards/failover.json")
	if err != nil {
		t.Fatal(err)
	}
	var d dashboard
	dec := json.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(&d); err != nil {
		t.Fatalf("failover.json: %v", err)
	}
	return d
}

func flatPanels(ps []panel) []panel {
	var out []panel
	for _, p := range ps {
		out = append(out, p)
		out = append(out, flatPanels(p.Panels)...)
	}
	return out
}

func TestDashboard(t *testing.T) {
	d := loadDashboard(t)
	if d.Title == "" || d.UID == "" {
		t.Error("dashboard without title or uid")
	}
	if d.SchemaVersion < 36 {
		t.Errorf("schemaVersion %d: want a current one (>= 36)", d.SchemaVersion)
	}
	ids := map[int]bool{}
	n := 0
	for _, p := range flatPanels(d.Panels) {
		if strings.TrimSpace(p.Title) == "" {
			t.Errorf("panel %d (%s) has no title", p.ID, p.Type)
		}
		if ids[p.ID] {
			t.Errorf("panel id %d used twice", p.ID)
		}
		ids[p.ID] = true
		if p.Type == "row" {
			continue
		}
		n++
		if len(p.Targets) == 0 {
			t.Errorf("panel %q has no target", p.Title)
		}
		for _, tg := range p.Targets {
			if strings.TrimSpace(tg.Expr) == "" {
				t.Errorf("panel %q: target %s has no expression", p.Title, tg.RefID)
			}
		}
	}
	if n < 10 {
		t.Errorf("only %d panels", n)
	}
}

// TestMetricNames checks that every metric the alert rules and the
// dashboard select is exported by the product (or recorded by a rule), and
// that label matchers only use labels the metric has.
func TestMetricNames(t *testing.T) {
	known := knownSeries()
	exprs, recorded := ruleExprs(t)
	d := loadDashboard(t)
	for _, p := range flatPanels(d.Panels) {
		for _, tg := range p.Targets {
			exprs["panel "+p.Title+" "+tg.RefID] = tg.Expr
		}
	}
	for _, v := range d.Templating.List {
		if v.Type != "query" {
			continue
		}
		var q struct {
			Query string `json:"query"`
		}
		var s string
		if json.Unmarshal(v.Query, &s) == nil {
			q.Query = s
		} else if err := json.Unmarshal(v.Query, &q); err != nil {
			t.Errorf("variable %s: query: %v", v.Name, err)
		}
		exprs["variable "+v.Name] = q.Query
	}
	used := map[string]bool{}
	for where, expr := range exprs {
		uses := metricsIn(expr)
		if len(uses) == 0 {
			t.Errorf("%s: no metric in %q", where, expr)
		}
		for _, u := range uses {
			used[u.name] = true
			labels, ok := known[u.name]
			if !ok && recorded[u.name] {
				continue // recording rules keep only what they aggregate by
			}
			if !ok {
				t.Errorf("%s: metric %q is not exported by the product (expr %q)", where, u.name, expr)
				continue
			}
			for _, l := range u.labels {
				if l != "__name__" && !slices.Contains(labels, l) && !slices.Contains(scrapeLabels, l) {
					t.Errorf("%s: metric %s has no label %q (it has %v)", where, u.name, l, labels)
				}
			}
		}
	}
	// The dashboard and rules should cover the product's metrics.
	for _, name := range []string{"failover_jobs_total", "failover_job_duration_seconds_bucket",
		"failover_step_duration_seconds_bucket", "failover_step_failures_total", "failover_active_jobs",
		"failover_sync_bytes_total", "asynq_queue_size", "asynq_queue_latency_seconds",
		"failover_api_requests_total", "failover_api_request_duration_seconds_bucket",
		"failover_oldest_active_job_age_seconds", "failover_active_job_last_step_age_seconds",
		"failover_drills_total", "failover_drill_rto_seconds_bucket", "failover_drill_vms_skipped_total"} {
		if !used[name] {
			t.Errorf("metric %s is shown nowhere", name)
		}
	}
}

// reREADMEMetric is one metric of the README's metrics table, with its
// labels: `name{a,b}` or `name`.
var reREADMEMetric = regexp.MustCompile("`([a-z_:][a-z0-9_:]*)(?:\\{([a-z_,]*)\\})?`")

// TestREADMEMetricsTable checks the README's metrics table against
// Exported both ways: every family the product exports has a row with its
// labels, and every row names an exported family with those labels.
func TestREADMEMetricsTable(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(b), "\n### Metrics\n")
	if !ok {
		t.Fatal("README.md has no ### Metrics section")
	}
	section, _, _ = strings.Cut(section, "\n#")
	documented := map[string][]string{}
	for _, line := range strings.Split(section, "\n") {
		cells := strings.Split(line, "|")
		if len(cells) < 3 || !strings.HasPrefix(line, "| `") {
			continue
		}
		for _, m := range reREADMEMetric.FindAllStringSubmatch(cells[1], -1) {
			labels := []string{}
			if m[2] != "" {
				labels = strings.Split(m[2], ",")
			}
			if _, dup := documented[m[1]]; dup {
				t.Errorf("README metrics table: %s has two rows", m[1])
			}
			documented[m[1]] = labels
		}
	}
	for name, labels := range Exported {
		if slices.Contains(Synthetic, name) {
			continue
		}
		doc, ok := documented[name]
		if !ok {
			t.Errorf("README metrics table has no row for %s", name)
			continue
		}
		if !slices.Equal(slices.Sorted(slices.Values(doc)), slices.Sorted(slices.Values(labels))) {
			t.Errorf("README metrics table: %s{%s}, deploy.Exported says {%s}", name, strings.Join(doc, ","), strings.Join(labels, ","))
		}
	}
	for name := range documented {
		if _, ok := Exported[name]; !ok {
			t.Errorf("README metrics table lists %s, which deploy.Exported does not", name)
		}
	}
}

// yamlDocs decodes every document of a (multi-document) YAML file.
func yamlDocs(t *testing.T, path string) []map[string]any {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	var docs []map[string]any
	for {
		var doc map[string]any
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("%s: document %d: %v", path, len(docs)+1, err)
		}
		if doc != nil {
			docs = append(docs, doc)
		}
	}
	return docs
}

func TestYAMLParses(t *testing.T) {
	var files []string
	for _, dir := range []string{"prometheus", "grafana/provisioning", "k8s"} {
		err := filepath.WalkDir(dir, func(p string, e os.DirEntry, err error) error {
			if err == nil && !e.IsDir() && (strings.HasSuffix(p, ".yml") || strings.HasSuffix(p, ".yaml")) {
				files = append(files, p)
			}
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	files = append(files, "docker-compose.yml")
	for _, f := range files {
		if len(yamlDocs(t, f)) == 0 {
			t.Errorf("%s: empty", f)
		}
	}
}

func TestCompose(t *testing.T) {
	docs := yamlDocs(t, "docker-compose.yml")
	if len(docs) != 1 {
		t.Fatalf("docker-compose.yml: %d documents", len(docs))
	}
	services, _ := docs[0]["services"].(map[string]any)
	for _, s := range []string{"postgres", "redis", "api", "worker", "scheduler", "prometheus", "grafana"} {
		if services[s] == nil {
			t.Errorf("docker-compose.yml: no service %s", s)
		}
	}
	redis, _ := services["redis"].(map[string]any)
	if cmd, _ := yaml.Marshal(redis["command"]); !strings.Contains(string(cmd), "--appendonly yes") {
		t.Error("redis runs without --appendonly yes")
	}
	worker, _ := services["worker"].(map[string]any)
	if dep, _ := worker["deploy"].(map[string]any); dep == nil || dep["replicas"] != 2 {
		t.Errorf("worker deploy = %v, want replicas: 2", worker["deploy"])
	}
	// Every secret a service uses is declared, and every FAILOVER_* variable
	// is one config/config.go reads.
	declared, _ := docs[0]["secrets"].(map[string]any)
	for name, s := range services {
		svc, _ := s.(map[string]any)
		list, _ := svc["secrets"].([]any)
		for _, sec := range list {
			if declared[sec.(string)] == nil {
				t.Errorf("service %s uses undeclared secret %v", name, sec)
			}
		}
		env, _ := svc["environment"].(map[string]any)
		for k := range env {
			if strings.HasPrefix(k, "FAILOVER_") && !knownEnv(k) {
				t.Errorf("service %s: %s is not a configuration variable", name, k)
			}
		}
	}
}

// knownEnv reports whether config/config.go reads the variable.
func knownEnv(name string) bool {
	b, err := os.ReadFile("../config/config.go")
	if err != nil {
		return false
	}
	src := string(b)
	if strings.Contains(src, `"`+name+`"`) {
		return true
	}
	base, ok := strings.CutSuffix(name, "_FILE")
	return ok && strings.Contains(src, `secret("`+base+`")`)
}

func TestKubernetes(t *testing.T) {
	var files []string
	err := filepath.WalkDir("k8s", func(p string, e os.DirEntry, err error) error {
		if err == nil && !e.IsDir() && strings.HasSuffix(p, ".yaml") {
			files = append(files, p)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[string]bool{}
	for _, f := range files {
		for i, doc := range yamlDocs(t, f) {
			meta, _ := doc["metadata"].(map[string]any)
			kind, _ := doc["kind"].(string)
			if av, _ := doc["apiVersion"].(string); av == "" || kind == "" || meta == nil || meta["name"] == nil || meta["name"] == "" {
				t.Errorf("%s document %d: apiVersion, kind and metadata.name are required", f, i+1)
				continue
			}
			kinds[kind+"/"+meta["name"].(string)] = true
			if kind == "Deployment" {
				checkDeployment(t, f, doc)
			}
			if kind == "Secret" {
				t.Errorf("%s: ships a Secret; reference it instead", f)
			}
		}
	}
	for _, want := range []string{"Namespace/unifiedfailover", "ConfigMap/failover-config", "Deployment/failover-api",
		"Service/failover-api", "Deployment/failover-worker", "HorizontalPodAutoscaler/failover-worker",
		"Deployment/failover-scheduler"} {
		if !kinds[want] {
			t.Errorf("no %s in k8s/", want)
		}
	}
}

func checkDeployment(t *testing.T, file string, doc map[string]any) {
	t.Helper()
	b, _ := json.Marshal(doc)
	var dep struct {
		Metadata struct{ Name string }
		Spec     struct {
			Replicas *int
			Template struct {
				Spec struct {
					TerminationGracePeriodSeconds int
					SecurityContext               struct{ RunAsNonRoot bool }
					Containers                    []struct {
						Name           string
						Args           []string
						LivenessProbe  *struct{ HTTPGet struct{ Path string } }
						ReadinessProbe *struct{ HTTPGet struct{ Path string } }
					}
				}
			}
		}
	}
	if err := json.Unmarshal(b, &dep); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	ps := dep.Spec.Template.Spec
	if !ps.SecurityContext.RunAsNonRoot {
		t.Errorf("%s: %s without runAsNonRoot", file, dep.Metadata.Name)
	}
	if len(ps.Containers) != 1 || ps.Containers[0].LivenessProbe == nil || ps.Containers[0].ReadinessProbe == nil {
		t.Fatalf("%s: %s: want one container with liveness and readiness probes", file, dep.Metadata.Name)
	}
	c := ps.Containers[0]
	wantReady := "/healthz"
	if slices.Equal(c.Args, []string{"api"}) {
		wantReady = "/readyz"
	}
	if c.LivenessProbe.HTTPGet.Path != "/healthz" || c.ReadinessProbe.HTTPGet.Path != wantReady {
		t.Errorf("%s: %s probes %s/%s, want /healthz/%s", file, dep.Metadata.Name,
			c.LivenessProbe.HTTPGet.Path, c.ReadinessProbe.HTTPGet.Path, wantReady)
	}
	switch dep.Metadata.Name {
	case "failover-worker":
		if ps.TerminationGracePeriodSeconds < 120 {
			t.Errorf("worker terminationGracePeriodSeconds %d < 120", ps.TerminationGracePeriodSeconds)
		}
	case "failover-scheduler":
		if dep.Spec.Replicas == nil || *dep.Spec.Replicas != 1 {
			t.Error("the scheduler must run exactly one replica")
		}
	}
}
