// Package errs carries the product's error codes and error classes.
//
// An error code says what went wrong in terms a caller can act on (NotFound,
// Conflict, FailedPrecondition, …); it is attached once where the error is
// made and mapped once to an HTTP status by the API. An error class says
// whether retrying can help: transient errors (timeouts, 5xx, refused
// connections) are retried by the step chain, permanent ones are not.
package errs

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"syscall"

	"github.com/ossea/unifiedfailover/api/apiv1"
)

// Code is a machine-readable error code, stable across versions.
type Code string

// The error codes: the error body's (apiv1.ErrorCode). Each maps to
// exactly one HTTP status (see HTTPStatus).
const (
	// Inherit, given to Wrap, keeps the code of the error wrapped (as
	// asynq's CanonicalCode does for an unset code); Internal when none.
	Inherit Code = ""
	// Internal is an unexpected failure; the default for uncoded errors.
	Internal Code = Code(apiv1.CodeInternal)
	// InvalidArgument is bad input from the caller.
	InvalidArgument Code = Code(apiv1.CodeInvalidArgument)
	// NotFound is a missing object.
	NotFound Code = Code(apiv1.CodeNotFound)
	// AlreadyExists is a create of something that exists.
	AlreadyExists Code = Code(apiv1.CodeAlreadyExists)
	// Conflict is a request that collides with other work, such as an
	// active job on the same VM.
	Conflict Code = Code(apiv1.CodeConflict)
	// FailedPrecondition is a request the current state does not allow.
	FailedPrecondition Code = Code(apiv1.CodeFailedPrecondition)
	// ApprovalRequired is a request that needs an explicit operator approval.
	ApprovalRequired Code = Code(apiv1.CodeApprovalRequired)
	// PreconditionRequired is an edit without the If-Match header it
	// needs.
	PreconditionRequired Code = Code(apiv1.CodePreconditionRequired)
	// PreconditionFailed is an edit of a version that is no longer
	// current (If-Match).
	PreconditionFailed Code = Code(apiv1.CodePreconditionFailed)
	// Unauthenticated is a missing or wrong credential.
	Unauthenticated Code = Code(apiv1.CodeUnauthenticated)
	// PermissionDenied is a credential without the needed role.
	PermissionDenied Code = Code(apiv1.CodePermissionDenied)
	// TooLarge is a request body over the limit.
	TooLarge Code = Code(apiv1.CodeTooLarge)
	// Unavailable is a dependency that cannot be reached right now.
	Unavailable Code = Code(apiv1.CodeUnavailable)
)

// HTTPStatus is the HTTP status a code maps to.
func (c Code) HTTPStatus() int {
	switch c {
	case InvalidArgument:
		return http.StatusBadRequest
	case NotFound:
		return http.StatusNotFound
	case AlreadyExists, Conflict:
		return http.StatusConflict
	case FailedPrecondition:
		return http.StatusConflict
	case ApprovalRequired, PreconditionRequired:
		return http.StatusPreconditionRequired
	case PreconditionFailed:
		return http.StatusPreconditionFailed
	case Unauthenticated:
		return http.StatusUnauthorized
	case PermissionDenied:
		return http.StatusForbidden
	case TooLarge:
		return http.StatusRequestEntityTooLarge
	case Unavailable:
		return http.StatusServiceUnavailable
	default:
		return http.StatusInternalServerError
	}
}

// Error is an error with a code, a class and optional details.
type Error struct {
	// Code is the error's code; Inherit takes the code of the wrapped
	// error.
	Code Code
	// Transient marks an error that a retry may cure. An error that wraps
	// a transient one is transient too, unless it is Permanent.
	Transient bool
	// Permanent says, on purpose, that no retry may cure this error,
	// whatever it wraps.
	Permanent bool
	// Msg is a human-readable message.
	Msg string
	// Details is extra machine-readable context (for example the id of the
	// active job in a Conflict). It is rendered into API error bodies.
	Details map[string]any
	// Err is the wrapped cause, if any.
	Err error
}

// Error implements error.
func (e *Error) Error() string {
	switch {
	case e.Msg != "" && e.Err != nil:
		return e.Msg + ": " + e.Err.Error()
	case e.Msg != "":
		return e.Msg
	case e.Err != nil:
		return e.Err.Error()
	default:
		return string(CodeOf(e))
	}
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// New returns a permanent error with code and formatted message.
func New(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Msg: fmt.Sprintf(format, args...)}
}

// Wrap returns err with a code (Inherit keeps err's) and a message saying
// what was being done. The class is err's: a wrapped transient error stays
// transient. It returns nil when err is nil.
func Wrap(code Code, err error, format string, args ...any) error {
	if err == nil {
		return nil
	}
	return &Error{Code: code, Msg: fmt.Sprintf(format, args...), Err: err}
}

// Transient returns a retryable error with a message and cause.
func Transient(err error, format string, args ...any) error {
	return &Error{Code: Unavailable, Transient: true, Msg: fmt.Sprintf(format, args...), Err: err}
}

// Permanent returns err as an error no retry may cure, whatever it wraps,
// with a message; the code is err's.
func Permanent(err error, format string, args ...any) error {
	if err == nil {
		return nil
	}
	return &Error{Permanent: true, Msg: fmt.Sprintf(format, args...), Err: err}
}

// Field is an InvalidArgument naming the field at fault (its JSON path, as
// disks[0].volume_id) in its message and in its details.
func Field(field, format string, args ...any) *Error {
	return New(InvalidArgument, "%s: %s", field, fmt.Sprintf(format, args...)).WithDetails("field", field)
}

// WithDetails returns e with details added; it returns e for chaining.
func (e *Error) WithDetails(kv ...any) *Error {
	if e.Details == nil {
		e.Details = map[string]any{}
	}
	for i := 0; i+1 < len(kv); i += 2 {
		e.Details[fmt.Sprint(kv[i])] = kv[i+1]
	}
	return e
}

// CodeOf returns the code of the outermost *Error in err's chain that sets
// one (an Inherit code passes to the error it wraps), or Internal when
// there is none. A context deadline maps to Unavailable.
func CodeOf(err error) Code {
	if err == nil {
		return ""
	}
	for cur := err; cur != nil; {
		var e *Error
		if !errors.As(cur, &e) {
			break
		}
		if e.Code != Inherit {
			return e.Code
		}
		cur = e.Err
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return Unavailable
	}
	return Internal
}

// Is reports whether err carries code.
func Is(err error, code Code) bool { return err != nil && CodeOf(err) == code }

// IsTransient reports whether a retry may cure err: an *Error marked
// transient, a timeout, a refused or reset connection, or any net.Error
// timeout. Context cancellation is not transient (the caller gave up).
func IsTransient(err error) bool {
	if err == nil {
		return false
	}
	// Walk the *Error chain from the outside in: a Permanent one says no
	// retry cures it, a Transient one that one may; an error whose code is
	// the caller's or the state's (NotFound, Conflict, …) is permanent
	// unless something in it is marked transient.
	coded := false
	for cur := err; cur != nil; {
		var e *Error
		if !errors.As(cur, &e) {
			break
		}
		if e.Permanent {
			return false
		}
		if e.Transient {
			return true
		}
		if e.Code != Inherit && e.Code != Internal && e.Code != Unavailable {
			coded = true
		}
		cur = e.Err
	}
	if coded {
		return false
	}
	// An error of another package that says it is transient (for example
	// client.TransportError).
	var t interface{ Transient() bool }
	if errors.As(err, &t) && t.Transient() {
		return true
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	if errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) {
		return true
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return true
	}
	var oe *net.OpError
	return errors.As(err, &oe)
}

// Class names an error's class for logs and metrics: "transient" or
// "permanent".
func Class(err error) string {
	if IsTransient(err) {
		return "transient"
	}
	return "permanent"
}
