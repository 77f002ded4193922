// Package drill runs scheduled DR drills: schedules name VM
// contexts, a cron expression and a hold; each tick becomes a drill run, a
// job of its own (type drill, queue low) whose steps drive per-VM test
// failovers and rollbacks through the engine, wait on them by polling the
// store, and write a report (JSON and a printable HTML page).
//
// The scheduler process feeds asynq's PeriodicTaskManager from the
// schedules table (Provider). Each tick's task carries a task id made from
// the schedule id and the tick time, and a run is unique on (schedule,
// tick) in Postgres, so several scheduler processes never start a tick
// twice.
package drill

import (
	"context"
	"fmt"
	"strings"
	"time"
	_ "time/tzdata" // time zones without the system's tzdata

	"github.com/robfig/cron/v3"

	"github.com/ossea/unifiedfailover/api/apiv1"
	"github.com/ossea/unifiedfailover/errs"
	"github.com/ossea/unifiedfailover/store"
)

// Limits of a schedule.
const (
	maxHold        = 24 * time.Hour
	maxParallelCap = 100
	maxContexts    = 500
)

// Spec is a schedule as the API takes it.
type Spec = apiv1.DrillSpec

var cronParser = cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow)

// ParseCron parses a 5-field cron expression in a time zone.
func ParseCron(expr, timezone string) (cron.Schedule, error) {
	if timezone == "" {
		timezone = "UTC"
	}
	if _, err := time.LoadLocation(timezone); err != nil {
		return nil, errs.Field("timezone", "unknown time zone %q (use an IANA name such as Europe/Berlin)", timezone)
	}
	if n := len(strings.Fields(expr)); n != 5 {
		return nil, errs.Field("cron", "must have 5 fields (minute hour day-of-month month day-of-week), %q has %d", expr, n)
	}
	if strings.Contains(expr, "TZ=") {
		return nil, errs.Field("cron", "give the time zone in timezone, not in the expression")
	}
	s, err := cronParser.Parse("CRON_TZ=" + timezone + " " + expr)
	if err != nil {
		return nil, errs.Field("cron", "%q is not a valid cron expression: %v", expr, err)
	}
	return s, nil
}

// Validate checks a spec and turns it into a schedule (without id). Every
// error is InvalidArgument naming the field. Contexts must exist.
func Validate(ctx context.Context, st *store.Store, sp Spec) (*store.DrillSchedule, error) {
	d := &store.DrillSchedule{Name: strings.TrimSpace(sp.Name), Cron: strings.TrimSpace(sp.Cron),
		Timezone: strings.TrimSpace(sp.Timezone), MaxParallel: sp.MaxParallel, Enabled: true}
	if d.Name == "" || len(d.Name) > 200 {
		return nil, errs.Field("name", "is required (at most 200 characters)")
	}
	if d.Timezone == "" {
		d.Timezone = "UTC"
	}
	if _, err := ParseCron(d.Cron, d.Timezone); err != nil {
		return nil, err
	}
	if sp.Hold != "" {
		h, err := time.ParseDuration(sp.Hold)
		if err != nil || h < 0 || h > maxHold || h%time.Second != 0 {
			return nil, errs.Field("hold", "must be a whole number of seconds such as 10m or 90s, at most %s, not %q", maxHold, sp.Hold)
		}
		d.HoldSeconds = int(h / time.Second)
	}
	if d.MaxParallel == 0 {
		d.MaxParallel = 1
	}
	if d.MaxParallel < 1 || d.MaxParallel > maxParallelCap {
		return nil, errs.Field("max_parallel", "must be between 1 and %d", maxParallelCap)
	}
	if sp.Enabled != nil {
		d.Enabled = *sp.Enabled
	}
	if len(sp.ContextIDs) == 0 {
		return nil, errs.Field("context_ids", "must name at least one VM context")
	}
	if len(sp.ContextIDs) > maxContexts {
		return nil, errs.Field("context_ids", "may name at most %d VM contexts", maxContexts)
	}
	seen := map[string]bool{}
	for i, c := range sp.ContextIDs {
		c = strings.TrimSpace(c)
		if c == "" {
			return nil, errs.Field(fmt.Sprintf("context_ids[%d]", i), "is empty")
		}
		if seen[c] {
			return nil, errs.Field(fmt.Sprintf("context_ids[%d]", i), "names %s twice", c)
		}
		seen[c] = true
		if _, err := st.GetContext(ctx, c); err != nil {
			if errs.Is(err, errs.NotFound) {
				return nil, errs.Field(fmt.Sprintf("context_ids[%d]", i), "unknown VM context %q", c)
			}
			return nil, err
		}
		d.ContextIDs = append(d.ContextIDs, c)
	}
	return d, nil
}

// NextTicks returns a schedule's activations in (after, until].
func NextTicks(d *store.DrillSchedule, after, until time.Time) ([]time.Time, error) {
	s, err := ParseCron(d.Cron, d.Timezone)
	if err != nil {
		return nil, err
	}
	var out []time.Time
	for t := s.Next(after); !t.IsZero() && !t.After(until) && len(out) < 100; t = s.Next(t) {
		out = append(out, t.UTC())
	}
	return out, nil
}

// NextTick is a schedule's next activation after t (zero when none or when
// the schedule does not parse).
func NextTick(d *store.DrillSchedule, t time.Time) time.Time {
	s, err := ParseCron(d.Cron, d.Timezone)
	if err != nil {
		return time.Time{}
	}
	return s.Next(t).UTC()
}
