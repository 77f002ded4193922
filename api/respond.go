package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"reflect"
	"strings"

	"github.com/ossea/unifiedfailover/api/apiv1"
	"github.com/ossea/unifiedfailover/errs"
	"github.com/ossea/unifiedfailover/failover"
)

// writeJSON writes v as JSON with status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}

// handle adapts a handler that returns its error: the error is answered
// once, here, with the status its errs code maps to (writeError).
func (s *Server) handle(h func(http.ResponseWriter, *http.Request) error) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if err := h(w, r); err != nil {
			s.writeError(w, r, err)
		}
	}
}

// writeError maps err's code to its HTTP status, once, here. Internal
// errors are answered with a generic message (the cause goes to the log).
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	code := errs.CodeOf(err)
	body := apiv1.Error{Error: err.Error(), Code: apiv1.ErrorCode(code)}
	var e *errs.Error
	if errors.As(err, &e) {
		body.Details = e.Details
		if f, ok := e.Details["field"].(string); ok {
			body.Field = f
		}
		if p, ok := e.Details["plan"].(*failover.Plan); ok {
			body.Plan = planOut(p)
			delete(body.Details, "plan")
		}
		if rep, ok := e.Details["preflight"].(*failover.Report); ok {
			body.Details["preflight"] = reportOut(rep)
		}
	}
	status := code.HTTPStatus()
	if status >= 500 {
		s.log.ErrorContext(r.Context(), "request failed", "method", r.Method, "path", r.URL.Path, "error", err)
		if code == errs.Internal {
			body.Error = "internal error"
		}
	}
	writeJSON(w, status, body)
}

// decodeJSON decodes one JSON object from the request body into v,
// refusing unknown fields, trailing data, wrong types and bodies over the
// limit, with an error that names the field.
func decodeJSON(r *http.Request, v any) error {
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		return errs.New(errs.InvalidArgument, "Content-Type must be application/json")
	}
	// Read whole (the body is limited, see limitBody), so that the member
	// at fault, unknown or of the wrong type, can be found again by its
	// path.
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return decodeError(err, nil)
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return decodeError(err, &memberFinder{body: body, t: reflect.TypeOf(v)})
	}
	if err := dec.Decode(&struct{}{}); err != io.EOF {
		return errs.New(errs.InvalidArgument, "request body must hold exactly one JSON object")
	}
	// Valid JSON of the right shape: now refuse a member given twice.
	if err := checkDuplicateMembers(body); err != nil {
		return err
	}
	return checkStrings(v)
}

// decodeError turns a decoding error into an InvalidArgument naming the
// field at fault; at, when not nil, finds it again in the body to name it
// by its whole path.
func decodeError(err error, at *memberFinder) error {
	var maxErr *http.MaxBytesError
	var syntaxErr *json.SyntaxError
	var typeErr *json.UnmarshalTypeError
	switch {
	case errors.As(err, &maxErr):
		return errs.New(errs.TooLarge, "request body is larger than %d bytes", maxErr.Limit)
	case errors.Is(err, io.EOF):
		return errs.New(errs.InvalidArgument, "request body is empty; a JSON object is required")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return errs.New(errs.InvalidArgument, "request body is truncated JSON")
	case errors.As(err, &syntaxErr):
		return errs.New(errs.InvalidArgument, "malformed JSON at byte %d: %v", syntaxErr.Offset, syntaxErr)
	case errors.As(err, &typeErr):
		field := jsonFieldPath(typeErr.Field)
		if at != nil && field != "" {
			field = at.wrongType(field)
		}
		if field == "" {
			field = "(body)"
		}
		return errs.Field(field, "must be %s, not %s", jsonKind(typeErr.Type.Kind().String()), typeErr.Value)
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		field := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		if at != nil {
			field = at.unknown(field)
		}
		if field == "" {
			field = `""`
		}
		return errs.Field(field, "unknown field")
	default:
		return errs.New(errs.InvalidArgument, "invalid JSON body: %v", err)
	}
}

func jsonKind(goKind string) string {
	switch goKind {
	case "string":
		return "a string"
	case "bool":
		return "true or false"
	case "int", "int32", "int64", "uint", "float64":
		return "a number"
	case "slice":
		return "an array"
	case "struct", "map":
		return "an object"
	default:
		return goKind
	}
}
