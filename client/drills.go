package client

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	"github.com/ossea/unifiedfailover/api/apiv1"
)

// Drill is a drill schedule as the API shows it.
type Drill = apiv1.Drill

// DrillRun is a drill run: its VMs (with their RTO) and its report.
type DrillRun = apiv1.DrillRun

// Drills lists the drill schedules with their last runs.
func (c *Client) Drills(ctx context.Context) ([]Drill, error) {
	var out apiv1.DrillList
	return out.Drills, c.Do(ctx, http.MethodGet, "/api/v1/drills", nil, &out)
}

// Drill returns a drill schedule.
func (c *Client) Drill(ctx context.Context, id string) (*Drill, error) {
	var out Drill
	return &out, c.Do(ctx, http.MethodGet, "/api/v1/drills/"+url.PathEscape(id), nil, &out)
}

// CreateDrill creates a drill schedule (admin).
func (c *Client) CreateDrill(ctx context.Context, sp apiv1.DrillSpec) (*Drill, error) {
	var out Drill
	return &out, c.Do(ctx, http.MethodPost, "/api/v1/drills", sp, &out)
}

// UpdateDrill replaces a drill schedule's settings (admin).
func (c *Client) UpdateDrill(ctx context.Context, id string, sp apiv1.DrillSpec) (*Drill, error) {
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

// DrillRuns lists a schedule's runs, newest first (without VMs, hold,
// actor and report: an apiv1.DrillRunInfo each, decoded as a DrillRun).
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
		if err != nil && !IsTransient(err) {
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
		return "", &TransportError{Op: "fetching the report of drill run " + runID, Err: err}
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 32<<20))
	if err != nil {
		return "", &TransportError{Op: "reading the report of drill run " + runID, Err: err}
	}
	if resp.StatusCode != http.StatusOK {
		return "", apiError(resp.StatusCode, raw)
	}
	return string(raw), nil
}
