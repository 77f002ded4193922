package errs

import (
	"context"
	"errors"
	"fmt"
	"net"
	"syscall"
	"testing"
)

func TestCodeIsInheritedThroughWraps(t *testing.T) {
	t.Parallel()
	nf := New(NotFound, "no VM %s", "x")
	for _, c := range []struct {
		name string
		err  error
		want Code
	}{
		{"a code", nf, NotFound},
		{"Inherit keeps the wrapped code", Wrap(Inherit, nf, "reading"), NotFound},
		{"through fmt.Errorf", fmt.Errorf("step: %w", Wrap(Inherit, nf, "reading")), NotFound},
		{"an explicit code wins", Wrap(Conflict, nf, "reading"), Conflict},
		{"Permanent keeps the code", Permanent(nf, "giving up"), NotFound},
		{"no *Error", errors.New("boom"), Internal},
		{"Inherit over nothing coded", Wrap(Inherit, errors.New("boom"), "x"), Internal},
		{"deadline", fmt.Errorf("x: %w", context.DeadlineExceeded), Unavailable},
		{"Transient", Transient(errors.New("x"), "y"), Unavailable},
		{"nil", nil, ""},
	} {
		if got := CodeOf(c.err); got != c.want {
			t.Errorf("%s: CodeOf = %q, want %q", c.name, got, c.want)
		}
	}
	if !Is(Wrap(Inherit, nf, "x"), NotFound) {
		t.Error("Is does not see an inherited code")
	}
}

func TestClassIsInheritedThroughWraps(t *testing.T) {
	t.Parallel()
	tr := Transient(errors.New("503"), "cloudstack")
	refused := &net.OpError{Op: "dial", Err: syscall.ECONNREFUSED}
	for _, c := range []struct {
		name string
		err  error
		want bool
	}{
		{"transient", tr, true},
		{"Internal over transient stays transient", Wrap(Internal, tr, "deploying"), true},
		{"a code over transient stays transient", Wrap(FailedPrecondition, tr, "x"), true},
		{"Inherit over transient", fmt.Errorf("step: %w", Wrap(Inherit, tr, "x")), true},
		{"Permanent on purpose", Permanent(tr, "gave up after the deadline"), false},
		{"Permanent under a wrap", Wrap(Internal, Permanent(tr, "x"), "y"), false},
		{"NotFound", New(NotFound, "x"), false},
		{"NotFound over a refused connection", Wrap(NotFound, refused, "x"), false},
		{"Internal over a refused connection", Wrap(Internal, refused, "x"), true},
		{"a refused connection", fmt.Errorf("x: %w", refused), true},
		{"deadline", context.DeadlineExceeded, true},
		{"cancelled", context.Canceled, false},
		{"says it is transient", fmt.Errorf("x: %w", saysTransient(true)), true},
		{"says it is not", saysTransient(false), false},
		{"NotFound over one that says it is transient", Wrap(NotFound, saysTransient(true), "x"), false},
		{"plain", errors.New("boom"), false},
		{"nil", nil, false},
	} {
		if got := IsTransient(c.err); got != c.want {
			t.Errorf("%s: IsTransient = %v, want %v", c.name, got, c.want)
		}
	}
	if Class(tr) != "transient" || Class(New(NotFound, "x")) != "permanent" {
		t.Error("Class names the class")
	}
}

// saysTransient is an error of another package with a Transient method
// (as client.TransportError).
type saysTransient bool

func (s saysTransient) Error() string   { return "says" }
func (s saysTransient) Transient() bool { return bool(s) }

func TestField(t *testing.T) {
	t.Parallel()
	e := Field("disks[0].volume_id", "is required")
	if e.Code != InvalidArgument || e.Details["field"] != "disks[0].volume_id" || e.Error() != "disks[0].volume_id: is required" {
		t.Fatalf("Field = %+v (%q)", e, e.Error())
	}
	if Code(InvalidArgument).HTTPStatus() != 400 || Inherit.HTTPStatus() != 500 ||
		PreconditionRequired.HTTPStatus() != 428 || PreconditionFailed.HTTPStatus() != 412 {
		t.Fatal("HTTP statuses")
	}
}
