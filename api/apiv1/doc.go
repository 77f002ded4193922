// Package apiv1 is the wire format of the REST API's version 1: every
// request and response body, with its JSON names, and the error body's
// codes. It imports only the standard library, so that a client (package
// client, failoverctl) can use it without the server's dependencies; the
// server (package api) converts its store rows and domain values to these
// types in one place (api/wire.go). api/openapi.json documents the same
// shapes, and a test in package api checks the two agree.
//
// Some domain types are these types under another name (type aliases in
// failover, drill and store: FailoverRequest, drill.Spec, the status
// enums …): what the API takes is what the engine works with.
package apiv1
