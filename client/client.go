// Package client is a Go client of the product's REST API, used by
// failoverctl, the demo and end-to-end tests. It speaks the wire types of
// package apiv1 and imports nothing else of the product, so that
// failoverctl builds without cgo and without the server's dependencies.
package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/ossea/unifiedfailover/api/apiv1"
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

// APIError is an error answer of the API: its status and its body
// (apiv1.Error).
type APIError struct {
	Status  int             `json:"-"`
	Message string          `json:"error"`
	Code    apiv1.ErrorCode `json:"code"`
	Field   string          `json:"field,omitempty"`
	Details map[string]any  `json:"details,omitempty"`
	// Body is the raw answer, for answers such as 428 that carry a plan.
	Body json.RawMessage `json:"-"`
}

// Error implements error.
func (e *APIError) Error() string { return fmt.Sprintf("%d %s: %s", e.Status, e.Code, e.Message) }

// apiError decodes an error answer; a body that is not an error body
// becomes the message.
func apiError(status int, raw []byte) *APIError {
	ae := &APIError{Status: status, Body: raw}
	if json.Unmarshal(raw, ae) != nil || ae.Message == "" {
		ae.Message = strings.TrimSpace(string(raw))
	}
	return ae
}

// TransportError is a request that got no answer, or whose answer could
// not be read: the API could not be reached, or the connection broke.
// Retrying may help (IsTransient).
type TransportError struct {
	// Op is the request, for example "GET /api/v1/jobs/…".
	Op  string
	Err error
}

// Error implements error.
func (e *TransportError) Error() string { return e.Op + ": " + e.Err.Error() }

// Unwrap returns the cause.
func (e *TransportError) Unwrap() error { return e.Err }

// Transient says retrying may help (package errs reads it).
func (e *TransportError) Transient() bool { return true }

// IsTransient reports whether err is a TransportError: the request may
// succeed if retried. An answer of the API (APIError) is not transient.
func IsTransient(err error) bool {
	var te *TransportError
	return errors.As(err, &te)
}

// Do sends a request with a JSON body (when in is not nil) and decodes a
// 2xx JSON answer into out (when not nil). Other answers are *APIError.
func (c *Client) Do(ctx context.Context, method, path string, in, out any) error {
	return c.DoWithHeader(ctx, method, path, nil, in, out)
}

// DoWithHeader is Do with extra request headers (such as If-Match).
func (c *Client) DoWithHeader(ctx context.Context, method, path string, header http.Header, in, out any) error {
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
	for k, v := range header {
		req.Header[http.CanonicalHeaderKey(k)] = v
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return &TransportError{Op: method + " " + path, Err: err}
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 32<<20))
	if err != nil {
		return &TransportError{Op: "reading answer of " + method + " " + path, Err: err}
	}
	if resp.StatusCode/100 != 2 {
		return apiError(resp.StatusCode, raw)
	}
	if out != nil && len(raw) > 0 {
		if err := json.Unmarshal(raw, out); err != nil {
			return fmt.Errorf("decoding answer of %s %s: %w", method, path, err)
		}
	}
	return nil
}

// Job is a job as the API shows it.
type Job = apiv1.Job

// Started is the answer to a request that started a job.
type Started = apiv1.Started

// StartProbe starts the probe chain, on a VM context when contextID is set.
func (c *Client) StartProbe(ctx context.Context, contextID string) (*Started, error) {
	var out Started
	var in any
	if contextID != "" {
		in = apiv1.ProbeRequest{ContextID: contextID}
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
		if err != nil && !IsTransient(err) {
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
func (c *Client) Events(ctx context.Context, id string) ([]apiv1.Event, error) {
	var out apiv1.EventList
	return out.Events, c.Do(ctx, http.MethodGet, "/api/v1/jobs/"+url.PathEscape(id)+"/events?limit=1000", nil, &out)
}
