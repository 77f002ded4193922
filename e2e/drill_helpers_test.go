package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ossea/unifiedfailover/store"
)

// scheduler is a scheduler process this test started (the stack starts at
// most one and cannot restart it; drill tests run two, and kill and
// restart them).
type scheduler struct {
	cmd  *exec.Cmd
	log  string
	done chan struct{}
}

// startScheduler starts a scheduler process against the bundle's Postgres,
// Redis and lab, syncing schedules every 2s.
func (b *bundle) startScheduler(t *testing.T, name string) *scheduler {
	t.Helper()
	dir := b.stack.LogDir()
	logPath := filepath.Join(dir, name+".log")
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(filepath.Join(binDir, "scheduler"))
	cmd.Env = append(append(os.Environ(), b.lab.Env()...), "FAILOVER_DATABASE_URL="+b.dbURL, "FAILOVER_REDIS_ADDR="+b.redis.Addr,
		"FAILOVER_LOG_LEVEL=debug", "FAILOVER_SCHEDULER_METRICS_ADDR=off", "FAILOVER_SCHEDULER_SYNC_INTERVAL=2s",
		"FAILOVER_SHUTDOWN_TIMEOUT=5s")
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		logf.Close()
		t.Fatalf("starting %s: %v", name, err)
	}
	s := &scheduler{cmd: cmd, log: logPath, done: make(chan struct{})}
	go func() { _ = cmd.Wait(); logf.Close(); close(s.done) }()
	t.Cleanup(func() { s.stop(syscall.SIGTERM) })
	return s
}

// stop signals the process and waits for it (SIGKILL after 15s).
func (s *scheduler) stop(sig syscall.Signal) {
	if s.cmd.Process == nil {
		return
	}
	_ = s.cmd.Process.Signal(sig)
	select {
	case <-s.done:
	case <-time.After(15 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.done
	}
}

func (s *scheduler) logText(t *testing.T) string {
	t.Helper()
	raw, err := os.ReadFile(s.log)
	if err != nil {
		t.Fatal(err)
	}
	return string(raw)
}

// openStore opens the bundle's database for checks the API does not
// expose (actors of jobs, job counts).
func (b *bundle) openStore(t *testing.T) *store.Store {
	t.Helper()
	st, err := store.Open(b.ctx, b.dbURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	return st
}

// waitContextStatus waits until a lab VM's context has status want.
func (b *bundle) waitContextStatus(t *testing.T, name string, want store.ContextStatus, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	var got store.ContextStatus
	for time.Now().Before(deadline) {
		if got = b.contextStatus(t, name); got == want {
			return
		}
		time.Sleep(250 * time.Millisecond)
	}
	t.Fatalf("%s: context is %s after %s, want %s", name, got, within, want)
}

func countLines(text, substr string) int {
	n := 0
	for _, l := range strings.Split(text, "\n") {
		if strings.Contains(l, substr) {
			n++
		}
	}
	return n
}
