package e2e

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/ossea/unifiedfailover/auth"
	"github.com/ossea/unifiedfailover/client"
	"github.com/ossea/unifiedfailover/lab"
	"github.com/ossea/unifiedfailover/testsvc"
)

// obsBundle is a bundle whose processes all serve /metrics: the api on its
// own port, one worker and the scheduler on their metrics ports (the stack
// package turns those off). It starts the processes itself.
type obsBundle struct {
	*bundle
	apiURL, workerURL, schedURL string
	logDir                      string
	admin, viewer               string // bearer tokens
}

// setupObs starts the lab, Postgres schema, Redis, and one api, one worker
// and the scheduler with metrics ports, and registers every lab VM.
func setupObs(t *testing.T, vms int) *obsBundle {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	t.Cleanup(cancel)
	l, err := lab.Start(ctx, lab.Config{VMs: vms, DiskSize: 16 << 20, JobDuration: 5 * time.Millisecond})
	if err != nil {
		t.Fatalf("starting the lab: %v", err)
	}
	t.Cleanup(l.Close)
	dir := t.TempDir()
	b := &obsBundle{bundle: &bundle{ctx: ctx, lab: l, dbURL: testsvc.PostgresURL(t),
		redis: testsvc.StartRedis(t, testsvc.RedisOptions{}), virtio: filepath.Join(dir, "virtio.log"),
		failFile: filepath.Join(dir, "virtio.fail"), contexts: map[string]string{}}, logDir: dir}
	script := filepath.Join(dir, "virt-v2v-in-place")
	if err := os.WriteFile(script, []byte(fmt.Sprintf("#!/bin/sh\necho \"$FAILOVER_VM_NAME $*\" >> %q\n", b.virtio)), 0o755); err != nil {
		t.Fatal(err)
	}
	adminTok, adminLine, err := auth.NewToken("obs-admin", auth.Admin)
	if err != nil {
		t.Fatal(err)
	}
	viewerTok, viewerLine, err := auth.NewToken("obs-viewer", auth.Viewer)
	if err != nil {
		t.Fatal(err)
	}
	b.admin, b.viewer = adminTok, viewerTok
	tokens := filepath.Join(dir, "tokens")
	if err := os.WriteFile(tokens, []byte(adminLine+"\n"+viewerLine+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	env := append(l.Env(), "FAILOVER_API_TOKENS_FILE="+tokens, "FAILOVER_DATABASE_URL="+b.dbURL,
		"FAILOVER_REDIS_ADDR="+b.redis.Addr, "FAILOVER_VIRTIO_COMMAND="+script, "FAILOVER_LOG_LEVEL=debug",
		"FAILOVER_SHUTDOWN_TIMEOUT=5s")
	addr := func() string { return "127.0.0.1:" + strconv.Itoa(testsvc.FreePort(t)) }
	apiAddr, workerAddr, schedAddr := addr(), addr(), addr()
	b.apiURL, b.workerURL, b.schedURL = "http://"+apiAddr, "http://"+workerAddr, "http://"+schedAddr
	b.spawn(t, "api", env, "FAILOVER_API_ADDR="+apiAddr)
	b.waitOK(t, b.apiURL+"/readyz", "api")
	b.spawn(t, "worker", env, "FAILOVER_WORKER_METRICS_ADDR="+workerAddr)
	b.spawn(t, "scheduler", env, "FAILOVER_SCHEDULER_METRICS_ADDR="+schedAddr)
	b.waitOK(t, b.workerURL+"/healthz", "worker")
	b.waitOK(t, b.schedURL+"/healthz", "scheduler")
	t.Cleanup(func() {
		if t.Failed() {
			dumpLogs(t, dir)
		}
	})
	b.api = client.New(b.apiURL, adminTok)
	for _, vm := range l.Manifest().VMs {
		c, err := b.api.Register(ctx, vm.Register)
		if err != nil {
			t.Fatalf("registering %s: %v", vm.Name, err)
		}
		b.contexts[vm.Name] = c.ContextID
	}
	return b
}

// spawn starts a product process logging to <logDir>/<name>.log and stops
// it gracefully when the test ends.
func (b *obsBundle) spawn(t *testing.T, name string, env []string, extra ...string) {
	t.Helper()
	cmd := exec.Command(filepath.Join(binDir, name))
	cmd.Env = append(append(os.Environ(), env...), extra...)
	startLogged(t, cmd, filepath.Join(b.logDir, name+".log"), 30*time.Second)
}

// startLogged starts cmd with its output in the file at logPath, killed
// if the test process dies; when the test ends it is sent SIGTERM, and
// killed if it has not exited within grace.
func startLogged(t *testing.T, cmd *exec.Cmd, logPath string, grace time.Duration) {
	t.Helper()
	logf, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		logf.Close()
		t.Fatalf("starting %s: %v", filepath.Base(cmd.Path), err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); logf.Close(); close(done) }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(grace):
			_ = cmd.Process.Kill()
			<-done
		}
	})
}

// waitOK waits for url to answer 200.
func (b *obsBundle) waitOK(t *testing.T, url, what string) {
	t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get(url)
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("%s did not answer 200 on %s; see %s", what, url, filepath.Join(b.logDir, what+".log"))
}

// get returns the body of a GET, failing the test on anything but 200.
func get(t *testing.T, url string) []byte {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %s", url, resp.StatusCode, body)
	}
	return body
}
