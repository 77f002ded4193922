// Package cloudstack is the failover engine's adapter to Apache CloudStack.
// It drives the real cloudstack-go client in synchronous mode (mutating
// calls return their async job id at once) and polls queryAsyncJobResult
// itself with a short, capped backoff, so a job costs what it takes and
// not the library's 1 s, 2 s, 3 s … sleeps. Every call honours the
// caller's context, down to the HTTP request. Errors come back classified
// with the codes of package errs, with an *APIError in the chain when
// CloudStack answered.
package cloudstack

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	cs "github.com/apache/cloudstack-go/v2/cloudstack"

	"github.com/ossea/unifiedfailover/calltime"
	"github.com/ossea/unifiedfailover/errs"
)

// Client talks to one CloudStack endpoint. It is safe for concurrent use.
type Client struct {
	cfg       Config
	transport http.RoundTripper
}

// New returns a Client for cfg (defaults applied).
func New(cfg Config) (*Client, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.validate(); err != nil {
		return nil, errs.Wrap(errs.InvalidArgument, err, "cloudstack: invalid config")
	}
	tr := &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:          100,
		MaxIdleConnsPerHost:   32,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: time.Second,
		TLSClientConfig:       &tls.Config{InsecureSkipVerify: cfg.InsecureSkipVerify}, //nolint:gosec // lab option
	}
	// Each round trip counts as time spent in CloudStack (package calltime).
	return &Client{cfg: cfg, transport: calltime.Transport(tr)}, nil
}

// Close releases idle connections.
func (c *Client) Close() {
	type idleCloser interface{ CloseIdleConnections() }
	if t, ok := c.transport.(idleCloser); ok {
		t.CloseIdleConnections()
	}
}

// maxErrorBody bounds how much of an error response is kept.
const maxErrorBody = 64 << 10

// exchange binds one call's context to its HTTP requests and records the
// last response status and, for errors, its body. The library reads
// neither the context nor the status, so the adapter keeps them here.
type exchange struct {
	ctx  context.Context
	base http.RoundTripper

	mu     sync.Mutex
	status int
	body   []byte
}

// A GET (CloudStack's reads: lists and async-job polls) that fails with a
// transport error or 502/503/504 is sent again, up to getAttempts times in
// all, getBackoff apart (growing), under the call's context: a read is
// idempotent, and one lost read should not cost the step a whole attempt
// (with CloudStack failing one call in ten, a step of ten calls failed
// most attempts and ran out of them). Mutating calls (POST) are never
// resent here: the step's retry, which reads the real state first, does.
const (
	getAttempts = 3
	getBackoff  = 100 * time.Millisecond
)

// retryableGet reports whether a GET's outcome is worth sending again.
func retryableGet(ctx context.Context, resp *http.Response, err error) bool {
	if ctx.Err() != nil {
		return false
	}
	if err != nil {
		return true
	}
	switch resp.StatusCode {
	case http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return true
	}
	return false
}

// RoundTrip implements http.RoundTripper.
func (x *exchange) RoundTrip(req *http.Request) (*http.Response, error) {
	req = req.WithContext(x.ctx)
	resp, err := x.base.RoundTrip(req)
	for try := 1; req.Method == http.MethodGet && try < getAttempts && retryableGet(x.ctx, resp, err); try++ {
		t := time.NewTimer(getBackoff * time.Duration(try))
		select {
		case <-x.ctx.Done():
			t.Stop()
		case <-t.C:
		}
		if x.ctx.Err() != nil {
			break
		}
		if resp != nil {
			_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxErrorBody))
			_ = resp.Body.Close()
		}
		resp, err = x.base.RoundTrip(req)
	}
	if err != nil {
		return nil, err
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	x.status, x.body = resp.StatusCode, nil
	if resp.StatusCode != http.StatusOK {
		b, rerr := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
		_ = resp.Body.Close()
		if rerr != nil {
			return nil, rerr
		}
		x.body = b
		resp.Body = io.NopCloser(bytes.NewReader(b))
	}
	return resp, nil
}

func (x *exchange) last() (int, []byte) {
	x.mu.Lock()
	defer x.mu.Unlock()
	return x.status, x.body
}

// api returns a cloudstack-go client bound to ctx for one call, and the
// exchange recording its responses.
func (c *Client) api(ctx context.Context) (*cs.CloudStackClient, *exchange) {
	x := &exchange{ctx: ctx, base: c.transport}
	hc := &http.Client{Transport: x, Timeout: c.cfg.HTTPTimeout}
	return cs.NewClient(c.cfg.URL, c.cfg.APIKey, c.cfg.SecretKey, !c.cfg.InsecureSkipVerify, cs.WithHTTPClient(hc)), x
}

// fail turns the error of one library call into a classified error saying
// what was being done.
func (c *Client) fail(ctx context.Context, x *exchange, command, what string, err error) error {
	err = redactURL(err, command)
	status, body := x.last()
	if status != 0 && status != http.StatusOK {
		return wrapAPIError(parseErrorResponse(command, status, body), what)
	}
	if cerr := ctx.Err(); cerr != nil {
		if errors.Is(cerr, context.DeadlineExceeded) {
			return errs.Transient(errors.Join(cerr, err), "%s", what)
		}
		return errs.Wrap(errs.Unavailable, errors.Join(cerr, err), "%s", what)
	}
	var ne net.Error
	if errors.As(err, &ne) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		return errs.Transient(err, "%s", what)
	}
	if status == 0 {
		// No response at all: a transport failure.
		return errs.Transient(err, "%s", what)
	}
	return errs.Wrap(errs.Internal, err, "%s: unexpected response", what)
}

// urlRedacted is a *url.Error without the request's query: a signed
// CloudStack URL carries apiKey and signature, valid for minutes, and an
// error goes to clients, job steps, asynqmon and logs. It names the call
// (the endpoint and the command) instead.
type urlRedacted struct {
	op, endpoint, command string
	err                   error
}

func (e *urlRedacted) Error() string {
	return fmt.Sprintf("%s %s (command %s): %v", e.op, e.endpoint, e.command, e.err)
}

func (e *urlRedacted) Unwrap() error { return e.err }

// redactURL replaces the *url.Error in err, if any, by one without the
// URL's query. Only the outermost one is found: net/http returns one.
func redactURL(err error, command string) error {
	var ue *url.Error
	if !errors.As(err, &ue) {
		return err
	}
	endpoint := "the CloudStack endpoint"
	if u, perr := url.Parse(ue.URL); perr == nil {
		u.RawQuery, u.Fragment, u.User = "", "", nil
		endpoint = u.String()
	}
	r := &urlRedacted{op: ue.Op, endpoint: endpoint, command: command, err: ue.Err}
	if err == error(ue) {
		return r
	}
	// Wrapped: keep the wrapping's own words, drop the URL's.
	return &redactedText{msg: strings.ReplaceAll(err.Error(), ue.Error(), r.Error()), err: r}
}

// redactedText is an error whose text was redacted; it unwraps to the
// redacted cause.
type redactedText struct {
	msg string
	err error
}

func (e *redactedText) Error() string { return e.msg }
func (e *redactedText) Unwrap() error { return e.err }
