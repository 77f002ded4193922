package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ossea/unifiedfailover/api/apiv1"
)

// CapabilityVirtio names the capability to run the VirtIO injection
// command (FAILOVER_VIRTIO_COMMAND): the failover's virtio-injection step.
const CapabilityVirtio = "virtio"

// Capability is what a worker reports about one thing a step needs it to
// run: whether it can, with what, or why not (the API's type, apiv1).
type Capability = apiv1.WorkerCapability

// Capabilities are a worker's capabilities by name (CapabilityVirtio).
type Capabilities map[string]Capability

// Worker is a worker process as its last heartbeat described it.
type Worker struct {
	ID       string
	Hostname string
	PID      int
	Version  string
	// StartedAt is when the process started.
	StartedAt time.Time
	// HeartbeatInterval is how often the worker beats; it is live while
	// HeartbeatAt is younger than LiveBeats intervals.
	HeartbeatInterval time.Duration
	Capabilities      Capabilities
	HeartbeatAt       time.Time
}

// LiveBeats is how many heartbeat intervals a worker stays live without a
// heartbeat.
const LiveBeats = 3

// workerRetention is how long a dead worker's row stays (PruneWorkers).
const workerRetention = 24 * time.Hour

const workerColumns = `id, hostname, pid, version, started_at, heartbeat_interval_ms, capabilities, heartbeat_at`

// Heartbeat records that worker w is alive now, with its capabilities
// (w.HeartbeatAt is ignored: the database's clock sets it, so the workers'
// clocks do not matter).
func (s *Store) Heartbeat(ctx context.Context, w Worker) error {
	if w.HeartbeatInterval <= 0 {
		return fmt.Errorf("store: worker %s: heartbeat interval %s is not positive", w.ID, w.HeartbeatInterval)
	}
	caps := w.Capabilities
	if caps == nil {
		caps = Capabilities{}
	}
	raw, err := json.Marshal(caps)
	if err != nil {
		return fmt.Errorf("encoding worker %s's capabilities: %w", w.ID, err)
	}
	_, err = s.pool.Exec(ctx, `
		INSERT INTO workers (id, hostname, pid, version, started_at, heartbeat_interval_ms, capabilities, heartbeat_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, now())
		ON CONFLICT (id) DO UPDATE SET hostname = EXCLUDED.hostname, pid = EXCLUDED.pid, version = EXCLUDED.version,
		    started_at = EXCLUDED.started_at, heartbeat_interval_ms = EXCLUDED.heartbeat_interval_ms,
		    capabilities = EXCLUDED.capabilities, heartbeat_at = now()`,
		w.ID, w.Hostname, w.PID, w.Version, w.StartedAt, w.HeartbeatInterval.Milliseconds(), raw)
	return classify(err, "recording the heartbeat of worker %s", w.ID)
}

// LiveWorkers returns the workers whose last heartbeat is younger than
// LiveBeats of their own heartbeat intervals, by id.
func (s *Store) LiveWorkers(ctx context.Context) ([]Worker, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+workerColumns+` FROM workers
		WHERE heartbeat_at > now() - make_interval(secs => $1 * heartbeat_interval_ms / 1000.0)
		ORDER BY id`, LiveBeats)
	if err != nil {
		return nil, classify(err, "listing live workers")
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Worker, error) {
		var w Worker
		var ms int64
		var raw []byte
		if err := r.Scan(&w.ID, &w.Hostname, &w.PID, &w.Version, &w.StartedAt, &ms, &raw, &w.HeartbeatAt); err != nil {
			return w, err
		}
		w.HeartbeatInterval = time.Duration(ms) * time.Millisecond
		if err := json.Unmarshal(raw, &w.Capabilities); err != nil {
			return w, fmt.Errorf("reading worker %s's capabilities: %w", w.ID, err)
		}
		return w, nil
	})
	return out, classify(err, "listing live workers")
}

// DeleteWorker removes a worker's row (its graceful stop). A worker
// without a row is no error.
func (s *Store) DeleteWorker(ctx context.Context, id string) error {
	_, err := s.pool.Exec(ctx, `DELETE FROM workers WHERE id = $1`, id)
	return classify(err, "removing worker %s", id)
}

// PruneWorkers deletes the rows of workers that have not beaten for a day
// (killed, not stopped), and returns how many went.
func (s *Store) PruneWorkers(ctx context.Context) (int64, error) {
	tag, err := s.pool.Exec(ctx, `DELETE FROM workers WHERE heartbeat_at < now() - make_interval(secs => $1)`,
		workerRetention.Seconds())
	if err != nil {
		return 0, classify(err, "pruning dead workers")
	}
	return tag.RowsAffected(), nil
}
