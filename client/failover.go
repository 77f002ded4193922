package client

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"

	"github.com/ossea/unifiedfailover/api/apiv1"
)

// StartedJob is the answer to a request that started a job, with its plan.
type StartedJob = apiv1.Started

// Register registers a protected VM: body is an apiv1.RegisterRequest, or
// any value that encodes as one (the body labsim's manifest gives).
func (c *Client) Register(ctx context.Context, body any) (*apiv1.VMContext, error) {
	var out apiv1.VMContext
	return &out, c.Do(ctx, http.MethodPost, "/api/v1/contexts", body, &out)
}

// ContextDetail is a VM context with its mappings and latest jobs.
type ContextDetail = apiv1.ContextDetail

// Context returns a VM context by id or VM name.
func (c *Client) Context(ctx context.Context, idOrName string) (*ContextDetail, error) {
	var out ContextDetail
	return &out, c.Do(ctx, http.MethodGet, "/api/v1/contexts/"+url.PathEscape(idOrName), nil, &out)
}

// Contexts lists the VM contexts.
func (c *Client) Contexts(ctx context.Context) ([]apiv1.VMContext, error) {
	var out apiv1.ContextList
	return out.Contexts, c.Do(ctx, http.MethodGet, "/api/v1/contexts", nil, &out)
}

// Failover starts a failover (or, with DryRun, returns its plan).
func (c *Client) Failover(ctx context.Context, req apiv1.FailoverRequest) (*StartedJob, error) {
	var out StartedJob
	return &out, c.Do(ctx, http.MethodPost, "/api/v1/failover/unified", req, &out)
}

// Rollback starts the rollback of a VM's latest failover.
func (c *Client) Rollback(ctx context.Context, req apiv1.RollbackRequest) (*StartedJob, error) {
	var out StartedJob
	return &out, c.Do(ctx, http.MethodPost, "/api/v1/failover/rollback", req, &out)
}

// Commit commits a completed live failover. It destroys the rollback
// points, so confirm must be the VM's name (else the API answers 428 with
// the plan).
func (c *Client) Commit(ctx context.Context, jobID, confirm string) (*StartedJob, error) {
	var out StartedJob
	return &out, c.Do(ctx, http.MethodPost, "/api/v1/failover/"+url.PathEscape(jobID)+"/commit",
		apiv1.CommitRequest{Confirm: confirm}, &out)
}

// Cancel stops a pending or running failover (the job answers cancelled;
// the VM then needs a rollback). reason goes into the audit.
func (c *Client) Cancel(ctx context.Context, jobID, reason string) (*Job, error) {
	var out Job
	return &out, c.Do(ctx, http.MethodPost, "/api/v1/failover/"+url.PathEscape(jobID)+"/cancel",
		apiv1.CancelRequest{Reason: reason}, &out)
}

// Retry resumes a failed job at its failed step.
func (c *Client) Retry(ctx context.Context, jobID string) (*StartedJob, error) {
	var out StartedJob
	return &out, c.Do(ctx, http.MethodPost, "/api/v1/failover/"+url.PathEscape(jobID)+"/retry", nil, &out)
}

// FailoverStatus is a job with, for a failover, what it made.
type FailoverStatus = apiv1.FailoverStatus

// Status returns the status of a failover, rollback or commit job.
func (c *Client) Status(ctx context.Context, jobID string) (*FailoverStatus, error) {
	var out FailoverStatus
	return &out, c.Do(ctx, http.MethodGet, "/api/v1/failover/"+url.PathEscape(jobID)+"/status", nil, &out)
}

// PlanOf decodes the plan carried by a 428 answer.
func PlanOf(err error) *apiv1.Plan {
	ae, ok := err.(*APIError)
	if !ok {
		return nil
	}
	var body apiv1.Error
	if json.Unmarshal(ae.Body, &body) != nil {
		return nil
	}
	return body.Plan
}

// Refresh re-reads a VM (name or context id) from vCenter and reports what
// changed in its record.
func (c *Client) Refresh(ctx context.Context, vm string) (*apiv1.RefreshReport, error) {
	var out apiv1.RefreshReport
	return &out, c.Do(ctx, http.MethodPost, "/api/v1/contexts/"+url.PathEscape(vm)+"/refresh", nil, &out)
}

// UpdateContext sets a VM's replicas and replication status.
func (c *Client) UpdateContext(ctx context.Context, vm string, u apiv1.ContextUpdate) (*apiv1.VMContext, error) {
	var out apiv1.VMContext
	return &out, c.Do(ctx, http.MethodPatch, "/api/v1/contexts/"+url.PathEscape(vm), u, &out)
}

// Unregister removes a VM's record (admin); its jobs and the audit stay.
func (c *Client) Unregister(ctx context.Context, vm string) error {
	return c.Do(ctx, http.MethodDelete, "/api/v1/contexts/"+url.PathEscape(vm), nil, nil)
}
