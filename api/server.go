// Package api is the product's REST API: a thin chi router that validates
// requests, enqueues work through the step-chain runner and reads the job
// log, with JSON errors mapped once from error codes.
package api

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/redis/go-redis/v9"

	"github.com/ossea/unifiedfailover/api/apiv1"
	"github.com/ossea/unifiedfailover/auth"
	"github.com/ossea/unifiedfailover/errs"
	"github.com/ossea/unifiedfailover/failover"
	"github.com/ossea/unifiedfailover/metrics"
	"github.com/ossea/unifiedfailover/queue"
	"github.com/ossea/unifiedfailover/recovery"
	"github.com/ossea/unifiedfailover/store"
	"github.com/ossea/unifiedfailover/ui"
)

// Config configures the API server.
type Config struct {
	// Store is the product's database. Required.
	Store *store.Store
	// Runner starts and resumes jobs. Required.
	Runner *queue.Runner
	// Engine runs failovers. When nil, the failover routes answer 503.
	Engine *failover.Engine
	// Auth checks bearer tokens. Defaults to refusing every token.
	Auth *auth.Authenticator
	// Redis is pinged by /readyz. Required.
	Redis redis.UniversalClient
	// Logger defaults to slog.Default().
	Logger *slog.Logger
	// Metrics defaults to none.
	Metrics *metrics.Metrics
	// Gatherer serves /metrics. Defaults to prometheus.DefaultGatherer.
	Gatherer prometheus.Gatherer
	// MaxBodyBytes limits request bodies. Defaults to 1 MiB.
	MaxBodyBytes int64
	// RPOTarget is the RPO target of a VM without its own
	// (FAILOVER_RPO_TARGET), shown with each context. Defaults to the
	// engine's, or store.DefaultRPOTarget without an engine.
	RPOTarget time.Duration
}

// WithDefaults fills the zero fields.
func (c Config) WithDefaults() Config {
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Gatherer == nil {
		c.Gatherer = prometheus.DefaultGatherer
	}
	if c.MaxBodyBytes <= 0 {
		c.MaxBodyBytes = 1 << 20
	}
	if c.Auth == nil {
		c.Auth = auth.Static(nil)
	}
	if c.RPOTarget <= 0 {
		c.RPOTarget = store.DefaultRPOTarget
		if c.Engine != nil {
			c.RPOTarget = c.Engine.RPOTarget()
		}
	}
	return c
}

func (c Config) validate() error {
	if c.Store == nil || c.Runner == nil || c.Redis == nil {
		return errs.New(errs.InvalidArgument, "api: Store, Runner and Redis are required")
	}
	return nil
}

// Server serves the API.
type Server struct {
	cfg    Config
	store  *store.Store
	runner *queue.Runner
	engine *failover.Engine
	// runs runs recovery plans (with the engine; nil without).
	runs *recovery.Runs
	log  *slog.Logger
	// draining ends when the server starts shutting down (Drain): reads
	// waiting for a job's end answer at once.
	draining context.Context
	drain    context.CancelFunc
}

// New returns an API server.
func New(cfg Config) (*Server, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	draining, drain := context.WithCancel(context.Background())
	s := &Server{cfg: cfg, store: cfg.Store, runner: cfg.Runner, engine: cfg.Engine, log: cfg.Logger,
		draining: draining, drain: drain}
	if cfg.Engine != nil {
		s.runs = recovery.NewRuns(recovery.RunsConfig{Store: cfg.Store, Engine: cfg.Engine, Runner: cfg.Runner, Log: cfg.Logger})
	}
	return s, nil
}

// Drain makes reads waiting for a job's end (?wait=) answer now, with the
// job as it is, so a graceful shutdown does not wait for them. Call it when
// the HTTP server starts shutting down (http.Server.RegisterOnShutdown).
func (s *Server) Drain() { s.drain() }

// Handler returns the router.
func (s *Server) Handler() http.Handler {
	r := chi.NewRouter()
	r.Use(s.recoverer, s.observe, s.limitBody)
	r.NotFound(func(w http.ResponseWriter, r *http.Request) {
		s.writeError(w, r, errs.New(errs.NotFound, "no route %s %s", r.Method, r.URL.Path))
	})
	r.MethodNotAllowed(func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusMethodNotAllowed, apiv1.Error{Error: "method " + r.Method + " not allowed on " + r.URL.Path, Code: apiv1.CodeMethodNotAllowed})
	})
	r.Get("/healthz", s.healthz)
	r.Get("/readyz", s.readyz)
	r.Method(http.MethodGet, "/metrics", promhttp.HandlerFor(s.cfg.Gatherer, promhttp.HandlerOpts{}))
	r.Get(MonitoringPath, http.RedirectHandler(MonitoringPath+"/", http.StatusMovedPermanently).ServeHTTP)
	r.With(s.authenticateBrowser).Handle(MonitoringPath+"/*", s.monitoring())
	// The console calls the API through this router, in-process: each call
	// is a new request to it, so chi's routing state of the console's own
	// request is dropped.
	inProcess := http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r.ServeHTTP(w, req.WithContext(context.WithValue(req.Context(), chi.RouteCtxKey, nil)))
	})
	console := ui.New(ui.Config{API: inProcess, Authenticate: s.cfg.Auth.Authenticate, Logger: s.log})
	r.Get(ui.Path, http.RedirectHandler(ui.Path+"/", http.StatusMovedPermanently).ServeHTTP)
	r.Handle(ui.Path+"/*", console.Handler())
	r.Get("/api/v1/openapi.json", s.openAPI)
	r.Route("/api/v1", s.routes)
	return r
}

func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, apiv1.Health{Status: "ok"})
}

func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	checks := map[string]string{"postgres": "ok", "redis": "ok"}
	status := http.StatusOK
	if err := s.store.Ping(ctx); err != nil {
		checks["postgres"] = err.Error()
		status = http.StatusServiceUnavailable
	}
	if err := s.cfg.Redis.Ping(ctx).Err(); err != nil {
		checks["redis"] = err.Error()
		status = http.StatusServiceUnavailable
	}
	writeJSON(w, status, apiv1.Readiness{Ready: status == http.StatusOK, Checks: checks})
}

// needEngine answers 503 when the failover engine is not configured.
func (s *Server) needEngine(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.engine == nil {
			s.writeError(w, r, errs.New(errs.Unavailable, "the failover engine is not configured (CloudStack and vCenter settings)"))
			return
		}
		next.ServeHTTP(w, r)
	})
}
