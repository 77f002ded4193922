// Package config reads the product's configuration from environment
// variables. Every variable has a documented default (see README.md);
// secrets may also come from a file named by the variable with a _FILE
// suffix, and are never logged.
package config

import (
	"crypto/tls"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/ossea/unifiedfailover/queue"
	"github.com/ossea/unifiedfailover/store"
	"github.com/ossea/unifiedfailover/virtio"
)

// Config is the configuration of every process.
type Config struct {
	// DatabaseURL is FAILOVER_DATABASE_URL. Defaults to
	// postgres://postgres@127.0.0.1:5432/failover?sslmode=disable.
	DatabaseURL string
	// RedisAddr is FAILOVER_REDIS_ADDR. Defaults to 127.0.0.1:6379.
	RedisAddr string
	// RedisPassword is FAILOVER_REDIS_PASSWORD (or _FILE). Defaults to none.
	RedisPassword string
	// RedisDB is FAILOVER_REDIS_DB. Defaults to 0.
	RedisDB int
	// APIAddr is FAILOVER_API_ADDR, where the API listens. Defaults to
	// 127.0.0.1:8080.
	APIAddr string
	// APITLSCert is FAILOVER_API_TLS_CERT: the PEM certificate (chain) the
	// API serves HTTPS with (TLS 1.2 and later), with APITLSKey; both or
	// neither, read at start. Defaults to empty: plain HTTP.
	APITLSCert string
	// APITLSKey is FAILOVER_API_TLS_KEY: the PEM private key of
	// APITLSCert. Defaults to empty: plain HTTP.
	APITLSKey string
	// WorkerMetricsAddr is FAILOVER_WORKER_METRICS_ADDR, where a worker
	// serves /metrics and /healthz. Defaults to 127.0.0.1:9101; empty
	// string "off" disables.
	WorkerMetricsAddr string
	// SchedulerMetricsAddr is FAILOVER_SCHEDULER_METRICS_ADDR. Defaults to
	// 127.0.0.1:9102.
	SchedulerMetricsAddr string
	// WorkerConcurrency is FAILOVER_WORKER_CONCURRENCY. Defaults to 20.
	WorkerConcurrency int
	// ShutdownTimeout is FAILOVER_SHUTDOWN_TIMEOUT: how long a graceful
	// stop waits for running work. Defaults to 60s.
	ShutdownTimeout time.Duration
	// WorkerHeartbeat is FAILOVER_WORKER_HEARTBEAT: how often a worker
	// records that it is alive and what it can run (100ms to 5m); a worker
	// is live while its last heartbeat is younger than three intervals.
	// Defaults to 10s.
	WorkerHeartbeat time.Duration
	// LogLevel is FAILOVER_LOG_LEVEL (debug, info, warn, error). Defaults
	// to info.
	LogLevel slog.Level
	// MaxBodyBytes is FAILOVER_API_MAX_BODY_BYTES. Defaults to 1 MiB.
	MaxBodyBytes int64
	// SchedulerSyncInterval is FAILOVER_SCHEDULER_SYNC_INTERVAL: how often
	// the scheduler re-reads drill schedules and sweeps overdue
	// auto-rollbacks (100ms to 30s). Defaults to 5s.
	SchedulerSyncInterval time.Duration
	// Retention is FAILOVER_RETENTION: the scheduler prunes the logs of
	// jobs that ended longer ago (a duration such as 2160h, or days such
	// as 90d; at least 1h). Defaults to 90 days. The decision audit is
	// never pruned.
	Retention time.Duration
	// APITokensFile is FAILOVER_API_TOKENS_FILE. Defaults to none (the API
	// then refuses every authenticated request).
	APITokensFile string

	// VCenterURL is FAILOVER_VCENTER_URL.
	VCenterURL string
	// VCenterUser is FAILOVER_VCENTER_USER.
	VCenterUser string
	// VCenterPassword is FAILOVER_VCENTER_PASSWORD (or _FILE).
	VCenterPassword string
	// VCenterInsecure is FAILOVER_VCENTER_INSECURE (skip TLS verification).
	// Defaults to false.
	VCenterInsecure bool
	// CloudStackURL is FAILOVER_CLOUDSTACK_URL.
	CloudStackURL string
	// CloudStackAPIKey is FAILOVER_CLOUDSTACK_API_KEY (or _FILE).
	CloudStackAPIKey string
	// CloudStackSecretKey is FAILOVER_CLOUDSTACK_SECRET_KEY (or _FILE).
	CloudStackSecretKey string
	// CloudStackZoneID is FAILOVER_CLOUDSTACK_ZONE_ID.
	CloudStackZoneID string
	// CloudStackTemplateID is FAILOVER_CLOUDSTACK_TEMPLATE_ID: the blank
	// template destination VMs are deployed from.
	CloudStackTemplateID string
	// ApplianceVMID is FAILOVER_APPLIANCE_VM_ID: the CloudStack VM the
	// replica volumes are attached to between failovers.
	ApplianceVMID string
	// VirtioCommand is FAILOVER_VIRTIO_COMMAND. Defaults to
	// virt-v2v-in-place.
	VirtioCommand string
	// VirtioConcurrency is FAILOVER_VIRTIO_CONCURRENCY: injections one
	// process runs at once, 1 to 64. Defaults to 2.
	VirtioConcurrency int
	// VirtioDeviceDir is FAILOVER_VIRTIO_DEVICE_DIR: where the appliance
	// sees the replicas as virtio-<serial>. Defaults to /dev/disk/by-id.
	VirtioDeviceDir string
	// VirtioDeviceWait is FAILOVER_VIRTIO_DEVICE_WAIT: how long injection
	// waits for the boot replica's device to appear. Defaults to 2m.
	VirtioDeviceWait time.Duration

	// SourceNBDURI is FAILOVER_SOURCE_NBD_URI: the template of a source
	// disk's NBD export, for registrations that do not give it
	// (failover.ReplicaRules). Defaults to empty.
	SourceNBDURI string
	// ReplicaNBDURI is FAILOVER_REPLICA_NBD_URI: the template of a
	// replica's NBD export on the appliance. Defaults to empty.
	ReplicaNBDURI string
	// ReplicaVolumeName is FAILOVER_REPLICA_VOLUME_NAME: the name of a
	// disk's replica volume on the appliance. Defaults to
	// {vm_name}-disk{disk_number}.
	ReplicaVolumeName string
	// RPOTarget is FAILOVER_RPO_TARGET: the RPO a VM should stay within
	// unless it has a target of its own (1m to 168h). Pre-flight warns
	// beyond it, and refuses a live failover unless accept_rpo. Defaults
	// to 15m.
	RPOTarget time.Duration
}

// Load reads the configuration from the environment.
func Load() (Config, error) {
	var errsList []string
	c := Config{
		DatabaseURL:          get("FAILOVER_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/failover?sslmode=disable"),
		RedisAddr:            get("FAILOVER_REDIS_ADDR", queue.DefaultRedisAddr),
		APIAddr:              get("FAILOVER_API_ADDR", "127.0.0.1:8080"),
		APITLSCert:           get("FAILOVER_API_TLS_CERT", ""),
		APITLSKey:            get("FAILOVER_API_TLS_KEY", ""),
		WorkerMetricsAddr:    get("FAILOVER_WORKER_METRICS_ADDR", "127.0.0.1:9101"),
		SchedulerMetricsAddr: get("FAILOVER_SCHEDULER_METRICS_ADDR", "127.0.0.1:9102"),
		APITokensFile:        get("FAILOVER_API_TOKENS_FILE", ""),
		VCenterURL:           get("FAILOVER_VCENTER_URL", ""),
		VCenterUser:          get("FAILOVER_VCENTER_USER", ""),
		CloudStackURL:        get("FAILOVER_CLOUDSTACK_URL", ""),
		CloudStackZoneID:     get("FAILOVER_CLOUDSTACK_ZONE_ID", ""),
		CloudStackTemplateID: get("FAILOVER_CLOUDSTACK_TEMPLATE_ID", ""),
		ApplianceVMID:        get("FAILOVER_APPLIANCE_VM_ID", ""),
		VirtioCommand:        get("FAILOVER_VIRTIO_COMMAND", virtio.DefaultCommand),
		VirtioDeviceDir:      get("FAILOVER_VIRTIO_DEVICE_DIR", virtio.DefaultDeviceDir),
		SourceNBDURI:         get("FAILOVER_SOURCE_NBD_URI", ""),
		ReplicaNBDURI:        get("FAILOVER_REPLICA_NBD_URI", ""),
		ReplicaVolumeName:    get("FAILOVER_REPLICA_VOLUME_NAME", "{vm_name}-disk{disk_number}"),
	}
	var err error
	if c.RedisPassword, err = secret("FAILOVER_REDIS_PASSWORD"); err != nil {
		errsList = append(errsList, err.Error())
	}
	if c.VCenterPassword, err = secret("FAILOVER_VCENTER_PASSWORD"); err != nil {
		errsList = append(errsList, err.Error())
	}
	if c.CloudStackAPIKey, err = secret("FAILOVER_CLOUDSTACK_API_KEY"); err != nil {
		errsList = append(errsList, err.Error())
	}
	if c.CloudStackSecretKey, err = secret("FAILOVER_CLOUDSTACK_SECRET_KEY"); err != nil {
		errsList = append(errsList, err.Error())
	}
	intVar := func(name string, def int) int {
		v, err := strconv.Atoi(get(name, strconv.Itoa(def)))
		if err != nil {
			errsList = append(errsList, fmt.Sprintf("%s: not a whole number", name))
		}
		return v
	}
	inRange := func(name string, v, lo, hi int) int {
		if v < lo || v > hi {
			errsList = append(errsList, fmt.Sprintf("%s: must be between %d and %d, not %d", name, lo, hi, v))
		}
		return v
	}
	durIn := func(name, def string, lo, hi time.Duration) time.Duration {
		d, err := time.ParseDuration(get(name, def))
		if err != nil || d < lo || d > hi {
			errsList = append(errsList, fmt.Sprintf("%s: a duration between %s and %s, not %q", name, lo, hi, get(name, def)))
		}
		return d
	}
	c.RedisDB = inRange("FAILOVER_REDIS_DB", intVar("FAILOVER_REDIS_DB", 0), 0, 1<<16)
	c.WorkerConcurrency = inRange("FAILOVER_WORKER_CONCURRENCY", intVar("FAILOVER_WORKER_CONCURRENCY", queue.DefaultConcurrency), 1, 10000)
	c.MaxBodyBytes = int64(inRange("FAILOVER_API_MAX_BODY_BYTES", intVar("FAILOVER_API_MAX_BODY_BYTES", 1<<20), 1<<10, 1<<30))
	c.VirtioConcurrency = inRange("FAILOVER_VIRTIO_CONCURRENCY", intVar("FAILOVER_VIRTIO_CONCURRENCY", virtio.DefaultConcurrency), 1, virtio.MaxConcurrency)
	c.VirtioDeviceWait = durIn("FAILOVER_VIRTIO_DEVICE_WAIT", virtio.DefaultDeviceWait.String(), time.Second, time.Hour)
	c.SchedulerSyncInterval = durIn("FAILOVER_SCHEDULER_SYNC_INTERVAL", "5s", 100*time.Millisecond, 30*time.Second)
	if c.Retention, err = parseRetention(get("FAILOVER_RETENTION", "90d")); err != nil {
		errsList = append(errsList, "FAILOVER_RETENTION: "+err.Error())
	}
	c.WorkerHeartbeat = durIn("FAILOVER_WORKER_HEARTBEAT", queue.DefaultHeartbeat.String(), 100*time.Millisecond, 5*time.Minute)
	c.RPOTarget = durIn("FAILOVER_RPO_TARGET", store.DefaultRPOTarget.String(), store.MinRPOTarget, store.MaxRPOTarget)
	c.ShutdownTimeout = durIn("FAILOVER_SHUTDOWN_TIMEOUT", queue.DefaultShutdownTimeout.String(), time.Second, time.Hour)
	if c.VCenterInsecure, err = strconv.ParseBool(get("FAILOVER_VCENTER_INSECURE", "false")); err != nil {
		errsList = append(errsList, "FAILOVER_VCENTER_INSECURE: not true or false")
	}
	if err := checkTLS(c.APITLSCert, c.APITLSKey); err != nil {
		errsList = append(errsList, err.Error())
	}
	if err := c.LogLevel.UnmarshalText([]byte(get("FAILOVER_LOG_LEVEL", "info"))); err != nil {
		errsList = append(errsList, "FAILOVER_LOG_LEVEL: not debug, info, warn or error")
	}
	if len(errsList) > 0 {
		return c, fmt.Errorf("configuration: %s", strings.Join(errsList, "; "))
	}
	return c, nil
}

func get(name, def string) string {
	if v, ok := os.LookupEnv(name); ok {
		return v
	}
	return def
}

// secret reads NAME, or the file named by NAME_FILE (trailing newline
// trimmed).
func secret(name string) (string, error) {
	if v := os.Getenv(name); v != "" {
		return v, nil
	}
	path := os.Getenv(name + "_FILE")
	if path == "" {
		return "", nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("%s_FILE: %w", name, err)
	}
	return strings.TrimRight(string(b), "\r\n"), nil
}

// checkTLS refuses one of FAILOVER_API_TLS_CERT and _KEY without the
// other, and a pair that cannot be read or does not make a key pair.
func checkTLS(cert, key string) error {
	switch {
	case cert == "" && key == "":
		return nil
	case key == "":
		return fmt.Errorf("FAILOVER_API_TLS_CERT is set without FAILOVER_API_TLS_KEY: set both (HTTPS) or neither (plain HTTP)")
	case cert == "":
		return fmt.Errorf("FAILOVER_API_TLS_KEY is set without FAILOVER_API_TLS_CERT: set both (HTTPS) or neither (plain HTTP)")
	}
	if _, err := tls.LoadX509KeyPair(cert, key); err != nil {
		return fmt.Errorf("FAILOVER_API_TLS_CERT and FAILOVER_API_TLS_KEY: %s and %s: %w", cert, key, err)
	}
	return nil
}

// Logger returns the process's JSON logger at the configured level.
func (c Config) Logger(process string) *slog.Logger {
	return slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: c.LogLevel})).With("process", process)
}

// parseRetention reads a retention: a Go duration (2160h) or days (90d),
// at least an hour.
func parseRetention(v string) (time.Duration, error) {
	var d time.Duration
	if days, ok := strings.CutSuffix(v, "d"); ok {
		n, err := strconv.Atoi(days)
		if err != nil {
			return 0, fmt.Errorf("not a duration such as 90d or 2160h: %q", v)
		}
		d = time.Duration(n) * 24 * time.Hour
	} else {
		var err error
		if d, err = time.ParseDuration(v); err != nil {
			return 0, fmt.Errorf("not a duration such as 90d or 2160h: %q", v)
		}
	}
	if d < time.Hour {
		return 0, fmt.Errorf("at least 1h, not %q", v)
	}
	return d, nil
}
