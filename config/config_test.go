package config

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/ossea/unifiedfailover/queue"
	"github.com/ossea/unifiedfailover/virtio"
)

// clearEnv unsets every FAILOVER_ variable the test's process has, so the
// defaults are the code's.
func clearEnv(t *testing.T) {
	t.Helper()
	for _, name := range []string{"FAILOVER_REDIS_ADDR", "FAILOVER_REDIS_DB", "FAILOVER_WORKER_CONCURRENCY", "FAILOVER_API_MAX_BODY_BYTES",
		"FAILOVER_VIRTIO_CONCURRENCY", "FAILOVER_VIRTIO_DEVICE_WAIT", "FAILOVER_VIRTIO_COMMAND", "FAILOVER_VIRTIO_DEVICE_DIR",
		"FAILOVER_SCHEDULER_SYNC_INTERVAL", "FAILOVER_SHUTDOWN_TIMEOUT", "FAILOVER_RETENTION", "FAILOVER_LOG_LEVEL", "FAILOVER_RPO_TARGET"} {
		t.Setenv(name, "")
		if err := os.Unsetenv(name); err != nil {
			t.Fatal(err)
		}
	}
}

func TestLoadDefaults(t *testing.T) {
	clearEnv(t)
	c, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	if c.RedisAddr != queue.DefaultRedisAddr || c.WorkerConcurrency != queue.DefaultConcurrency ||
		c.ShutdownTimeout != queue.DefaultShutdownTimeout || c.VirtioCommand != virtio.DefaultCommand ||
		c.VirtioDeviceDir != virtio.DefaultDeviceDir || c.VirtioConcurrency != virtio.DefaultConcurrency ||
		c.VirtioDeviceWait != virtio.DefaultDeviceWait || c.SchedulerSyncInterval != 5*time.Second ||
		c.Retention != 90*24*time.Hour || c.MaxBodyBytes != 1<<20 || c.RPOTarget != 15*time.Minute {
		t.Fatalf("defaults: %+v", c)
	}
}

func TestLoadRefusesOutOfRange(t *testing.T) {
	for _, c := range []struct{ name, value string }{
		{"FAILOVER_WORKER_CONCURRENCY", "-5"},
		{"FAILOVER_WORKER_CONCURRENCY", "0"},
		{"FAILOVER_WORKER_CONCURRENCY", "many"},
		{"FAILOVER_REDIS_DB", "-1"},
		{"FAILOVER_API_MAX_BODY_BYTES", "10"},
		{"FAILOVER_VIRTIO_CONCURRENCY", "65"},
		{"FAILOVER_VIRTIO_DEVICE_WAIT", "0s"},
		{"FAILOVER_SCHEDULER_SYNC_INTERVAL", "1m"},
		{"FAILOVER_SHUTDOWN_TIMEOUT", "soon"},
		{"FAILOVER_RETENTION", "30m"},
		{"FAILOVER_RETENTION", "3w"},
		{"FAILOVER_LOG_LEVEL", "loud"},
		{"FAILOVER_RPO_TARGET", "30s"},
		{"FAILOVER_RPO_TARGET", "169h"},
		{"FAILOVER_RPO_TARGET", "15"},
	} {
		t.Run(c.name+"="+c.value, func(t *testing.T) {
			clearEnv(t)
			t.Setenv(c.name, c.value)
			_, err := Load()
			if err == nil || !strings.Contains(err.Error(), c.name) {
				t.Fatalf("Load with %s=%q: %v, want an error naming it", c.name, c.value, err)
			}
		})
	}
}

func TestLoadReadsValues(t *testing.T) {
	clearEnv(t)
	t.Setenv("FAILOVER_WORKER_CONCURRENCY", "7")
	t.Setenv("FAILOVER_RETENTION", "30d")
	t.Setenv("FAILOVER_SCHEDULER_SYNC_INTERVAL", "250ms")
	t.Setenv("FAILOVER_RPO_TARGET", "1h30m")
	c, err := Load()
	if err != nil || c.WorkerConcurrency != 7 || c.Retention != 30*24*time.Hour || c.SchedulerSyncInterval != 250*time.Millisecond ||
		c.RPOTarget != 90*time.Minute {
		t.Fatalf("%+v %v", c, err)
	}
}
