package main

import (
	"errors"
	"net/http"

	"github.com/ossea/unifiedfailover/client"
)

// Exit codes (see the package documentation).
const (
	exitOK          = 0
	exitFailed      = 1
	exitUsage       = 2
	exitApproval    = 3
	exitConflict    = 4
	exitAuth        = 5
	exitNotFound    = 6
	exitUnavailable = 7
	// exitInterrupted: Ctrl-C while watching a job (128 + SIGINT, as a
	// shell reports it); the job keeps running.
	exitInterrupted = 130
)

// usageError is a mistake in the command line.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

// jobFailed is a watched job that did not complete; its story is already
// printed.
type jobFailed struct{ msg string }

func (e jobFailed) Error() string { return e.msg }

// codedError is an error found before any request (or from what the API
// answered), with its exit code.
type codedError struct {
	code int
	err  error
}

func (e codedError) Error() string { return e.err.Error() }
func (e codedError) Unwrap() error { return e.err }

// quiet wraps an error whose message was already printed.
type quiet struct{ code int }

func (q quiet) Error() string { return "" }

// exitCode maps an error to the documented exit codes.
func exitCode(err error) int {
	if err == nil {
		return exitOK
	}
	var q quiet
	if errors.As(err, &q) {
		return q.code
	}
	var ce codedError
	if errors.As(err, &ce) {
		return ce.code
	}
	var u usageError
	if errors.As(err, &u) {
		return exitUsage
	}
	var ae *client.APIError
	if errors.As(err, &ae) {
		switch ae.Status {
		case http.StatusBadRequest, http.StatusRequestEntityTooLarge:
			return exitUsage
		case http.StatusPreconditionRequired:
			return exitApproval
		case http.StatusConflict, http.StatusPreconditionFailed:
			return exitConflict
		case http.StatusUnauthorized, http.StatusForbidden:
			return exitAuth
		case http.StatusNotFound:
			return exitNotFound
		case http.StatusServiceUnavailable, http.StatusBadGateway, http.StatusGatewayTimeout:
			return exitUnavailable
		}
		return exitFailed
	}
	if client.IsTransient(err) {
		return exitUnavailable
	}
	return exitFailed
}
