package vsphere

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"

	"github.com/vmware/govmomi/fault"
	"github.com/vmware/govmomi/vim25/types"

	"github.com/ossea/unifiedfailover/errs"
)

// classify wraps err with a message saying what was being done and the
// product's error code and class:
// bad credentials → Unauthenticated; missing objects → NotFound; wrong
// power or object state → FailedPrecondition; vCenter-side breakage,
// timeouts, refused connections and 5xx answers → transient.
func classify(err error, format string, args ...any) error {
	if err == nil {
		return nil
	}
	msg := fmt.Sprintf(format, args...)
	if errors.Is(err, context.Canceled) {
		return fmt.Errorf("%s: %w", msg, err)
	}
	var e *errs.Error
	if errors.As(err, &e) {
		return fmt.Errorf("%s: %w", msg, err) // already classified below us
	}
	if name := faultName(err); name != "" {
		err = fmt.Errorf("%s: %w", name, err) // task faults often have no message
	}
	switch {
	case isFault(err, &types.InvalidLogin{}, &types.NotAuthenticated{}):
		return errs.Wrap(errs.Unauthenticated, err, "%s", msg)
	case isFault(err, &types.NoPermission{}):
		return errs.Wrap(errs.PermissionDenied, err, "%s", msg)
	case isFault(err, &types.ManagedObjectNotFound{}, &types.NotFound{}):
		return errs.Wrap(errs.NotFound, err, "%s", msg)
	case isFault(err, &types.InvalidPowerState{}, &types.InvalidState{}, &types.ToolsUnavailable{},
		&types.InvalidArgument{}, &types.NotSupported{}, &types.FileFault{}):
		return errs.Wrap(errs.FailedPrecondition, err, "%s", msg)
	case isFault(err, &types.SystemError{}, &types.HostCommunication{}, &types.HostNotConnected{},
		&types.HostNotReachable{}, &types.Timedout{}, &types.TaskInProgress{}, &types.ConcurrentAccess{},
		&types.RequestCanceled{}):
		return errs.Transient(err, "%s", msg)
	}
	if status := httpStatus(err); status != 0 {
		switch {
		case status == 401:
			return errs.Wrap(errs.Unauthenticated, err, "%s", msg)
		case status >= 500 || status == 429:
			return errs.Transient(err, "%s", msg)
		}
	}
	if errs.IsTransient(err) {
		return errs.Transient(err, "%s", msg)
	}
	return errs.Wrap(errs.Internal, err, "%s", msg)
}

// isFault reports whether any fault in err's tree has the type of one of
// targets.
func isFault(err error, targets ...types.BaseMethodFault) bool {
	for _, t := range targets {
		if fault.Is(err, t) {
			return true
		}
	}
	return false
}

// faultName returns the type name of the vSphere fault in err, or "".
func faultName(err error) string {
	var f types.BaseMethodFault
	if _, ok := fault.As(err, &f); ok && f != nil {
		name := fmt.Sprintf("%T", f)
		return strings.TrimPrefix(name, "*types.")
	}
	return ""
}

// httpStatus returns the HTTP status of a non-SOAP answer ("503 Service
// Unavailable" from govmomi's client), or 0.
func httpStatus(err error) int {
	var ue *url.Error
	if !errors.As(err, &ue) || ue.Err == nil {
		return 0
	}
	code, _, _ := strings.Cut(ue.Err.Error(), " ")
	n, err := strconv.Atoi(code)
	if err != nil || n < 100 || n > 599 {
		return 0
	}
	return n
}
