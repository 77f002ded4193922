package ui

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"

	"github.com/ossea/unifiedfailover/api/apiv1"
)

// apiError is an API answer other than 2xx: its status and message, shown
// to the operator as the API gave them.
type apiError struct {
	Status  int
	Message string
	Code    apiv1.ErrorCode
}

func (e *apiError) Error() string { return e.Message }

// call sends method path (under /api/v1) with body as JSON to the API's
// handler in-process, with the session's token, and decodes the answer
// into out (when not nil). Going through the API's router, and not its
// handlers' functions, keeps one place for auth, roles, validation,
// approval and the audit; the cost is a JSON round trip in memory.
func (c *Console) call(ctx context.Context, s session, method, path string, body, out any) error {
	var rd io.Reader
	if body != nil {
		raw, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequestWithContext(ctx, method, "/api/v1"+path, rd)
	if err != nil {
		return err
	}
	req.RemoteAddr = "console"
	req.Header.Set("Authorization", "Bearer "+s.token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	rec := &recorder{header: http.Header{}}
	c.api.ServeHTTP(rec, req)
	if rec.status == 0 {
		rec.status = http.StatusOK
	}
	if rec.status/100 != 2 {
		var e apiv1.Error
		if json.Unmarshal(rec.body.Bytes(), &e) != nil || e.Error == "" {
			e.Error = fmt.Sprintf("%s %s: %d %s", method, path, rec.status, http.StatusText(rec.status))
		}
		return &apiError{Status: rec.status, Message: e.Error, Code: e.Code}
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(rec.body.Bytes(), out); err != nil {
		return fmt.Errorf("%s %s: decoding the answer: %w", method, path, err)
	}
	return nil
}

// pathEscape escapes a path segment of an API route.
func pathEscape(s string) string { return url.PathEscape(s) }

// recorder is the in-memory http.ResponseWriter of an in-process call.
type recorder struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (r *recorder) Header() http.Header { return r.header }

func (r *recorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
}

func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.body.Write(b)
}
