// Package testsvc gives tests real, isolated services: a Postgres schema of
// their own in the shared test database, and a private redis-server
// process on a free loopback port. Tests using them can run in parallel and
// again and again without seeing each other's data.
package testsvc

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
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/redis/go-redis/v9"
)

// DefaultDatabaseURL is the database test schemas are made in, unless
// FAILOVER_TEST_DATABASE_URL names another.
const DefaultDatabaseURL = "postgres://postgres@127.0.0.1:5432/failover_test?sslmode=disable"

func randomSuffix() string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// PostgresURL returns a database URL whose search_path is a new, empty
// schema of this test's own; the schema is dropped when the test ends.
// The product's store creates the database and applies its migrations
// into that schema when it opens the URL.
func PostgresURL(t testing.TB) string {
	t.Helper()
	base := os.Getenv("FAILOVER_TEST_DATABASE_URL")
	if base == "" {
		base = DefaultDatabaseURL
	}
	schema := "t_" + randomSuffix()
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("parsing test database url: %v", err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	dsn := u.String()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, base)
		if err != nil {
			return
		}
		defer conn.Close(ctx)
		_, _ = conn.Exec(ctx, "DROP SCHEMA IF EXISTS "+pgx.Identifier{schema}.Sanitize()+" CASCADE")
	})
	return dsn
}

// Redis is a private redis-server process.
type Redis struct {
	// Addr is host:port on loopback.
	Addr string
	// Dir holds its data (AOF when persistence is on).
	Dir  string
	args []string
	cmd  *exec.Cmd
}

// RedisOptions configures a private Redis.
type RedisOptions struct {
	// AppendOnly turns on AOF persistence (fsync every write), so the
	// server can be restarted without losing queued tasks.
	AppendOnly bool
}

// StartRedis starts a private redis-server for the test and stops it when
// the test ends.
func StartRedis(t testing.TB, opts RedisOptions) *Redis {
	t.Helper()
	dir := t.TempDir()
	port := FreePort(t)
	r := &Redis{Addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), Dir: dir}
	r.args = []string{"--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--dir", dir,
		"--save", "", "--daemonize", "no", "--logfile", filepath.Join(dir, "redis.log")}
	if opts.AppendOnly {
		r.args = append(r.args, "--appendonly", "yes", "--appendfsync", "always")
	} else {
		r.args = append(r.args, "--appendonly", "no")
	}
	if err := r.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Stop() })
	return r
}

// Start starts the server (again) and waits until it answers PING.
func (r *Redis) Start() error {
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		return fmt.Errorf("redis-server is not installed (apt-get install redis-server): %w", err)
	}
	r.cmd = exec.Command(bin, r.args...)
	if err := r.cmd.Start(); err != nil {
		return fmt.Errorf("starting redis-server: %w", err)
	}
	c := redis.NewClient(&redis.Options{Addr: r.Addr})
	defer c.Close()
	deadline := time.Now().Add(10 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		err := c.Ping(ctx).Err()
		cancel()
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			r.Stop()
			return fmt.Errorf("redis-server on %s did not answer: %w", r.Addr, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Stop kills the server and waits for it.
func (r *Redis) Stop() {
	if r.cmd == nil || r.cmd.Process == nil {
		return
	}
	_ = r.cmd.Process.Kill()
	_ = r.cmd.Wait()
	r.cmd = nil
}

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func FreePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("finding a free port: %v", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
