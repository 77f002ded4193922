package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/redis/go-redis/v9"

	"github.com/ossea/unifiedfailover/auth"
	"github.com/ossea/unifiedfailover/client"
	"github.com/ossea/unifiedfailover/lab"
	"github.com/ossea/unifiedfailover/stack"
	"github.com/ossea/unifiedfailover/store"
)

// labJobDuration is how long the CloudStack simulator's async jobs run:
// as short as it allows (zero would mean its 20 ms default).
const labJobDuration = time.Millisecond

// env is everything the benchmark started.
type env struct {
	dir       string
	lab       *lab.Lab
	redisAddr string
	redis     *exec.Cmd
	dbBase    string
	dbURL     string
	schema    string
	token     string
	procEnv   []string
	binDir    string
	contexts  []string // context id per lab VM, in lab order
}

func startEnv(ctx context.Context, f flags) (_ *env, err error) {
	dir, err := os.MkdirTemp("", "failover-bench-")
	if err != nil {
		return nil, err
	}
	e := &env{dir: dir, dbBase: f.dbBase, binDir: f.bin}
	defer func() {
		if err != nil {
			e.close()
		}
	}()
	if err := e.startRedis(); err != nil {
		return nil, err
	}
	if err := e.makeSchema(ctx); err != nil {
		return nil, err
	}
	vms := f.vms
	if !f.skipMemory {
		vms = max(vms, f.inflight)
	}
	fmt.Fprintf(os.Stderr, "bench: starting the lab with %d VMs\n", vms)
	if e.lab, err = lab.Start(ctx, lab.Config{VMs: vms, DiskSize: 4 << 20, JobDuration: labJobDuration}); err != nil {
		return nil, fmt.Errorf("starting the lab: %w", err)
	}
	var line string
	if e.token, line, err = auth.NewToken("bench-admin", auth.Admin); err != nil {
		return nil, err
	}
	tokens := filepath.Join(dir, "tokens")
	if err := os.WriteFile(tokens, []byte(line+"\n"), 0o600); err != nil {
		return nil, err
	}
	script := filepath.Join(dir, "virt-v2v-in-place")
	if err := os.WriteFile(script, []byte("#!/bin/sh\nexit 0\n"), 0o755); err != nil {
		return nil, err
	}
	e.procEnv = append(e.lab.Env(), "FAILOVER_API_TOKENS_FILE="+tokens, "FAILOVER_DATABASE_URL="+e.dbURL,
		"FAILOVER_REDIS_ADDR="+e.redisAddr, "FAILOVER_VIRTIO_COMMAND="+script, "FAILOVER_LOG_LEVEL=info",
		"FAILOVER_SHUTDOWN_TIMEOUT=5s")
	// Register every lab VM once, through the API.
	st, err := e.startStack(ctx, 1, nil)
	if err != nil {
		return nil, err
	}
	defer st.Stop()
	api := client.New(st.APIURL, e.token)
	for _, vm := range e.lab.Manifest().VMs {
		c, err := api.Register(ctx, vm.Register)
		if err != nil {
			return nil, fmt.Errorf("registering %s: %w", vm.Name, err)
		}
		e.contexts = append(e.contexts, c.ContextID)
	}
	return e, nil
}

// startStack starts the api and n workers with extra environment.
func (e *env) startStack(ctx context.Context, workers int, extra []string) (*stack.Stack, error) {
	logDir, err := os.MkdirTemp(e.dir, "logs-")
	if err != nil {
		return nil, err
	}
	st, err := stack.Start(ctx, stack.Options{BinDir: e.binDir, Env: append(append([]string{}, e.procEnv...), extra...),
		Workers: workers, LogDir: logDir})
	if err != nil {
		return nil, fmt.Errorf("starting the product: %w", err)
	}
	return st, nil
}

func (e *env) startRedis() error {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	e.redisAddr = net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	e.redis = exec.Command("redis-server", "--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--dir", e.dir,
		"--save", "", "--appendonly", "no", "--daemonize", "no", "--logfile", filepath.Join(e.dir, "redis.log"))
	if err := e.redis.Start(); err != nil {
		return fmt.Errorf("starting redis-server: %w", err)
	}
	c := redis.NewClient(&redis.Options{Addr: e.redisAddr})
	defer c.Close()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		err := c.Ping(ctx).Err()
		cancel()
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("redis-server on %s does not answer: %w", e.redisAddr, err)
		}
	}
}

// makeSchema names a schema of the benchmark's own; the product creates it
// and applies its migrations when it opens the URL.
func (e *env) makeSchema(ctx context.Context) error {
	b := make([]byte, 5)
	_, _ = rand.Read(b)
	e.schema = "bench_" + hex.EncodeToString(b)
	u, err := url.Parse(e.dbBase)
	if err != nil {
		return fmt.Errorf("parsing -db: %w", err)
	}
	q := u.Query()
	q.Set("search_path", e.schema)
	u.RawQuery = q.Encode()
	e.dbURL = u.String()
	// Opening the store creates the database when it is missing (a fresh
	// machine has no failover_test), then the schema and its tables.
	st, err := store.Open(ctx, e.dbURL)
	if err != nil {
		return fmt.Errorf("opening %s: %w", u.Redacted(), err)
	}
	st.Close()
	return nil
}

func (e *env) close() {
	if e.lab != nil {
		e.lab.Close()
	}
	if e.redis != nil && e.redis.Process != nil {
		_ = e.redis.Process.Kill()
		_ = e.redis.Wait()
	}
	if e.schema != "" {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if conn, err := pgx.Connect(ctx, e.dbBase); err == nil {
			_, _ = conn.Exec(ctx, "DROP SCHEMA IF EXISTS "+pgx.Identifier{e.schema}.Sanitize()+" CASCADE")
			_ = conn.Close(ctx)
		}
	}
	_ = os.RemoveAll(e.dir)
}

// conn opens a connection to the benchmark's schema.
func (e *env) conn(ctx context.Context) (*pgx.Conn, error) {
	c, err := pgx.Connect(ctx, e.dbURL)
	if err != nil {
		return nil, fmt.Errorf("connecting to the benchmark schema: %w", err)
	}
	return c, nil
}
