package ui

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
)

// csrfField is the form field that carries the CSRF token.
const csrfField = "csrf"

// csrf makes and checks the CSRF tokens of the state-changing forms: the
// HMAC of the session's token under a per-process key, so a token is
// bound to one session and cannot be made without the key.
type csrf struct{ key []byte }

// token is the CSRF token of the session whose API token is session.
func (c csrf) token(session string) string {
	m := hmac.New(sha256.New, c.key)
	m.Write([]byte("ui-csrf\x00"))
	m.Write([]byte(session))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// valid reports whether r carries the CSRF token of its session.
func (c csrf) valid(r *http.Request, session string) bool {
	got := r.PostFormValue(csrfField)
	if got == "" {
		got = r.Header.Get("X-CSRF-Token")
	}
	return got != "" && hmac.Equal([]byte(got), []byte(c.token(session)))
}

// withCSRF refuses, with 403, a POST whose CSRF token is missing or not
// its session's, or that comes from another site. It runs inside
// withSession.
func (c *Console) withCSRF(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if !SameOrigin(r) {
			c.fail(w, r, http.StatusForbidden, "this request comes from another site")
			return
		}
		if !c.csrf.valid(r, sessionOf(r).token) {
			c.fail(w, r, http.StatusForbidden, "the form's CSRF token is missing or stale: reload the page and try again")
			return
		}
		next(w, r)
	}
}
