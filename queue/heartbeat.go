package queue

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"runtime/debug"
	"time"

	"github.com/ossea/unifiedfailover/store"
)

// DefaultHeartbeat is how often a worker beats unless
// FAILOVER_WORKER_HEARTBEAT says otherwise.
const DefaultHeartbeat = 10 * time.Second

// heartbeatCallTimeout bounds each database call of a heartbeat.
const heartbeatCallTimeout = 5 * time.Second

// Heartbeat records a worker process in the workers table while it runs:
// who it is and what it can run (Detect, called at every beat, so a tool
// installed or removed while the worker runs is seen within one
// interval). Pre-flight reads the live workers (store.LiveWorkers) to know
// whether the steps a plan needs can run.
type Heartbeat struct {
	Store *store.Store
	// Interval defaults to DefaultHeartbeat.
	Interval time.Duration
	// Detect returns the worker's capabilities now.
	Detect func() store.Capabilities
	// Log defaults to slog.Default().
	Log *slog.Logger

	w store.Worker
}

// NewWorkerID returns an id for this process: hostname:pid:random.
func NewWorkerID() (id, hostname string) {
	hostname, err := os.Hostname()
	if err != nil || hostname == "" {
		hostname = "unknown"
	}
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return fmt.Sprintf("%s:%d:%s", hostname, os.Getpid(), hex.EncodeToString(b)), hostname
}

// buildVersion is the binary's VCS revision, or its module version.
func buildVersion() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return ""
	}
	for _, s := range bi.Settings {
		if s.Key == "vcs.revision" {
			return s.Value
		}
	}
	return bi.Main.Version
}

// Start records the first heartbeat, so the worker is live as soon as
// Start returns, and returns the worker's record. Run keeps it beating.
func (h *Heartbeat) Start(ctx context.Context) (store.Worker, error) {
	h.defaults()
	id, host := NewWorkerID()
	h.w = store.Worker{ID: id, Hostname: host, PID: os.Getpid(), Version: buildVersion(),
		StartedAt: time.Now().UTC(), HeartbeatInterval: h.Interval}
	h.Log = h.Log.With("worker_id", id)
	if err := h.beat(ctx); err != nil {
		return h.w, fmt.Errorf("recording the first heartbeat: %w", err)
	}
	h.Log.InfoContext(ctx, "worker heartbeat started", "interval", h.Interval, "capabilities", h.w.Capabilities)
	return h.w, nil
}

func (h *Heartbeat) defaults() {
	if h.Interval <= 0 {
		h.Interval = DefaultHeartbeat
	}
	if h.Log == nil {
		h.Log = slog.Default()
	}
}

// beat detects the capabilities and records them, under a deadline.
func (h *Heartbeat) beat(ctx context.Context) error {
	caps := store.Capabilities{}
	if h.Detect != nil {
		caps = h.Detect()
	}
	if h.w.Capabilities != nil && !maps.Equal(caps, h.w.Capabilities) {
		h.Log.InfoContext(ctx, "worker capabilities changed", "capabilities", caps)
	}
	h.w.Capabilities = caps
	cctx, cancel := context.WithTimeout(ctx, heartbeatCallTimeout)
	defer cancel()
	return h.Store.Heartbeat(cctx, h.w)
}

// Run beats every interval until ctx is done, then removes the worker's
// row (a graceful stop: the worker is no longer live at once). A failed
// beat is logged and retried at the next interval; rows of workers dead
// for a day are pruned on the way. Call it after Start.
func (h *Heartbeat) Run(ctx context.Context) {
	h.defaults()
	t := time.NewTicker(h.Interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			h.stop()
			return
		case <-t.C:
		}
		if err := h.beat(ctx); err != nil {
			if ctx.Err() != nil {
				continue // the stop is next
			}
			h.Log.WarnContext(ctx, "worker heartbeat failed", "error", err)
			continue
		}
		pctx, cancel := context.WithTimeout(ctx, heartbeatCallTimeout)
		if n, err := h.Store.PruneWorkers(pctx); err != nil && ctx.Err() == nil {
			h.Log.WarnContext(ctx, "pruning dead workers failed", "error", err)
		} else if n > 0 {
			h.Log.InfoContext(ctx, "pruned dead workers", "count", n)
		}
		cancel()
	}
}

// stop removes the worker's row, under its own deadline (the run's
// context is done).
func (h *Heartbeat) stop() {
	ctx, cancel := context.WithTimeout(context.Background(), heartbeatCallTimeout)
	defer cancel()
	if err := h.Store.DeleteWorker(ctx, h.w.ID); err != nil {
		h.Log.Warn("removing the worker's heartbeat row failed; it expires by itself", "error", err)
		return
	}
	h.Log.Info("worker heartbeat stopped")
}
