// Package daemon is the wiring every product process shares: configuration,
// logger, signals, the store, the queue runner with the product's chains,
// and a small HTTP server for /metrics and /healthz. The main packages stay
// thin: they call Setup and run their own part.
package daemon

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"slices"
	"syscall"
	"time"

	"github.com/hibiken/asynq"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/redis/go-redis/v9"

	"github.com/ossea/unifiedfailover/cloudstack"
	"github.com/ossea/unifiedfailover/config"
	"github.com/ossea/unifiedfailover/drill"
	"github.com/ossea/unifiedfailover/failover"
	"github.com/ossea/unifiedfailover/metrics"
	"github.com/ossea/unifiedfailover/queue"
	"github.com/ossea/unifiedfailover/store"
	"github.com/ossea/unifiedfailover/tasks"
	"github.com/ossea/unifiedfailover/virtio"
	"github.com/ossea/unifiedfailover/vsphere"
)

// Daemon is a running process's shared parts.
type Daemon struct {
	Config   config.Config
	Log      *slog.Logger
	Store    *store.Store
	Redis    *redis.Client
	Queue    *asynq.Client
	Registry *prometheus.Registry
	Metrics  *metrics.Metrics
	Runner   *queue.Runner
	// Engine is the failover engine; nil when CloudStack is not configured.
	Engine *failover.Engine
	// Drills runs drill jobs; nil when Engine is.
	Drills *drill.Drills
}

// Setup loads the configuration, connects to Postgres (creating the
// database and applying migrations) and Redis, and registers the product's
// chains (tasks.Register, once).
func Setup(ctx context.Context, process string) (*Daemon, error) {
	cfg, err := config.Load()
	if err != nil {
		return nil, err
	}
	d := &Daemon{Config: cfg, Log: cfg.Logger(process)}
	openCtx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	if d.Store, err = store.Open(openCtx, cfg.DatabaseURL); err != nil {
		return nil, fmt.Errorf("opening the store: %w", err)
	}
	rc := d.RedisConfig()
	opt := rc.ConnOpt()
	d.Redis = redis.NewClient(&redis.Options{Addr: opt.Addr, Password: opt.Password, DB: opt.DB})
	if err := d.Redis.Ping(openCtx).Err(); err != nil {
		d.Close()
		return nil, fmt.Errorf("connecting to redis at %s: %w", opt.Addr, err)
	}
	d.Queue = asynq.NewClient(opt)
	d.Registry = prometheus.NewRegistry()
	d.Metrics = metrics.New(d.Registry)
	d.Runner = queue.NewRunner(d.Store, d.Queue, d.Log, d.Metrics)
	d.Runner.UseInspector(asynq.NewInspectorFromRedisClient(d.Redis))
	if err := d.setupEngine(); err != nil {
		d.Close()
		return nil, err
	}
	// Every chain: the probe, and with the engine the failover, rollback,
	// commit and drill chains.
	if err := tasks.Register(d.Runner, tasks.Deps{Config: cfg, Log: d.Log, Store: d.Store, Metrics: d.Metrics,
		Engine: d.Engine, Drills: d.Drills}); err != nil {
		d.Close()
		return nil, err
	}
	if err := d.registerCollectors(openCtx, process); err != nil {
		d.Close()
		return nil, err
	}
	return d, nil
}

// registerCollectors adds the scrape-time collectors: failover_active_jobs
// (from Postgres) in every process, and in the API process only, since
// they are the same from everywhere, the active jobs' ages and each VM's
// RPO (failover_vm_rpo_seconds; both from Postgres) and asynq's queue
// metrics (from Redis). The API process also makes sure every product
// queue exists in Redis, so that asynqmon and the queue metrics list them
// before their first task.
func (d *Daemon) registerCollectors(ctx context.Context, process string) error {
	kinds := []metrics.JobKind{{Type: tasks.ProbeChain, FailoverType: metrics.FailoverTypeNone}}
	if d.Engine != nil {
		kinds = append(kinds,
			metrics.JobKind{Type: failover.JobFailover, FailoverType: string(failover.Test)},
			metrics.JobKind{Type: failover.JobFailover, FailoverType: string(failover.Live)},
			metrics.JobKind{Type: failover.JobRollback, FailoverType: string(failover.Test)},
			metrics.JobKind{Type: failover.JobRollback, FailoverType: string(failover.Live)},
			metrics.JobKind{Type: failover.JobCommit, FailoverType: string(failover.Live)},
			metrics.JobKind{Type: drill.JobType, FailoverType: metrics.FailoverTypeNone})
	}
	err := d.Registry.Register(&metrics.ActiveJobs{Store: d.Store, Kinds: kinds, Ages: process == "api", Logger: d.Log})
	if err != nil {
		return fmt.Errorf("registering failover_active_jobs: %w", err)
	}
	if process != "api" {
		return nil
	}
	insp := asynq.NewInspectorFromRedisClient(d.Redis)
	if err := d.ensureQueues(ctx, insp); err != nil {
		return err
	}
	if err := d.Registry.Register(&metrics.Queues{Inspector: insp, Logger: d.Log}); err != nil {
		return fmt.Errorf("registering the asynq queue metrics: %w", err)
	}
	if err := d.Registry.Register(&metrics.RPO{Store: d.Store, Target: d.Config.RPOTarget, Logger: d.Log}); err != nil {
		return fmt.Errorf("registering failover_vm_rpo_seconds: %w", err)
	}
	return nil
}

// ensureQueues makes asynq know every product queue. asynq records a queue
// when a task is first enqueued to it and has no other way to create one,
// so a queue it does not know yet gets a placeholder task, scheduled far
// in the future and deleted at once.
func (d *Daemon) ensureQueues(ctx context.Context, insp *asynq.Inspector) error {
	known, err := insp.Queues()
	if err != nil {
		return fmt.Errorf("listing asynq queues: %w", err)
	}
	for q := range queue.Priorities {
		if slices.Contains(known, q) {
			continue
		}
		const id = "failover-queue-placeholder"
		_, err := d.Queue.EnqueueContext(ctx, asynq.NewTask("failover:queue-placeholder", nil), asynq.Queue(q),
			asynq.TaskID(id), asynq.ProcessIn(10*365*24*time.Hour), asynq.MaxRetry(0))
		if err != nil && !errors.Is(err, asynq.ErrTaskIDConflict) {
			return fmt.Errorf("creating asynq queue %s: %w", q, err)
		}
		if err := insp.DeleteTask(q, id); err != nil && !errors.Is(err, asynq.ErrTaskNotFound) {
			return fmt.Errorf("creating asynq queue %s: removing the placeholder: %w", q, err)
		}
		d.Log.Info("created asynq queue", "queue", q)
	}
	return nil
}

// setupEngine builds the failover engine and the drill runner from the
// configuration (Setup registers their chains). Without CloudStack settings the engine is off (the
// API answers 503 on failover routes) and the process says so.
func (d *Daemon) setupEngine() error {
	cfg := d.Config
	if cfg.CloudStackURL == "" {
		d.Log.Warn("failover engine disabled: FAILOVER_CLOUDSTACK_URL is not set")
		return nil
	}
	cs, err := cloudstack.New(cloudstack.Config{URL: cfg.CloudStackURL, APIKey: cfg.CloudStackAPIKey,
		SecretKey: cfg.CloudStackSecretKey, ZoneID: cfg.CloudStackZoneID})
	if err != nil {
		return fmt.Errorf("configuring the CloudStack client: %w", err)
	}
	d.Engine, err = failover.New(failover.EngineConfig{Store: d.Store, Runner: d.Runner, CloudStack: cs,
		VCenter: vsphere.Config{URL: cfg.VCenterURL, User: cfg.VCenterUser, Password: cfg.VCenterPassword,
			Insecure: cfg.VCenterInsecure},
		ZoneID: cfg.CloudStackZoneID, TemplateID: cfg.CloudStackTemplateID, ApplianceVMID: cfg.ApplianceVMID,
		Virtio: virtio.Config{Command: cfg.VirtioCommand, Concurrency: cfg.VirtioConcurrency,
			DeviceDir: cfg.VirtioDeviceDir, DeviceWait: cfg.VirtioDeviceWait},
		Replicas: failover.ReplicaRules{SourceNBDURI: cfg.SourceNBDURI, ReplicaNBDURI: cfg.ReplicaNBDURI,
			ReplicaVolumeName: cfg.ReplicaVolumeName},
		Logger: d.Log, Metrics: d.Metrics, Timers: d.Queue, Planner: tasks.PlanSteps, RPOTarget: cfg.RPOTarget})
	if err != nil {
		return err
	}
	d.Drills, err = drill.New(drill.Config{Store: d.Store, Engine: d.Engine, Logger: d.Log, Metrics: d.Metrics})
	return err
}

// RedisConfig is the queue's Redis configuration.
func (d *Daemon) RedisConfig() queue.RedisConfig {
	return queue.RedisConfig{Addr: d.Config.RedisAddr, Password: d.Config.RedisPassword, DB: d.Config.RedisDB}
}

// Close releases the connections.
func (d *Daemon) Close() {
	if d.Engine != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		_ = d.Engine.Close(ctx) // log the vCenter session out
		cancel()
	}
	if d.Queue != nil {
		_ = d.Queue.Close()
	}
	if d.Redis != nil {
		_ = d.Redis.Close()
	}
	if d.Store != nil {
		d.Store.Close()
	}
}

// SignalContext returns a context cancelled by SIGINT or SIGTERM.
func SignalContext() (context.Context, context.CancelFunc) {
	return signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
}

// Serve serves h over plain HTTP on addr until ctx is done, then shuts
// down gracefully; onShutdown funcs run when the shutdown starts (for
// example to end long-polling requests).
func Serve(ctx context.Context, log *slog.Logger, addr string, h http.Handler, onShutdown ...func()) error {
	return ServeTLS(ctx, log, addr, TLSFiles{}, h, onShutdown...)
}

// TLSFiles are the PEM certificate (chain) and private key files a server
// serves HTTPS with; the zero value serves plain HTTP.
type TLSFiles struct {
	CertFile, KeyFile string
}

// ServeTLS is Serve over HTTPS (TLS 1.2 and later) with the certificate
// and key of files, read once here, or over plain HTTP when files is
// zero.
func ServeTLS(ctx context.Context, log *slog.Logger, addr string, files TLSFiles, h http.Handler, onShutdown ...func()) error {
	srv := &http.Server{Addr: addr, Handler: h, ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout: time.Minute, WriteTimeout: 2 * time.Minute, IdleTimeout: 2 * time.Minute}
	if files != (TLSFiles{}) {
		cert, err := tls.LoadX509KeyPair(files.CertFile, files.KeyFile)
		if err != nil {
			return fmt.Errorf("serving HTTPS on %s: %w", addr, err)
		}
		srv.TLSConfig = &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{cert}}
	}
	for _, f := range onShutdown {
		srv.RegisterOnShutdown(f)
	}
	errc := make(chan error, 1)
	go func() {
		if srv.TLSConfig != nil {
			errc <- srv.ListenAndServeTLS("", "")
		} else {
			errc <- srv.ListenAndServe()
		}
	}()
	log.Info("listening", "addr", addr, "tls", srv.TLSConfig != nil)
	select {
	case err := <-errc:
		return fmt.Errorf("serving on %s: %w", addr, err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutting down %s: %w", addr, err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// MetricsHandler serves /metrics from the daemon's registry and /healthz.
func (d *Daemon) MetricsHandler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(d.Registry, promhttp.HandlerOpts{}))
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"status":"ok"}` + "\n"))
	})
	return mux
}

// Main runs a process's body, logging a failure and exiting non-zero.
func Main(process string, body func(ctx context.Context, d *Daemon) error) {
	ctx, stop := SignalContext()
	defer stop()
	d, err := Setup(ctx, process)
	if err != nil {
		slog.New(slog.NewJSONHandler(os.Stderr, nil)).Error("start-up failed", "process", process, "error", err)
		os.Exit(1)
	}
	defer d.Close()
	d.Log.Info("ready", "pid", os.Getpid())
	if err := body(ctx, d); err != nil {
		d.Log.Error("stopped with an error", "error", err)
		d.Close()
		os.Exit(1)
	}
	d.Log.Info("stopped")
}
