package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/ossea/unifiedfailover/api/apiv1"
	"github.com/ossea/unifiedfailover/client"
)

// progress draws a job's steps as they end and a progress bar: redrawn in
// place on a terminal, printed as lines (when it changes) otherwise.
type progress struct {
	w        io.Writer
	tty      bool
	printed  map[int]bool
	header   bool
	lastBar  string
	lastLine time.Time
	barShown bool
}

func newProgress(w io.Writer) *progress {
	p := &progress{w: w, printed: map[int]bool{}}
	if f, ok := w.(*os.File); ok {
		if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
			p.tty = true
		}
	}
	return p
}

const barWidth = 30

func (p *progress) clearBar() {
	if p.tty && p.barShown {
		fmt.Fprint(p.w, "\r\033[K")
		p.barShown = false
	}
}

// update shows what changed in j.
func (p *progress) update(j *client.Job) {
	if !p.header {
		p.header = true
		fmt.Fprintf(p.w, "job %s (%s) %s, %d steps\n", j.ExternalID, j.ID, j.Type, len(j.Steps))
	}
	n := len(j.Steps)
steps:
	for _, s := range j.Steps {
		if p.printed[s.Seq] {
			continue
		}
		var line string
		switch s.Status {
		case apiv1.StepCompleted:
			line = fmt.Sprintf("  ✓ [%d/%d] %-20s %s", s.Seq+1, n, s.Name, stepDuration(s))
			if s.Progress != nil && s.Progress.BytesTotal > 0 {
				line += "  " + bytesText(s.Progress)
			}
		case apiv1.StepSkipped:
			line = fmt.Sprintf("  - [%d/%d] %-20s skipped: %s", s.Seq+1, n, s.Name, s.SkipReason)
		case apiv1.StepFailed:
			line = fmt.Sprintf("  ✗ [%d/%d] %-20s failed after %d attempt(s): %s", s.Seq+1, n, s.Name, s.Attempts, s.Error)
		default:
			// Steps are shown in chain order: a later step that ended
			// (a skipped one, known from the start) waits for this one.
			break steps
		}
		p.clearBar()
		fmt.Fprintln(p.w, line)
		p.printed[s.Seq] = true
	}
	bar := p.bar(j)
	if bar == "" {
		return
	}
	if p.tty {
		fmt.Fprint(p.w, "\r\033[K"+bar)
		p.barShown = true
		return
	}
	// Not a terminal: a line when the bar changes, bytes at most every 2s.
	if bar != p.lastBar && (stepOf(bar) != stepOf(p.lastBar) || time.Since(p.lastLine) > 2*time.Second) {
		fmt.Fprintln(p.w, bar)
		p.lastLine = time.Now()
	}
	p.lastBar = bar
}

func stepOf(bar string) string {
	if i := strings.Index(bar, "%"); i >= 0 {
		rest := bar[i+1:]
		if j := strings.Index(rest, "  "); j >= 0 {
			return rest[:j]
		}
		return rest
	}
	return bar
}

// bar is the progress line of an active job, "" when it has ended.
func (p *progress) bar(j *client.Job) string {
	if !j.Status.Active() {
		return ""
	}
	pct := j.ProgressPercent
	var cur *apiv1.Step
	for i := range j.Steps {
		if s := j.Steps[i].Status; s == apiv1.StepRunning || s == apiv1.StepRetrying {
			cur = &j.Steps[i]
			break
		}
	}
	what := string(j.Status)
	if cur != nil {
		what = cur.Name
		if cur.Status == apiv1.StepRetrying {
			what += fmt.Sprintf(" (retrying, attempt %d: %s)", cur.Attempts, cur.Error)
		}
		if pr := cur.Progress; pr != nil && pr.BytesTotal > 0 {
			// Within the step, count its bytes.
			pct += float64(pr.BytesDone) / float64(pr.BytesTotal) * 100 / float64(max(len(j.Steps), 1))
			what += "  " + bytesText(pr)
			if eta := syncETA(pr); eta != "" {
				what += ", ETA " + eta
			}
		}
	}
	filled := int(pct / 100 * barWidth)
	filled = min(max(filled, 0), barWidth)
	return fmt.Sprintf("  [%s%s] %3.0f%% %s", strings.Repeat("█", filled), strings.Repeat("░", barWidth-filled), pct, what)
}

// finish ends the display with the job's outcome.
func (p *progress) finish(j *client.Job) {
	p.clearBar()
	took := ""
	if j.EndedAt != nil {
		took = " in " + j.EndedAt.Sub(j.CreatedAt).Round(10*time.Millisecond).String()
	}
	switch j.Status {
	case apiv1.JobCompleted:
		fmt.Fprintf(p.w, "job %s completed%s\n", j.ExternalID, took)
	default:
		fmt.Fprintf(p.w, "job %s %s%s at step %s: %s\n", j.ExternalID, j.Status, took, j.CurrentStep, j.Error)
		if j.Type == "failover" {
			fmt.Fprintf(p.w, "decide: failoverctl rollback <vm>   or   failoverctl retry %s\n", j.ID)
		}
	}
}

func stepDuration(s apiv1.Step) string {
	if s.StartedAt == nil || s.EndedAt == nil {
		return ""
	}
	return s.EndedAt.Sub(*s.StartedAt).Round(time.Millisecond).String()
}

// syncETA is how long the bytes left take at the current rate, "" when
// there is no rate yet.
func syncETA(p *apiv1.Progress) string {
	if p.RateBps <= 0 || p.BytesDone >= p.BytesTotal {
		return ""
	}
	left := float64(p.BytesTotal-p.BytesDone) / p.RateBps
	return (time.Duration(left * float64(time.Second))).Round(time.Second).String()
}

func bytesText(p *apiv1.Progress) string {
	t := fmt.Sprintf("%s / %s", mib(p.BytesDone), mib(p.BytesTotal))
	if p.RateBps > 0 {
		t += fmt.Sprintf(" at %s/s", mib(int64(p.RateBps)))
	}
	return t
}

func mib(n int64) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }
