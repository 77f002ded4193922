package api

import (
	"context"
	"net/http"
	"strings"

	"github.com/ossea/unifiedfailover/auth"
	"github.com/ossea/unifiedfailover/errs"
)

type principalKey struct{}

// authenticate requires a valid bearer token and puts its principal (and
// the actor for the audit) in the request context.
func (s *Server) authenticate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := r.Header.Get("Authorization")
		token, ok := strings.CutPrefix(h, "Bearer ")
		if !ok {
			token = ""
		}
		p, err := s.cfg.Auth.Authenticate(strings.TrimSpace(token))
		if err != nil {
			w.Header().Set("WWW-Authenticate", `Bearer realm="unified-failover"`)
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
