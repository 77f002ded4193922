package client

import (
	"context"
	"net/http"
	"net/url"

	"github.com/ossea/unifiedfailover/api/apiv1"
)

// PlanRun is a run of a recovery plan with its members.
type PlanRun = apiv1.PlanRun

// StartPlanRun starts a run of a plan (its id or name) in mode test or
// live; a live run needs confirm set to the plan's name.
func (c *Client) StartPlanRun(ctx context.Context, plan, mode, confirm string) (*PlanRun, error) {
	var out PlanRun
	return &out, c.Do(ctx, http.MethodPost, "/api/v1/plans/"+url.PathEscape(plan)+"/runs",
		apiv1.StartPlanRunRequest{Mode: mode, Confirm: confirm}, &out)
}

// PlanRun returns a run. wait, when not empty (a Go duration up to 1m),
// waits for the run to stop running or rolling back first.
func (c *Client) PlanRun(ctx context.Context, runID, wait string) (*PlanRun, error) {
	path := "/api/v1/plan-runs/" + url.PathEscape(runID)
	if wait != "" {
		path += "?wait=" + url.QueryEscape(wait)
	}
	var out PlanRun
	return &out, c.Do(ctx, http.MethodGet, path, nil, &out)
}

// PlanRunEvents returns a run's log, with the operator's choices.
func (c *Client) PlanRunEvents(ctx context.Context, runID string) ([]apiv1.PlanRunEvent, error) {
	var out apiv1.PlanRunEvents
	return out.Events, c.Do(ctx, http.MethodGet, "/api/v1/plan-runs/"+url.PathEscape(runID)+"/events", nil, &out)
}

// PlanRunReport returns a run's report.
func (c *Client) PlanRunReport(ctx context.Context, runID string) (*apiv1.PlanRunReport, error) {
	var out apiv1.PlanRunReport
	return &out, c.Do(ctx, http.MethodGet, "/api/v1/plan-runs/"+url.PathEscape(runID)+"/report", nil, &out)
}

// PlanRunAction makes an operator's choice on a run: retry or skip (of
// members), continue, cancel or rollback.
func (c *Client) PlanRunAction(ctx context.Context, runID, action string, members []string) (*PlanRun, error) {
	var body any
	if action == "retry" || action == "skip" {
		body = apiv1.PlanRunMembersRequest{Members: members}
	}
	var out PlanRun
	return &out, c.Do(ctx, http.MethodPost, "/api/v1/plan-runs/"+url.PathEscape(runID)+"/"+url.PathEscape(action), body, &out)
}
