package client

import (
	"context"
	"fmt"
	"net/http"
	"net/url"

	"github.com/ossea/unifiedfailover/api/apiv1"
)

// Plan is a stored recovery plan; its Version is what UpdatePlan needs.
type Plan = apiv1.RecoveryPlan

// Plans lists the recovery plans by name.
func (c *Client) Plans(ctx context.Context) ([]Plan, error) {
	var out apiv1.PlanList
	return out.Plans, c.Do(ctx, http.MethodGet, "/api/v1/plans", nil, &out)
}

// Plan returns a recovery plan by id or name.
func (c *Client) Plan(ctx context.Context, idOrName string) (*Plan, error) {
	var out Plan
	return &out, c.Do(ctx, http.MethodGet, "/api/v1/plans/"+url.PathEscape(idOrName), nil, &out)
}

// CreatePlan creates a recovery plan at version 1 (operator). A plan whose
// shape has blockers is a 400 *APIError, its blockers in
// Details["blockers"].
func (c *Client) CreatePlan(ctx context.Context, spec apiv1.PlanSpec) (*Plan, error) {
	var out Plan
	return &out, c.Do(ctx, http.MethodPost, "/api/v1/plans", spec, &out)
}

// UpdatePlan replaces a recovery plan's spec if it is still at version
// (operator), and returns it at the next version. Another version is a 412
// *APIError with the current one in Details["version"].
func (c *Client) UpdatePlan(ctx context.Context, idOrName string, version int, spec apiv1.PlanSpec) (*Plan, error) {
	var out Plan
	h := http.Header{"If-Match": {fmt.Sprintf(`"v%d"`, version)}}
	return &out, c.DoWithHeader(ctx, http.MethodPut, "/api/v1/plans/"+url.PathEscape(idOrName), h, spec, &out)
}

// DeletePlan deletes a recovery plan (admin).
func (c *Client) DeletePlan(ctx context.Context, idOrName string) error {
	return c.Do(ctx, http.MethodDelete, "/api/v1/plans/"+url.PathEscape(idOrName), nil, nil)
}

// ValidatePlan validates a stored plan against the state now for a run of
// mode (apiv1.ModeTest, apiv1.ModeLive, or "" for both); nothing changes.
func (c *Client) ValidatePlan(ctx context.Context, idOrName, mode string) (*apiv1.PlanValidation, error) {
	var out apiv1.PlanValidation
	var in any
	if mode != "" {
		in = apiv1.PlanValidateRequest{Mode: mode}
	}
	return &out, c.Do(ctx, http.MethodPost, "/api/v1/plans/"+url.PathEscape(idOrName)+"/validate", in, &out)
}
