package cloudstack

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	cs "github.com/apache/cloudstack-go/v2/cloudstack"

	"github.com/ossea/unifiedfailover/calltime"
	"github.com/ossea/unifiedfailover/errs"
)

// Async job statuses of queryAsyncJobResult.
const (
	jobPending   = 0
	jobSucceeded = 1
	jobFailed    = 2
	jobCancelled = 3
)

// runJob starts an async command with start (which returns the job id),
// then waits for the job and returns its result object (the single value
// of jobresult, or jobresult itself when it is not a one-key wrapper).
func (c *Client) runJob(ctx context.Context, command, what string, start func(api *cs.CloudStackClient) (string, error)) (json.RawMessage, error) {
	// Waiting for the async job, polls and pauses between them, is time
	// spent in CloudStack, not in the orchestration.
	defer calltime.Start(ctx)()
	api, x := c.api(ctx)
	jobID, err := start(api)
	if err != nil {
		return nil, c.fail(ctx, x, command, what, err)
	}
	if jobID == "" {
		return nil, errs.New(errs.Internal, "%s: CloudStack returned no job id", what)
	}
	return c.waitJob(ctx, command, jobID, what)
}

// waitJob polls queryAsyncJobResult with a doubling, capped interval until
// the job ends or ctx is done. Transient poll failures are retried.
func (c *Client) waitJob(ctx context.Context, command, jobID, what string) (json.RawMessage, error) {
	what = fmt.Sprintf("%s (job %s)", what, jobID)
	wait := c.cfg.PollInterval
	t := time.NewTimer(wait)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			if ctx.Err() == context.DeadlineExceeded {
				return nil, errs.Transient(ctx.Err(), "%s: waiting for the job", what)
			}
			return nil, errs.Wrap(errs.Unavailable, ctx.Err(), "%s: waiting for the job", what)
		case <-t.C:
		}
		r, err := c.queryJob(ctx, jobID, what)
		switch {
		case err != nil && !errs.IsTransient(err):
			return nil, err
		case err != nil && ctx.Err() != nil:
			return nil, err
		case err == nil && r.Jobstatus == jobSucceeded:
			return unwrapJobResult(r.Jobresult), nil
		case err == nil && r.Jobstatus == jobFailed:
			return nil, wrapAPIError(jobError(command, jobID, r), what)
		case err == nil && r.Jobstatus == jobCancelled:
			// JobInfo.Status CANCELLED: the work did not happen. The step
			// reads the real state again on its retry.
			return nil, &errs.Error{Code: errs.Unavailable, Transient: true, Msg: what + ": the job was cancelled in CloudStack"}
		}
		wait = min(wait*2, c.cfg.MaxPollInterval)
		t.Reset(wait)
	}
}

// queryJob asks for a job's status once.
func (c *Client) queryJob(ctx context.Context, jobID, what string) (*cs.QueryAsyncJobResultResponse, error) {
	api, x := c.api(ctx)
	custom, ok := api.Custom.(*cs.CustomService)
	if !ok {
		return nil, errs.New(errs.Internal, "%s: cloudstack-go has no custom request service", what)
	}
	p := &cs.CustomServiceParams{}
	p.SetParam("jobid", jobID)
	var r cs.QueryAsyncJobResultResponse
	if err := custom.CustomRequest("queryAsyncJobResult", p, &r); err != nil {
		return nil, c.fail(ctx, x, "queryAsyncJobResult", what+": polling", err)
	}
	return &r, nil
}

// jobError builds the APIError of a failed job.
func jobError(command, jobID string, r *cs.QueryAsyncJobResultResponse) *APIError {
	e := &APIError{Command: command, HTTPStatus: 200, ErrorCode: r.Jobresultcode, JobID: jobID}
	var eb csErrorBody
	if json.Unmarshal(r.Jobresult, &eb) == nil && (eb.ErrorCode != 0 || eb.ErrorText != "") {
		if eb.ErrorCode != 0 {
			e.ErrorCode = eb.ErrorCode
		}
		e.CSErrorCode, e.ErrorText = eb.CSErrorCode, eb.ErrorText
	} else {
		var text string
		if json.Unmarshal(r.Jobresult, &text) == nil {
			e.ErrorText = text
		} else {
			e.ErrorText = string(r.Jobresult)
		}
	}
	if e.ErrorCode == 0 {
		e.ErrorCode = 530
	}
	return e
}

// unwrapJobResult returns the value of a one-key jobresult object such as
// {"virtualmachine":{…}}; any other result is returned as is.
func unwrapJobResult(raw json.RawMessage) json.RawMessage {
	var m map[string]json.RawMessage
	if json.Unmarshal(raw, &m) != nil || len(m) != 1 {
		return raw
	}
	for _, v := range m {
		if len(v) > 0 && v[0] == '{' {
			return v
		}
	}
	return raw
}

// decodeResult decodes a job's result object into v.
func decodeResult(raw json.RawMessage, v any, what string) error {
	if err := json.Unmarshal(raw, v); err != nil {
		return errs.Wrap(errs.Internal, err, "%s: decoding the job result", what)
	}
	return nil
}
