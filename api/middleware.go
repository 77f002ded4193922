package api

import (
	"net/http"
	"runtime/debug"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"

	"github.com/ossea/unifiedfailover/errs"
)

// recoverer turns a panic in a handler into a JSON 500.
func (s *Server) recoverer(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if p := recover(); p != nil {
				if p == http.ErrAbortHandler {
					panic(p)
				}
				s.log.ErrorContext(r.Context(), "handler panicked", "panic", p, "stack", string(debug.Stack()))
				s.writeError(w, r, errs.New(errs.Internal, "handler panicked"))
			}
		}()
		next.ServeHTTP(w, r)
	})
}

// limitBody caps request bodies.
func (s *Server) limitBody(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Every answer is what its Content-Type says: no sniffing.
		w.Header().Set("X-Content-Type-Options", "nosniff")
		// A NUL or control character in the path can name nothing
		// (Postgres refuses NUL in text): 400, before any handler.
		if strings.IndexFunc(r.URL.Path, unicode.IsControl) >= 0 {
			s.writeError(w, r, errs.New(errs.InvalidArgument, "the path must not contain NUL or control characters").WithDetails("field", "path"))
			return
		}
		if r.ContentLength > s.cfg.MaxBodyBytes {
			s.writeError(w, r, errs.New(errs.TooLarge, "request body is larger than %d bytes", s.cfg.MaxBodyBytes))
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, s.cfg.MaxBodyBytes)
		next.ServeHTTP(w, r)
	})
}

// observe counts requests by route pattern and status, and logs them.
func (s *Server) observe(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		began := time.Now()
		ww := middleware.NewWrapResponseWriter(w, r.ProtoMajor)
		next.ServeHTTP(ww, r)
		route := "unmatched"
		if rc := chi.RouteContext(r.Context()); rc != nil && rc.RoutePattern() != "" {
			route = rc.RoutePattern()
		}
		status := ww.Status()
		if status == 0 {
			status = http.StatusOK
		}
		if m := s.cfg.Metrics; m != nil {
			m.APIRequests.WithLabelValues(route, strconv.Itoa(status)).Inc()
			m.APIRequestDuration.WithLabelValues(route).Observe(time.Since(began).Seconds())
		}
		s.log.DebugContext(r.Context(), "request", "method", r.Method, "route", route, "status", status,
			"duration_ms", time.Since(began).Milliseconds())
	})
}
