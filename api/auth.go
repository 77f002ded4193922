package api

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"

	"github.com/ossea/unifiedfailover/api/apiv1"
	"github.com/ossea/unifiedfailover/auth"
	"github.com/ossea/unifiedfailover/errs"
	"github.com/ossea/unifiedfailover/ui"
)

type principalKey struct{}

// authenticate requires a valid bearer token and puts its principal (and
// the actor for the audit) in the request context.
func (s *Server) authenticate(next http.Handler) http.Handler { return s.authenticateWith(next, false) }

// authenticateBrowser is authenticate that also takes the console's
// session cookie (ui.CookieName) when the request has no Authorization
// header, so a browser logged into the console opens /monitoring/. A
// state-changing request authenticated by the cookie must come from this
// site (ui.SameOrigin; the cookie is SameSite=Strict too): asynqmon's
// own requests carry no CSRF token. /api/v1 never takes the cookie.
func (s *Server) authenticateBrowser(next http.Handler) http.Handler {
	return s.authenticateWith(next, true)
}

func (s *Server) authenticateWith(next http.Handler, cookie bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := r.Header.Get("Authorization")
		token, ok := strings.CutPrefix(h, "Bearer ")
		if !ok {
			token = ""
		}
		if cookie && h == "" {
			token = ui.SessionToken(r)
			if token != "" && r.Method != http.MethodGet && r.Method != http.MethodHead && !ui.SameOrigin(r) {
				s.writeError(w, r, errs.New(errs.PermissionDenied, "a request with the console's cookie must come from this site"))
				return
			}
		}
		p, err := s.cfg.Auth.Authenticate(strings.TrimSpace(token))
		if err != nil {
			w.Header().Set("WWW-Authenticate", `Bearer realm="unified-failover"`)
			if r.ContentLength != 0 {
				s.refuseAndClose(w, err)
				return
			}
			s.writeError(w, r, err)
			return
		}
		ctx := context.WithValue(r.Context(), principalKey{}, p)
		ctx = withActor(ctx, p.Name)
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// principalOf is the request's authenticated principal.
func principalOf(r *http.Request) auth.Principal {
	p, _ := r.Context().Value(principalKey{}).(auth.Principal)
	return p
}

// need refuses a request whose principal lacks role.
func need(r *http.Request, role auth.Role, what string) error {
	p := principalOf(r)
	if p.Role.Allows(role) {
		return nil
	}
	return errs.New(errs.PermissionDenied, "%s needs the %s role; %s is %s", what, role, p.Name, p.Role)
}

// require is need as middleware.
func (s *Server) require(role auth.Role) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if err := need(r, role, r.Method+" "+r.URL.Path); err != nil {
				s.writeError(w, r, err)
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}

// refuseAndClose answers err and closes the connection without reading
// the request's body: net/http would otherwise wait for up to 256 KiB of
// it after the handler, so an unauthenticated client announcing a large
// body would hold the connection for the whole read timeout. Where the
// connection cannot be taken over (HTTP/2), it answers as writeError.
func (s *Server) refuseAndClose(w http.ResponseWriter, err error) {
	code := errs.CodeOf(err)
	body, _ := json.Marshal(apiv1.Error{Error: err.Error(), Code: apiv1.ErrorCode(code)})
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	h.Set("Connection", "close")
	w.WriteHeader(code.HTTPStatus())
	_, _ = w.Write(body)
	rc := http.NewResponseController(w)
	_ = rc.Flush()
	if conn, buf, herr := rc.Hijack(); herr == nil {
		_ = buf.Flush()
		_ = conn.Close()
	}
}
