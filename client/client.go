// Package client is a Go client of the product's REST API, used by
// failoverctl, the demo and end-to-end tests.
package client

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/ossea/unifiedfailover/errs"
	"github.com/ossea/unifiedfailover/store"
)

// Client talks to one API.
type Client struct {
	base  string
	token string
	http  *http.Client
}

// New returns a client of the API at baseURL (for example
// http://127.0.0.1:8080) using a bearer token when not empty.
func New(baseURL, token string) *Client {
	return &Client{base: strings.TrimRight(baseURL, "/"), token: token, http: &http.Client{Timeout: 60 * time.Second}}
}

// APIError is an error answer of the API.
type APIError struct {
	Status  int            `json:"-"`
	Message string         `json:"error"`
	Code    string         `json:"code"`
	Field   string         `json:"field,omitempty"`
	Details map[string]any `json:"details,omitempty"`
	// Body is the raw answer, for answers such as 428 that carry a plan.
	Body json.RawMessage `json:"-"`
}

// Error implements error.
func (e *APIError) Error() string { return fmt.Sprintf("%d %s: %s", e.Status, e.Code, e.Message) }

// Do sends a request with a JSON body (when in is not nil) and decodes a
// 2xx JSON answer into out (when not nil). Other answers are *APIError.
func (c *Client) Do(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return fmt.Errorf("encoding request: %w", err)
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, body)
	if err != nil {
		return fmt.Errorf("building request %s %s: %w", method, path, err)
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return errs.Transient(err, "%s %s", method, path)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 32<<20))
	if err != nil {
		return errs.Transient(err, "reading answer of %s %s", method, path)
	}
	if resp.StatusCode/100 != 2 {
		ae := &APIError{Status: resp.StatusCode, Body: raw}
		if json.Unmarshal(raw, ae) != nil || ae.Message == "" {
			ae.Message = strings.TrimSpace(string(raw))
		}
		return ae
	}
	if out != nil && len(raw) > 0 {
		if err := json.Unmarshal(raw, out); err != nil {
			return fmt.Errorf("decoding answer of %s %s: %w", method, path, err)
		}
	}
	return nil
}

// Job is a job as the API shows it.
type Job struct {
	store.Job
	ProgressPercent float64 `json:"progress_percent"`
}

// Started is the answer to a request that started a job.
type Started struct {
	JobID         string `json:"job_id"`
	ExternalJobID string `json:"external_job_id"`
	Status        string `json:"status"`
}

// StartProbe starts the probe chain, on a VM context when contextID is set.
func (c *Client) StartProbe(ctx context.Context, contextID string) (*Started, error) {
	var out Started
	var in any
	if contextID != "" {
		in = map[string]string{"context_id": contextID}
	}
	return &out, c.Do(ctx, http.MethodPost, "/api/v1/probe", in, &out)
}

// Job returns a job by UUID or external id.
func (c *Client) Job(ctx context.Context, id string) (*Job, error) {
	var out Job
	return &out, c.Do(ctx, http.MethodGet, "/api/v1/jobs/"+url.PathEscape(id), nil, &out)
}

// WaitJob reads a job until it is no longer active. With onChange (called
// each time its steps change) it reads every `every`; without, each read
// waits on the server for the job's end (up to 30 s at a time), so the
// answer comes as soon as the job ends, with no polling.
func (c *Client) WaitJob(ctx context.Context, id string, every time.Duration, onChange func(*Job)) (*Job, error) {
	var last string
	read := c.Job
	if onChange == nil {
		read = func(ctx context.Context, id string) (*Job, error) {
			var out Job
			return &out, c.Do(ctx, http.MethodGet, "/api/v1/jobs/"+url.PathEscape(id)+"?wait=30s", nil, &out)
		}
	}
	for {
		j, err := read(ctx, id)
		if err != nil && !errs.IsTransient(err) {
			return nil, err
		}
		if err == nil {
			sig, _ := json.Marshal(j.Steps)
			if onChange != nil && string(sig) != last {
				onChange(j)
			}
			last = string(sig)
			if !j.Status.Active() {
				return j, nil
			}
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("waiting for job %s: %w", id, ctx.Err())
		case <-time.After(every):
		}
	}
}

// Events returns a job's structured events.
func (c *Client) Events(ctx context.Context, id string) ([]store.Event, error) {
	var out struct {
		Events []store.Event `json:"events"`
	}
	return out.Events, c.Do(ctx, http.MethodGet, "/api/v1/jobs/"+url.PathEscape(id)+"/events?limit=1000", nil, &out)
}
