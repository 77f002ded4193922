package apiv1

// ErrorCode is the machine-readable code of an error answer, stable
// across versions. Each maps to one HTTP status (package errs).
type ErrorCode string

// The error codes.
const (
	// CodeInternal is an unexpected failure.
	CodeInternal ErrorCode = "internal"
	// CodeInvalidArgument is bad input from the caller (400).
	CodeInvalidArgument ErrorCode = "invalid_argument"
	// CodeNotFound is a missing object (404).
	CodeNotFound ErrorCode = "not_found"
	// CodeAlreadyExists is a create of something that exists (409).
	CodeAlreadyExists ErrorCode = "already_exists"
	// CodeConflict is a request that collides with other work, such as
	// an active job on the same VM (409).
	CodeConflict ErrorCode = "conflict"
	// CodeFailedPrecondition is a request the current state does not
	// allow (409).
	CodeFailedPrecondition ErrorCode = "failed_precondition"
	// CodeApprovalRequired is a request that needs an explicit operator
	// approval (428); the answer carries the plan.
	CodeApprovalRequired ErrorCode = "approval_required"
	// CodePreconditionRequired is an edit without the If-Match header
	// that makes it safe (428).
	CodePreconditionRequired ErrorCode = "precondition_required"
	// CodePreconditionFailed is an edit whose If-Match names a version
	// that is no longer current (412); the details carry the current one.
	CodePreconditionFailed ErrorCode = "precondition_failed"
	// CodeUnauthenticated is a missing or wrong credential (401).
	CodeUnauthenticated ErrorCode = "unauthenticated"
	// CodePermissionDenied is a credential without the needed role (403).
	CodePermissionDenied ErrorCode = "permission_denied"
	// CodeTooLarge is a request body over the limit (413).
	CodeTooLarge ErrorCode = "too_large"
	// CodeUnavailable is a dependency that cannot be reached right now
	// (503).
	CodeUnavailable ErrorCode = "unavailable"
	// CodeMethodNotAllowed is a method a path does not take (405).
	CodeMethodNotAllowed ErrorCode = "method_not_allowed"
)

// Error is the body of every error answer.
type Error struct {
	// Error is a human message.
	Error string    `json:"error"`
	Code  ErrorCode `json:"code"`
	// Field names the request member, parameter or path segment at
	// fault, when there is one.
	Field   string         `json:"field,omitempty"`
	Details map[string]any `json:"details,omitempty"`
	// Plan is what would run, on a 428 approval answer.
	Plan *Plan `json:"plan,omitempty"`
}
