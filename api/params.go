package api

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/go-chi/chi/v5"

	"github.com/ossea/unifiedfailover/errs"
)

// maxNameLen bounds every name or id taken from a path, query or body.
const maxNameLen = 255

// checkName checks a name or id: not empty, at most maxNameLen bytes of
// valid UTF-8, no control characters (NUL included), no path separators,
// not "." or "..". The error names field.
func checkName(field, v string) error {
	switch {
	case strings.TrimSpace(v) == "":
		return errs.Field(field, "is required")
	case len(v) > maxNameLen:
		return errs.Field(field, "is longer than %d bytes", maxNameLen)
	case !utf8.ValidString(v):
		return errs.Field(field, "is not valid UTF-8")
	case strings.IndexFunc(v, unicode.IsControl) >= 0:
		return errs.Field(field, "must not contain control characters")
	case strings.IndexFunc(v, func(r rune) bool { return unicode.Is(unicode.Bidi_Control, r) }) >= 0:
		// Bidi overrides reorder what a terminal or a log viewer shows.
		return errs.Field(field, "must not contain bidirectional control characters")
	case v == "." || v == ".." || strings.ContainsAny(v, `/\`):
		return errs.Field(field, "must not contain path separators or be . or ..")
	}
	return nil
}

// checkOptionalName is checkName for a field that may be empty.
func checkOptionalName(field, v string) error {
	if v == "" {
		return nil
	}
	return checkName(field, v)
}

// pathName returns the path parameter key, unescaped and checked with
// checkName (chi routes on the escaped path, so %2e%2e or %2F arrive
// escaped).
func pathName(r *http.Request, key string) (string, error) {
	v, err := url.PathUnescape(chi.URLParam(r, key))
	if err != nil {
		return "", errs.Field(key, "is not a valid URL path segment")
	}
	return v, checkName(key, v)
}

// query is a request's query string, checked against the names a route
// takes: an unknown or repeated parameter is refused, naming it.
type query struct{ v url.Values }

func parseQuery(r *http.Request, allowed ...string) (query, error) {
	v, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return query{}, errs.New(errs.InvalidArgument, "malformed query string: %v", err)
	}
	ok := map[string]bool{}
	for _, a := range allowed {
		ok[a] = true
	}
	for k, vals := range v {
		if !ok[k] {
			return query{}, errs.Field(k, "unknown query parameter (this route takes %s)", strings.Join(allowed, ", "))
		}
		if len(vals) > 1 {
			return query{}, errs.Field(k, "given %d times", len(vals))
		}
	}
	return query{v}, nil
}

// name returns a parameter checked with checkName, or "" when absent.
func (q query) name(key string) (string, error) {
	if !q.v.Has(key) {
		return "", nil
	}
	v := q.v.Get(key)
	return v, checkName(key, v)
}

// enum returns a parameter that must be one of allowed, or "" when absent.
func (q query) enum(key string, allowed ...string) (string, error) {
	if !q.v.Has(key) {
		return "", nil
	}
	v := q.v.Get(key)
	for _, a := range allowed {
		if v == a {
			return v, nil
		}
	}
	return "", errs.Field(key, "must be one of %s", strings.Join(allowed, ", "))
}

// intIn returns a whole-number parameter in [lo, hi], def when absent.
func (q query) intIn(key string, def, lo, hi int) (int, error) {
	if !q.v.Has(key) {
		return def, nil
	}
	n, err := strconv.Atoi(q.v.Get(key))
	if err != nil || n < lo || n > hi {
		return 0, errs.Field(key, "must be a whole number from %d to %d", lo, hi)
	}
	return n, nil
}

// boolean returns a true/false parameter, false when absent.
func (q query) boolean(key string) (bool, error) {
	if !q.v.Has(key) {
		return false, nil
	}
	b, err := strconv.ParseBool(q.v.Get(key))
	if err != nil {
		return false, errs.Field(key, "must be true or false")
	}
	return b, nil
}
