package ui

import (
	"context"
	"net/http"
	"net/url"
	"strings"

	"github.com/ossea/unifiedfailover/auth"
)

// CookieName is the session cookie: the API token the operator logged in
// with. It is HttpOnly and SameSite=Strict, Secure over TLS, and scoped to
// the whole site so that /monitoring/ (asynqmon) accepts it too.
const CookieName = "uf_session"

type sessionKey struct{}

// session is a logged-in request's token and principal.
type session struct {
	token string
	who   auth.Principal
}

// SessionToken is the API token of r's session cookie, or "".
func SessionToken(r *http.Request) string {
	c, err := r.Cookie(CookieName)
	if err != nil {
		return ""
	}
	return c.Value
}

// setSession sets the session cookie to token.
func setSession(w http.ResponseWriter, r *http.Request, token string) {
	http.SetCookie(w, &http.Cookie{Name: CookieName, Value: token, Path: "/", HttpOnly: true,
		Secure: r.TLS != nil, SameSite: http.SameSiteStrictMode})
}

// clearSession expires the session cookie.
func clearSession(w http.ResponseWriter, r *http.Request) {
	http.SetCookie(w, &http.Cookie{Name: CookieName, Value: "", Path: "/", MaxAge: -1, HttpOnly: true,
		Secure: r.TLS != nil, SameSite: http.SameSiteStrictMode})
}

// withSession requires a valid session: without one a page redirects to
// the login form and a POST or a partial is refused with 401.
func (c *Console) withSession(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		token := SessionToken(r)
		var who auth.Principal
		var err error
		if token == "" {
			err = errNoSession
		} else {
			who, err = c.authn(token)
		}
		if err != nil {
			if r.Method == http.MethodGet && r.Header.Get("HX-Request") == "" {
				if token != "" {
					clearSession(w, r)
				}
				http.Redirect(w, r, Path+"/login?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
				return
			}
			http.Error(w, "not logged in", http.StatusUnauthorized)
			return
		}
		next(w, r.WithContext(context.WithValue(r.Context(), sessionKey{}, session{token: token, who: who})))
	}
}

var errNoSession = &sessionError{}

type sessionError struct{}

func (*sessionError) Error() string { return "no session" }

// sessionOf is r's session (set by withSession).
func sessionOf(r *http.Request) session {
	s, _ := r.Context().Value(sessionKey{}).(session)
	return s
}

// SameOrigin reports whether a state-changing request comes from this
// site: the browser's Sec-Fetch-Site says same-origin, or its Origin is
// this host. A request with neither header (not from a browser) passes;
// the session cookie is SameSite=Strict as well.
func SameOrigin(r *http.Request) bool {
	if s := r.Header.Get("Sec-Fetch-Site"); s != "" {
		return s == "same-origin"
	}
	o := r.Header.Get("Origin")
	if o == "" {
		return true
	}
	u, err := url.Parse(o)
	return err == nil && strings.EqualFold(u.Host, r.Host)
}

// safeNext is where to go after logging in: a path inside the console,
// never another site.
func safeNext(next string) string {
	if !strings.HasPrefix(next, Path+"/") || strings.HasPrefix(next, "//") || strings.Contains(next, "\\") {
		return Path + "/vms"
	}
	return next
}
