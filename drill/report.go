package drill

import (
	"bytes"
	"context"
	"fmt"
	"html/template"
	"io"
	"math"
	"time"

	"github.com/ossea/unifiedfailover/api/apiv1"
	"github.com/ossea/unifiedfailover/errs"
	"github.com/ossea/unifiedfailover/store"
)

// Report is a drill run's report: per VM each step's duration, the RTO,
// outcome and errors; per run pass/fail and totals.
type Report = apiv1.DrillReport

// Totals sums a run up.
type Totals = apiv1.DrillTotals

// VMReport is one VM of a run.
type VMReport = apiv1.DrillVMReport

// StepReport is one step of a VM's failover or rollback (or the drill's
// hold between them).
type StepReport = apiv1.DrillStepReport

// BuildReport builds a run's report from its VMs and their jobs as they
// are now. A run passes when no VM failed and at least one VM passed
// (skipped VMs are reported, they prove nothing); until the run ends, its
// status is the run's own.
func BuildReport(ctx context.Context, st *store.Store, dr *store.DrillRun) (*Report, error) {
	rep := &Report{RunID: dr.ID, ScheduleID: dr.ScheduleID, ScheduleName: dr.ScheduleName, Tick: dr.Tick,
		Trigger: dr.Trigger, Status: dr.Status, Error: dr.Error, StartedAt: dr.StartedAt, EndedAt: dr.EndedAt,
		HoldSeconds: dr.HoldSeconds, MaxParallel: dr.MaxParallel, VMs: []VMReport{}}
	var rtoSum float64
	var rtoN int
	for _, v := range dr.VMs {
		vr := VMReport{ContextID: v.ContextID, VMName: v.VMName, State: string(v.State), Outcome: v.Outcome,
			SkipReason: v.SkipReason, Error: v.Error, RTOSeconds: v.RTOSeconds, DestinationVMID: v.DestinationVMID,
			FailoverJobID: v.FailoverJobID, RollbackJobID: v.RollbackJobID, Steps: []StepReport{}}
		var foEnd *time.Time
		if v.FailoverJobID != "" {
			j, err := st.GetJob(ctx, v.FailoverJobID)
			if err != nil && !errs.Is(err, errs.NotFound) {
				return nil, err
			}
			if j != nil {
				vr.FailoverExternalJobID = j.ExternalID
				vr.Steps = append(vr.Steps, steps("failover", j)...)
				foEnd = j.EndedAt
			}
		}
		if v.RollbackJobID != "" {
			j, err := st.GetJob(ctx, v.RollbackJobID)
			if err != nil && !errs.Is(err, errs.NotFound) {
				return nil, err
			}
			if j != nil {
				vr.RollbackExternalJobID = j.ExternalID
				if foEnd != nil && j.CreatedAt.After(*foEnd) {
					start, end := *foEnd, j.CreatedAt
					vr.Steps = append(vr.Steps, StepReport{Job: "drill", Name: "hold", Status: "completed",
						StartedAt: &start, EndedAt: &end, DurationSeconds: end.Sub(start).Seconds()})
				}
				vr.Steps = append(vr.Steps, steps("rollback", j)...)
			}
		}
		if vr.Outcome == "passed" && v.State != store.DrillVMRolledBack && !dr.Status.Active() {
			vr.Outcome, vr.Error = "failed", joinErr(vr.Error, "not rolled back")
		}
		switch vr.Outcome {
		case "passed":
			rep.Totals.Passed++
		case "skipped":
			rep.Totals.Skipped++
		case "failed":
			rep.Totals.Failed++
		}
		if v.RTOSeconds != nil {
			rtoSum += *v.RTOSeconds
			rtoN++
			if rep.Totals.RTOMaxSeconds == nil || *v.RTOSeconds > *rep.Totals.RTOMaxSeconds {
				x := *v.RTOSeconds
				rep.Totals.RTOMaxSeconds = &x
			}
		}
		rep.VMs = append(rep.VMs, vr)
	}
	rep.Totals.VMs = len(rep.VMs)
	if rtoN > 0 {
		avg := rtoSum / float64(rtoN)
		rep.Totals.RTOAvgSeconds = &avg
	}
	if dr.Status.Active() {
		if rep.Totals.Failed == 0 && rep.Totals.Passed > 0 {
			rep.Status = store.DrillPassed
		} else {
			rep.Status = store.DrillFailed
		}
		if rep.Totals.Passed == 0 && rep.Totals.Failed == 0 && rep.Error == "" {
			rep.Error = "no VM was exercised: every VM was skipped"
		}
	}
	return rep, nil
}

func steps(kind string, j *store.Job) []StepReport {
	out := make([]StepReport, 0, len(j.Steps))
	for _, s := range j.Steps {
		sr := StepReport{Job: kind, Name: s.Name, Status: string(s.Status), StartedAt: s.StartedAt, EndedAt: s.EndedAt,
			Error: s.Error, SkipReason: s.SkipReason}
		if s.StartedAt != nil && s.EndedAt != nil {
			sr.DurationSeconds = s.EndedAt.Sub(*s.StartedAt).Seconds()
		}
		out = append(out, sr)
	}
	return out
}

// bar is one step on a VM's timeline, in percent of the run's span.
type bar struct {
	StepReport
	Left, Width float64
}

type vmView struct {
	VMReport
	Bars []bar
}

type pageView struct {
	*Report
	VMs      []vmView
	Span     string
	Start    time.Time
	Axis     []axisMark
	RTO      func(*float64) string
	Seconds  func(float64) string
	Generate time.Time
}

type axisMark struct {
	Left  float64
	Label string
}

// WriteHTML writes the report as a self-contained page (inline CSS, no
// external assets) an operator can read and print: the summary, and per
// VM a timeline of its steps and a table of their durations.
func WriteHTML(w io.Writer, rep *Report) error {
	start, end := timeSpan(rep)
	span := end.Sub(start)
	if span <= 0 {
		span = time.Second
	}
	pct := func(t time.Time) float64 { return math.Max(0, math.Min(100, float64(t.Sub(start))*100/float64(span))) }
	pv := pageView{Report: rep, Span: span.Round(time.Second).String(), Start: start, Generate: time.Now().UTC(),
		RTO: func(f *float64) string {
			if f == nil {
				return "—"
			}
			return fmt.Sprintf("%.1f s", *f)
		},
		Seconds: func(f float64) string { return fmt.Sprintf("%.2f s", f) }}
	for i := 0; i <= 4; i++ {
		at := start.Add(span * time.Duration(i) / 4)
		pv.Axis = append(pv.Axis, axisMark{Left: float64(i) * 25, Label: "+" + at.Sub(start).Round(time.Second).String()})
	}
	for _, v := range rep.VMs {
		vv := vmView{VMReport: v}
		for _, s := range v.Steps {
			if s.StartedAt == nil {
				continue
			}
			e := time.Now()
			if s.EndedAt != nil {
				e = *s.EndedAt
			}
			l := pct(*s.StartedAt)
			wd := math.Max(0.4, pct(e)-l)
			vv.Bars = append(vv.Bars, bar{StepReport: s, Left: l, Width: wd})
		}
		pv.VMs = append(pv.VMs, vv)
	}
	var buf bytes.Buffer
	if err := page.Execute(&buf, pv); err != nil {
		return fmt.Errorf("rendering the drill report: %w", err)
	}
	_, err := w.Write(buf.Bytes())
	return err
}

func timeSpan(rep *Report) (time.Time, time.Time) {
	var start, end time.Time
	for _, v := range rep.VMs {
		for _, s := range v.Steps {
			if s.StartedAt != nil && (start.IsZero() || s.StartedAt.Before(start)) {
				start = *s.StartedAt
			}
			if s.EndedAt != nil && s.EndedAt.After(end) {
				end = *s.EndedAt
			}
		}
	}
	if rep.StartedAt != nil && (start.IsZero() || rep.StartedAt.Before(start)) {
		start = *rep.StartedAt
	}
	if rep.EndedAt != nil && rep.EndedAt.After(end) {
		end = *rep.EndedAt
	}
	if start.IsZero() {
		start = rep.Tick
	}
	if end.Before(start) {
		end = start
	}
	return start, end
}

var page = template.Must(template.New("report").Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>DR drill report — {{.ScheduleName}} — {{.Tick.Format "2006-01-02 15:04 MST"}}</title>
<style>
  body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #1b1f24; margin: 24px; }
  h1 { font-size: 22px; margin: 0 0 4px; } h2 { font-size: 17px; margin: 28px 0 8px; }
  .muted { color: #57606a; }
  .badge { display: inline-block; padding: 2px 10px; border-radius: 10px; font-weight: 600; color: #fff; }
  .passed { background: #1a7f37; } .failed { background: #cf222e; } .skipped { background: #9a6700; }
  .running, .pending { background: #0969da; }
  table { border-collapse: collapse; margin: 6px 0 12px; width: 100%; }
  th, td { border: 1px solid #d0d7de; padding: 4px 8px; text-align: left; vertical-align: top; }
  th { background: #f6f8fa; }
  td.num { text-align: right; font-variant-numeric: tabular-nums; }
  .totals td { font-size: 15px; }
  .timeline { position: relative; height: 26px; background: #f6f8fa; border: 1px solid #d0d7de; margin: 4px 0 2px; }
  .bar { position: absolute; top: 3px; height: 18px; border-radius: 3px; overflow: hidden; white-space: nowrap;
         font-size: 10px; line-height: 18px; color: #fff; padding-left: 2px; box-sizing: border-box;
         -webkit-print-color-adjust: exact; print-color-adjust: exact; }
  .bar.job-failover { background: #0969da; } .bar.job-rollback { background: #8250df; } .bar.job-drill { background: #bf8700; }
  .bar.status-failed { background: #cf222e; } .bar.status-skipped { background: #afb8c1; }
  .axis { position: relative; height: 16px; font-size: 10px; color: #57606a; }
  .axis span { position: absolute; transform: translateX(-50%); }
  .legend span { display: inline-block; margin-right: 14px; }
  .legend i { display: inline-block; width: 12px; height: 12px; border-radius: 2px; vertical-align: -2px; margin-right: 4px;
              -webkit-print-color-adjust: exact; print-color-adjust: exact; }
  .vm { page-break-inside: avoid; break-inside: avoid; }
  .error { color: #cf222e; }
  @media print { body { margin: 10mm; } h2 { margin-top: 14px; } }
</style>
</head>
<body>
<h1>DR drill report: {{.ScheduleName}}</h1>
<p class="muted">Run <code>{{.RunID}}</code> · {{.Trigger}} run for the tick of {{.Tick.Format "2006-01-02 15:04:05 MST"}} ·
hold {{.HoldSeconds}} s · at most {{.MaxParallel}} VM(s) at a time</p>
<p id="run-status">Result: <span class="badge {{.Status}}">{{.Status}}</span>
{{with .Error}}<span class="error"> — {{.}}</span>{{end}}</p>
<table class="totals" id="totals">
<tr><th>VMs</th><th>passed</th><th>failed</th><th>skipped</th><th>average RTO</th><th>longest RTO</th><th>started</th><th>ended</th></tr>
<tr><td class="num">{{.Totals.VMs}}</td><td class="num">{{.Totals.Passed}}</td><td class="num">{{.Totals.Failed}}</td>
<td class="num">{{.Totals.Skipped}}</td><td class="num">{{call .RTO .Totals.RTOAvgSeconds}}</td>
<td class="num">{{call .RTO .Totals.RTOMaxSeconds}}</td>
<td>{{with .StartedAt}}{{.Format "2006-01-02 15:04:05 MST"}}{{end}}</td><td>{{with .EndedAt}}{{.Format "2006-01-02 15:04:05 MST"}}{{end}}</td></tr>
</table>
<p class="legend muted"><span><i style="background:#0969da"></i>test failover</span><span><i style="background:#bf8700"></i>hold</span>
<span><i style="background:#8250df"></i>rollback</span><span><i style="background:#cf222e"></i>failed step</span>
<span>timeline span {{.Span}} from {{.Start.Format "15:04:05 MST"}}</span></p>
{{range .VMs}}
<section class="vm" data-vm="{{.VMName}}" data-context-id="{{.ContextID}}">
<h2>{{.VMName}} <span class="badge {{.Outcome}}">{{.Outcome}}</span> <span class="muted">RTO {{call $.RTO .RTOSeconds}}</span></h2>
<p class="muted">context <code>{{.ContextID}}</code>{{with .FailoverExternalJobID}} · failover <code>{{.}}</code>{{end}}{{with .RollbackExternalJobID}} · rollback <code>{{.}}</code>{{end}}{{with .DestinationVMID}} · destination VM <code>{{.}}</code>{{end}}</p>
{{with .SkipReason}}<p>Skipped: {{.}}</p>{{end}}
{{with .Error}}<p class="error">{{.}}</p>{{end}}
{{if .Bars}}
<div class="timeline" data-timeline="{{.VMName}}" role="img" aria-label="timeline of {{.VMName}}">
{{range .Bars}}<div class="bar job-{{.Job}} status-{{.Status}}" data-step="{{.Job}}/{{.Name}}" style="left:{{printf "%.3f" .Left}}%;width:{{printf "%.3f" .Width}}%" title="{{.Job}} {{.Name}}: {{call $.Seconds .DurationSeconds}}">{{.Name}}</div>{{end}}
</div>
<div class="axis">{{range $.Axis}}<span style="left:{{printf "%.0f" .Left}}%">{{.Label}}</span>{{end}}</div>
{{end}}
{{if .Steps}}
<table class="steps">
<tr><th>job</th><th>step</th><th>status</th><th>started</th><th>duration</th><th>error / note</th></tr>
{{range .Steps}}<tr data-step="{{.Job}}/{{.Name}}"><td>{{.Job}}</td><td>{{.Name}}</td><td>{{.Status}}</td>
<td>{{with .StartedAt}}{{.Format "15:04:05.000"}}{{end}}</td><td class="num">{{call $.Seconds .DurationSeconds}}</td>
<td>{{if .Error}}<span class="error">{{.Error}}</span>{{else}}{{.SkipReason}}{{end}}</td></tr>
{{end}}</table>
{{end}}
</section>
{{end}}
<p class="muted">Generated {{.Generate.Format "2006-01-02 15:04:05 MST"}} by Unified Failover.</p>
</body>
</html>
`))
