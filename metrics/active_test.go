package metrics_test

import (
	"context"
	"math"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/ossea/unifiedfailover/metrics"
	"github.com/ossea/unifiedfailover/store"
	"github.com/ossea/unifiedfailover/store/storetest"
)

// gather returns the samples of reg by family and "type/failover_type".
func gather(t *testing.T, reg *prometheus.Registry) map[string]map[string]float64 {
	t.Helper()
	fams, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]map[string]float64{}
	for _, f := range fams {
		out[f.GetName()] = map[string]float64{}
		for _, m := range f.GetMetric() {
			out[f.GetName()][labels(m)] = m.GetGauge().GetValue()
		}
	}
	return out
}

func labels(m *dto.Metric) string {
	var typ, ft string
	for _, l := range m.GetLabel() {
		switch l.GetName() {
		case "type":
			typ = l.GetValue()
		case "failover_type":
			ft = l.GetValue()
		}
	}
	return typ + "/" + ft
}

func TestActiveJobsAgesFromPostgres(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	st := storetest.Open(t, ctx)
	// An active live failover created an hour ago whose step last changed
	// 45 minutes ago, and an active drill (no failover type).
	fo, err := st.CreateJob(ctx, store.NewJob{Type: "failover", FailoverType: "live", Queue: "critical",
		Steps: []store.PlannedStep{{Name: "a"}}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.CreateJob(ctx, store.NewJob{Type: "drill", Queue: "low", Steps: []store.PlannedStep{{Name: "a"}}}, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Pool().Exec(ctx, `UPDATE job_tracking SET created_at = now() - interval '1 hour' WHERE id = $1`, fo.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Pool().Exec(ctx, `UPDATE job_steps SET updated_at = now() - interval '45 minutes' WHERE job_id = $1`, fo.ID); err != nil {
		t.Fatal(err)
	}
	kinds := []metrics.JobKind{{Type: "failover", FailoverType: "live"}, {Type: "rollback", FailoverType: "test"}}

	// With Ages: the count and both ages, per kind; a listed kind without
	// an active job reports 0; the drill's failover_type is none.
	reg := prometheus.NewRegistry()
	reg.MustRegister(&metrics.ActiveJobs{Store: st, Kinds: kinds, Ages: true})
	got := gather(t, reg)
	near := func(name, kind string, want float64) {
		t.Helper()
		v, ok := got[name][kind]
		if !ok || math.Abs(v-want) > 60 {
			t.Errorf("%s{%s} = %v (present %v), want about %v", name, kind, v, ok, want)
		}
	}
	near("failover_active_jobs", "failover/live", 1)
	near("failover_active_jobs", "drill/none", 1)
	near("failover_oldest_active_job_age_seconds", "failover/live", 3600)
	near("failover_active_job_last_step_age_seconds", "failover/live", 45*60)
	near("failover_active_job_last_step_age_seconds", "drill/none", 0)
	for _, name := range []string{"failover_active_jobs", "failover_oldest_active_job_age_seconds", "failover_active_job_last_step_age_seconds"} {
		if v, ok := got[name]["rollback/test"]; !ok || v != 0 {
			t.Errorf("%s{rollback/test} = %v (present %v), want 0", name, v, ok)
		}
	}

	// Without Ages (every process but the API): the count only.
	reg = prometheus.NewRegistry()
	reg.MustRegister(&metrics.ActiveJobs{Store: st, Kinds: kinds})
	got = gather(t, reg)
	if got["failover_active_jobs"]["failover/live"] != 1 || len(got) != 1 {
		t.Errorf("without Ages: %v, want failover_active_jobs alone", got)
	}
}

func TestFailoverTypeLabel(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{"test": "test", "live": "live", "": "none"} {
		if got := metrics.FailoverType(in); got != want {
			t.Errorf("FailoverType(%q) = %q, want %q", in, got, want)
		}
	}
}
