package queue

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/hibiken/asynq"
)

// ServerConfig configures a worker's asynq server.
type ServerConfig struct {
	// Concurrency is how many steps run at once. Defaults to 20.
	Concurrency int
	// ShutdownTimeout is how long a graceful shutdown waits for running
	// steps to finish before putting them back in the queue. Defaults to 60s.
	ShutdownTimeout time.Duration
	// PollInterval is how often an idle worker looks for new tasks.
	// Defaults to 10ms (asynq's default of 1s would add up to a second to
	// every step of a chain; each poll is one cheap Redis call).
	PollInterval time.Duration
	// DelayedCheckInterval is how often retries and scheduled tasks are
	// moved to their queue. Defaults to 500ms.
	DelayedCheckInterval time.Duration
}

// The defaults of ServerConfig (and of FAILOVER_WORKER_CONCURRENCY and
// FAILOVER_SHUTDOWN_TIMEOUT).
const (
	DefaultConcurrency     = 20
	DefaultShutdownTimeout = 60 * time.Second
)

// WithDefaults returns the config with zero fields set to their defaults.
func (c ServerConfig) WithDefaults() ServerConfig {
	if c.Concurrency <= 0 {
		c.Concurrency = DefaultConcurrency
	}
	if c.ShutdownTimeout <= 0 {
		c.ShutdownTimeout = DefaultShutdownTimeout
	}
	if c.PollInterval <= 0 {
		c.PollInterval = 10 * time.Millisecond
	}
	if c.DelayedCheckInterval <= 0 {
		c.DelayedCheckInterval = 500 * time.Millisecond
	}
	return c
}

// NewServer returns an asynq server for the runner's steps, consuming the
// product's queues by priority with each step's retry backoff.
func NewServer(redis RedisConfig, cfg ServerConfig, r *Runner, log *slog.Logger) *asynq.Server {
	cfg = cfg.WithDefaults()
	return asynq.NewServer(redis.ConnOpt(), asynq.Config{
		Concurrency:              cfg.Concurrency,
		Queues:                   Priorities,
		RetryDelayFunc:           r.RetryDelay,
		ShutdownTimeout:          cfg.ShutdownTimeout,
		TaskCheckInterval:        cfg.PollInterval,
		DelayedTaskCheckInterval: cfg.DelayedCheckInterval,
		Logger:                   SlogLogger(log.With("component", "asynq")),
		LogLevel:                 asynq.WarnLevel,
		ErrorHandler: asynq.ErrorHandlerFunc(func(ctx context.Context, t *asynq.Task, err error) {
			log.DebugContext(ctx, "task returned an error", "task_type", t.Type(), "error", err)
		}),
	})
}

// SlogLogger is asynq's Logger over slog (asynq's Fatal logs at Error:
// the process decides whether to exit).
func SlogLogger(l *slog.Logger) asynq.Logger { return slogAdapter{l} }

type slogAdapter struct{ l *slog.Logger }

func (a slogAdapter) Debug(args ...any) { a.l.Debug(fmt.Sprint(args...)) }
func (a slogAdapter) Info(args ...any)  { a.l.Info(fmt.Sprint(args...)) }
func (a slogAdapter) Warn(args ...any)  { a.l.Warn(fmt.Sprint(args...)) }
func (a slogAdapter) Error(args ...any) { a.l.Error(fmt.Sprint(args...)) }
func (a slogAdapter) Fatal(args ...any) { a.l.Error(fmt.Sprint(args...)) }
