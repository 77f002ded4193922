package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ossea/unifiedfailover/queue"
	"github.com/ossea/unifiedfailover/testsvc"
	"github.com/ossea/unifiedfailover/virtio"
)

// clearEnv unsets every FAILOVER_ variable the test's process has, so the
// defaults are the code's.
func clearEnv(t *testing.T) {
	t.Helper()
	for _, name := range []string{"FAILOVER_REDIS_ADDR", "FAILOVER_REDIS_DB", "FAILOVER_WORKER_CONCURRENCY", "FAILOVER_API_MAX_BODY_BYTES",
		"FAILOVER_VIRTIO_CONCURRENCY", "FAILOVER_VIRTIO_DEVICE_WAIT", "FAILOVER_VIRTIO_COMMAND", "FAILOVER_VIRTIO_DEVICE_DIR",
		"FAILOVER_SCHEDULER_SYNC_INTERVAL", "FAILOVER_SHUTDOWN_TIMEOUT", "FAILOVER_WORKER_HEARTBEAT", "FAILOVER_RETENTION", "FAILOVER_LOG_LEVEL",
		"FAILOVER_SOURCE_NBD_URI", "FAILOVER_REPLICA_NBD_URI", "FAILOVER_REPLICA_VOLUME_NAME",
		"FAILOVER_API_TLS_CERT", "FAILOVER_API_TLS_KEY", "FAILOVER_RPO_TARGET"} {
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
		c.Retention != 90*24*time.Hour || c.MaxBodyBytes != 1<<20 || c.APITLSCert != "" || c.APITLSKey != "" ||
		c.SourceNBDURI != "" || c.ReplicaNBDURI != "" || c.ReplicaVolumeName != "{vm_name}-disk{disk_number}" ||
		c.WorkerHeartbeat != 10*time.Second || c.RPOTarget != 15*time.Minute {
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
		{"FAILOVER_WORKER_HEARTBEAT", "10ms"},
		{"FAILOVER_WORKER_HEARTBEAT", "1h"},
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
	t.Setenv("FAILOVER_SOURCE_NBD_URI", "nbd://gw:10809/{vm_uuid}-{disk_key}")
	t.Setenv("FAILOVER_REPLICA_NBD_URI", "nbd://appliance:10809/{volume_id}")
	t.Setenv("FAILOVER_REPLICA_VOLUME_NAME", "{vm_uuid}-{disk_key}")
	t.Setenv("FAILOVER_WORKER_HEARTBEAT", "2s")
	t.Setenv("FAILOVER_RPO_TARGET", "1h30m")
	c, err := Load()
	if err != nil || c.WorkerConcurrency != 7 || c.WorkerHeartbeat != 2*time.Second || c.Retention != 30*24*time.Hour || c.SchedulerSyncInterval != 250*time.Millisecond ||
		c.SourceNBDURI != "nbd://gw:10809/{vm_uuid}-{disk_key}" || c.ReplicaNBDURI != "nbd://appliance:10809/{volume_id}" ||
		c.ReplicaVolumeName != "{vm_uuid}-{disk_key}" || c.RPOTarget != 90*time.Minute {
		t.Fatalf("%+v %v", c, err)
	}
}

func TestLoadTLSBothOrNeither(t *testing.T) {
	cert, key, _ := testsvc.SelfSignedCert(t)
	otherCert, _, _ := testsvc.SelfSignedCert(t)
	for _, c := range []struct {
		name, cert, key string
		want            string // in the error; "" for none
	}{
		{"cert without key", cert, "", "FAILOVER_API_TLS_CERT is set without FAILOVER_API_TLS_KEY"},
		{"key without cert", "", key, "FAILOVER_API_TLS_KEY is set without FAILOVER_API_TLS_CERT"},
		{"unreadable cert", filepath.Join(t.TempDir(), "missing.crt"), key, "missing.crt"},
		{"key of another cert", otherCert, key, "private key does not match public key"},
		{"both", cert, key, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			clearEnv(t)
			t.Setenv("FAILOVER_API_TLS_CERT", c.cert)
			t.Setenv("FAILOVER_API_TLS_KEY", c.key)
			got, err := Load()
			if c.want == "" {
				if err != nil || got.APITLSCert != cert || got.APITLSKey != key {
					t.Fatalf("Load: %v, TLS %q %q", err, got.APITLSCert, got.APITLSKey)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("Load: %v, want an error saying %q", err, c.want)
			}
		})
	}
}
