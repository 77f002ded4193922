package ui

import (
	"fmt"
	"html/template"
	"time"

	"github.com/ossea/unifiedfailover/api/apiv1"
)

// funcs are the templates' helpers.
var funcs = template.FuncMap{
	"utc":      func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
	"local":    func(t time.Time) string { return t.Local().Format("2006-01-02 15:04:05 MST") },
	"bytes":    humanBytes,
	"duration": stepDuration,
	"deref":    func(t *time.Time) time.Time { return *t },
	"rpo":      rpo,
	"percent":  func(p *apiv1.Progress) string { return progressPercent(p) },
	"short":    func(s string) string { return shortID(s) },
	"list":     func(s ...string) []string { return s },
}

func humanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

// stepDuration is how long a step ran (so far, while it runs).
func stepDuration(s apiv1.Step) string {
	if s.StartedAt == nil {
		return ""
	}
	end := time.Now()
	if s.EndedAt != nil {
		end = *s.EndedAt
	}
	return end.Sub(*s.StartedAt).Round(time.Millisecond).String()
}

func rpo(c apiv1.VMContext) string {
	if c.RPOSeconds == nil {
		return "never synced"
	}
	return fmt.Sprintf("%s (target %s)", time.Duration(*c.RPOSeconds)*time.Second, time.Duration(c.RPOTargetSeconds)*time.Second)
}

func progressPercent(p *apiv1.Progress) string {
	if p == nil || p.BytesTotal <= 0 {
		return ""
	}
	return fmt.Sprintf("%.0f%%", 100*float64(p.BytesDone)/float64(p.BytesTotal))
}

func shortID(s string) string {
	if len(s) > 8 {
		return s[:8]
	}
	return s
}
