package client

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/ossea/unifiedfailover/drill"
	"github.com/ossea/unifiedfailover/errs"
	"github.com/ossea/unifiedfailover/store"
)

// Drill is a drill schedule as the API shows it.
type Drill struct {
	store.DrillSchedule
	Hold      string     `json:"hold"`
	NextRunAt *time.Time `json:"next_run_at,omitempty"`
	LastRun   *DrillRun  `json:"last_run,omitempty"`
}

// DrillRun is a drill run: its VMs (with their RTO) and its report.
type DrillRun struct {
	store.DrillRun
	Report *drill.Report `json:"report,omitempty"`
}

// Drills lists the drill schedules with their last runs.
func (c *Client) Drills(ctx context.Context) ([]Drill, error) {
	var out struct {
		Drills []Drill `json:"drills"`
	}
	return out.Drills, c.Do(ctx, http.MethodGet, "/api/v1/drills", nil, &out)
}

// Drill returns a drill schedule.
func (c *Client) Drill(ctx context.Context, id string) (*Drill, error) {
	var out Drill
	return &out, c.Do(ctx, http.MethodGet, "/api/v1/drills/"+url.PathEscape(id), nil, &out)
}

// CreateDrill creates a drill schedule (admin).
func (c *Client) CreateDrill(ctx context.Context, sp drill.Spec) (*Drill, error) {
	var out Drill
	return &out, c.Do(ctx, http.MethodPost, "/api/v1/drills", sp, &out)
}

// UpdateDrill replaces a drill schedule's settings (admin).
func (c *Client) UpdateDrill(ctx context.Context, id string, sp drill.Spec) (*Drill, error) {
	var out Drill
	return &out, c.Do(ctx, http.MethodPut, "/api/v1/drills/"+url.PathEscape(id), sp, &out)
}

// DeleteDrill deletes a drill schedule (admin); its runs stay.
func (c *Client) DeleteDrill(ctx context.Context, id string) error {
	return c.Do(ctx, http.MethodDelete, "/api/v1/drills/"+url.PathEscape(id), nil, nil)
}

// RunDrill runs a drill schedule now (admin).
func (c *Client) RunDrill(ctx context.Context, id string) (*DrillRun, error) {
	var out DrillRun
	return &out, c.Do(ctx, http.MethodPost, "/api/v1/drills/"+url.PathEscape(id)+"/run", nil, &out)
}

// DrillRuns lists a schedule's runs, newest first (without VMs).
func (c *Client) DrillRuns(ctx context.Context, id string) ([]DrillRun, error) {
	var out struct {
		Runs []DrillRun `json:"runs"`
	}
	return out.Runs, c.Do(ctx, http.MethodGet, "/api/v1/drills/"+url.PathEscape(id)+"/runs", nil, &out)
}

// DrillRun returns a run with its VMs and report.
func (c *Client) DrillRun(ctx context.Context, runID string) (*DrillRun, error) {
	var out DrillRun
	return &out, c.Do(ctx, http.MethodGet, "/api/v1/drills/runs/"+url.PathEscape(runID), nil, &out)
}

// WaitDrillRun polls a run until it ends (passed or failed).
func (c *Client) WaitDrillRun(ctx context.Context, runID string, every time.Duration) (*DrillRun, error) {
	for {
		r, err := c.DrillRun(ctx, runID)
		if err != nil && !errs.IsTransient(err) {
			return nil, err
		}
		if err == nil && !r.Status.Active() {
			return r, nil
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("waiting for drill run %s: %w", runID, ctx.Err())
		case <-time.After(every):
		}
	}
}

// DrillReportHTML returns a run's printable report page.
func (c *Client) DrillReportHTML(ctx context.Context, runID string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+"/api/v1/drills/runs/"+url.PathEscape(runID)+"/report.html", nil)
	if err != nil {
		return "", fmt.Errorf("building the report request: %w", err)
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return "", errs.Transient(err, "fetching the report of drill run %s", runID)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 32<<20))
	if err != nil {
		return "", errs.Transient(err, "reading the report of drill run %s", runID)
	}
	if resp.StatusCode != http.StatusOK {
		ae := &APIError{Status: resp.StatusCode, Body: raw}
		if json.Unmarshal(raw, ae) != nil || ae.Message == "" {
			ae.Message = strings.TrimSpace(string(raw))
		}
		return "", ae
	}
	return string(raw), nil
}
