// Package stack runs the product's own processes (api, workers, scheduler)
// as child processes, for the demo and for end-to-end tests that need real
// processes to kill and restart.
package stack

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"time"
)

// Options configures a stack.
type Options struct {
	// BinDir holds the api, worker and scheduler binaries. Required.
	BinDir string
	// Env is the environment of every process (KEY=VALUE), on top of the
	// current one.
	Env []string
	// LogDir receives one log file per process. Defaults to a temp dir.
	LogDir string
	// Workers is how many workers to start. Defaults to 2.
	Workers int
	// Scheduler starts the scheduler too.
	Scheduler bool
}

// Stack is a running set of product processes.
type Stack struct {
	opts    Options
	APIURL  string
	mu      sync.Mutex
	api     *exec.Cmd
	sched   *exec.Cmd
	workers []*exec.Cmd
	nextID  int
}

// Start builds nothing: it starts the api (on a free loopback port), the
// workers and, when asked, the scheduler, and waits for the API to be ready.
func Start(ctx context.Context, opts Options) (*Stack, error) {
	if opts.Workers <= 0 {
		opts.Workers = 2
	}
	if opts.LogDir == "" {
		d, err := os.MkdirTemp("", "failover-stack-")
		if err != nil {
			return nil, err
		}
		opts.LogDir = d
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	s := &Stack{opts: opts, APIURL: "http://127.0.0.1:" + strconv.Itoa(port)}
	s.api, err = s.spawn("api", "api", "FAILOVER_API_ADDR=127.0.0.1:"+strconv.Itoa(port))
	if err != nil {
		return nil, err
	}
	if err := s.waitReady(ctx); err != nil {
		s.Stop()
		return nil, err
	}
	for range opts.Workers {
		if _, err := s.StartWorker(); err != nil {
			s.Stop()
			return nil, err
		}
	}
	if opts.Scheduler {
		if s.sched, err = s.spawn("scheduler", "scheduler", "FAILOVER_SCHEDULER_METRICS_ADDR=off"); err != nil {
			s.Stop()
			return nil, err
		}
	}
	return s, nil
}

// LogDir is where the processes' logs are.
func (s *Stack) LogDir() string { return s.opts.LogDir }

func (s *Stack) spawn(bin, name string, extra ...string) (*exec.Cmd, error) {
	logf, err := os.Create(filepath.Join(s.opts.LogDir, name+".log"))
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(filepath.Join(s.opts.BinDir, bin))
	cmd.Env = append(append(os.Environ(), s.opts.Env...), extra...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, fmt.Errorf("starting %s: %w", name, err)
	}
	go func() { _ = cmd.Wait(); logf.Close() }()
	return cmd, nil
}

// StartWorker starts one more worker and returns its index.
func (s *Stack) StartWorker() (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.nextID++
	cmd, err := s.spawn("worker", fmt.Sprintf("worker-%d", s.nextID), "FAILOVER_WORKER_METRICS_ADDR=off")
	if err != nil {
		return 0, err
	}
	s.workers = append(s.workers, cmd)
	return len(s.workers) - 1, nil
}

// KillWorker kills worker i with SIGKILL: no graceful shutdown.
func (s *Stack) KillWorker(i int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if i < len(s.workers) && s.workers[i] != nil && s.workers[i].Process != nil {
		_ = s.workers[i].Process.Kill()
		s.workers[i] = nil
	}
}

// Workers returns the pids of the live workers by index (0 for a killed one).
func (s *Stack) Workers() []int {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]int, len(s.workers))
	for i, w := range s.workers {
		if w != nil && w.Process != nil {
			out[i] = w.Process.Pid
		}
	}
	return out
}

func (s *Stack) waitReady(ctx context.Context) error {
	deadline := time.Now().Add(90 * time.Second)
	for time.Now().Before(deadline) {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, s.APIURL+"/readyz", nil)
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		if s.api.ProcessState != nil {
			break
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
	return fmt.Errorf("the api did not become ready; see %s", filepath.Join(s.opts.LogDir, "api.log"))
}

// Stop stops every process gracefully (SIGTERM, then SIGKILL after 30s).
func (s *Stack) Stop() {
	s.mu.Lock()
	procs := append([]*exec.Cmd{s.api, s.sched}, s.workers...)
	s.mu.Unlock()
	var wg sync.WaitGroup
	for _, p := range procs {
		if p == nil || p.Process == nil {
			continue
		}
		wg.Add(1)
		go func(p *exec.Cmd) {
			defer wg.Done()
			_ = p.Process.Signal(syscall.SIGTERM)
			for i := 0; i < 300; i++ {
				if p.Process.Signal(syscall.Signal(0)) != nil {
					return
				}
				time.Sleep(100 * time.Millisecond)
			}
			_ = p.Process.Kill()
		}(p)
	}
	wg.Wait()
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
