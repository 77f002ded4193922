package apiv1

import "time"

// WorkerCapability is what a worker reports about one thing a step needs
// it to run: whether it can, with what, or why not.
type WorkerCapability struct {
	// Available says the worker can run it.
	Available bool `json:"available"`
	// Command is what the worker is configured to run (for virtio,
	// FAILOVER_VIRTIO_COMMAND).
	Command string `json:"command,omitempty"`
	// Path is the executable Command resolved to, when it did.
	Path string `json:"path,omitempty"`
	// Problem says why it is not available.
	Problem string `json:"problem,omitempty"`
}

// Worker is a live worker process, as its last heartbeat described it.
type Worker struct {
	ID        string    `json:"id"`
	Hostname  string    `json:"hostname"`
	PID       int       `json:"pid"`
	Version   string    `json:"version,omitempty"`
	StartedAt time.Time `json:"started_at"`
	// HeartbeatInterval is how often it beats ("10s"); it is live while
	// its last heartbeat is younger than three intervals.
	HeartbeatInterval Duration  `json:"heartbeat_interval"`
	HeartbeatAt       time.Time `json:"heartbeat_at"`
	// Capabilities are by name ("virtio").
	Capabilities map[string]WorkerCapability `json:"capabilities"`
}

// WorkerList is GET /api/v1/workers: the live workers.
type WorkerList struct {
	Workers []Worker `json:"workers"`
}
