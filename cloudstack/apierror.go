package cloudstack

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"github.com/ossea/unifiedfailover/errs"
)

// APIError is an error answered by CloudStack: an HTTP error response or a
// failed async job (HTTPStatus 200, JobID set). It sits in the error chain
// under an *errs.Error carrying its code and class.
type APIError struct {
	// Command is the API command, for example "attachVolume".
	Command string
	// HTTPStatus is the HTTP status of the response.
	HTTPStatus int
	// ErrorCode is CloudStack's error code (401, 431, 530, …).
	ErrorCode int
	// CSErrorCode is CloudStack's exception code (4350, 4250, …).
	CSErrorCode int
	// ErrorText is CloudStack's message.
	ErrorText string
	// JobID is the async job that failed, if any.
	JobID string
}

// Error implements error.
func (e *APIError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "cloudstack %s: ", e.Command)
	if e.JobID != "" {
		fmt.Fprintf(&b, "job %s failed: ", e.JobID)
	} else {
		fmt.Fprintf(&b, "HTTP %d: ", e.HTTPStatus)
	}
	fmt.Fprintf(&b, "error %d", e.ErrorCode)
	if e.CSErrorCode != 0 {
		fmt.Fprintf(&b, " (cserrorcode %d)", e.CSErrorCode)
	}
	if e.ErrorText != "" {
		b.WriteString(": " + e.ErrorText)
	}
	return b.String()
}

// csErrorBody is CloudStack's error object.
type csErrorBody struct {
	ErrorCode   int    `json:"errorcode"`
	CSErrorCode int    `json:"cserrorcode"`
	ErrorText   string `json:"errortext"`
}

// parseErrorResponse turns a non-200 response body into an APIError. A
// body that is not CloudStack's envelope (a proxy's page) keeps the status.
func parseErrorResponse(command string, status int, body []byte) *APIError {
	e := &APIError{Command: command, HTTPStatus: status}
	var env map[string]json.RawMessage
	if json.Unmarshal(body, &env) == nil && len(env) == 1 {
		for _, inner := range env {
			var eb csErrorBody
			if json.Unmarshal(inner, &eb) == nil && eb.ErrorCode != 0 {
				e.ErrorCode, e.CSErrorCode, e.ErrorText = eb.ErrorCode, eb.CSErrorCode, eb.ErrorText
				return e
			}
		}
	}
	e.ErrorCode = status
	text := strings.TrimSpace(string(body))
	if len(text) > 200 {
		text = text[:200] + "…"
	}
	if text == "" {
		text = http.StatusText(status)
	}
	e.ErrorText = text
	return e
}

var (
	// busyTexts are CloudStack's "please try again later" refusals: another
	// snapshot is active on the instance (SnapshotManagerImpl.
	// supportedByHypervisor), another job holds the volume or VM. They pass
	// once the other work ends, so a retry cures them.
	busyTexts     = []string{"try again later", "try again after", "another job in progress", "operation is in progress"}
	notFoundTexts = []string{"does not exist", "not found", "unable to find", "could not find", "no longer exists"}
	existsTexts   = []string{"already exists", "already in use"}
	stateTexts    = []string{
		"state", "already attached", "is attached", "not attached", "stop the vm", "is used by",
		"in use", "can't be", "cannot", "only when", "detach it first", "to boot from",
	}
)

func containsAny(s string, subs []string) bool {
	for _, sub := range subs {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}

// classify returns the product error code of e and whether a retry may
// cure it.
func (e *APIError) classify() (errs.Code, bool) {
	code := e.ErrorCode
	if code == 0 {
		code = e.HTTPStatus
	}
	if e.HTTPStatus == http.StatusUnauthorized || code == http.StatusUnauthorized {
		return errs.Unauthenticated, false
	}
	switch code {
	case 429, 500, 502, 503, 504, 533, 534: // overload, gateway, capacity, resource unavailable
		return errs.Unavailable, true
	case 531:
		return errs.PermissionDenied, false
	}
	text := strings.ToLower(e.ErrorText)
	switch {
	case containsAny(text, busyTexts):
		return errs.Unavailable, true
	case containsAny(text, existsTexts):
		return errs.AlreadyExists, false
	case containsAny(text, notFoundTexts):
		return errs.NotFound, false
	case containsAny(text, stateTexts):
		return errs.FailedPrecondition, false
	}
	switch {
	case code == 530:
		return errs.Internal, false
	case code >= 535 && code <= 537:
		return errs.FailedPrecondition, false
	case code >= 400 && code < 500:
		return errs.InvalidArgument, false
	default:
		return errs.Unavailable, true
	}
}

// wrapAPIError puts e under an *errs.Error saying what was being done.
func wrapAPIError(e *APIError, what string) error {
	code, transient := e.classify()
	return &errs.Error{Code: code, Transient: transient, Msg: what, Err: e}
}
