package testsvc

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// Postgres is a private PostgreSQL server (initdb + pg_ctl) in a temporary
// directory, on its own loopback port, so a test can stop and restart it.
// Started as root (as CI runs), the server runs as the postgres user,
// since initdb refuses to run as root.
type Postgres struct {
	// URL is the database URL of the server's "failover" database (the
	// product's store creates it on first open).
	URL string
	// Port is the server's TCP port on 127.0.0.1.
	Port int
	// Dir holds the cluster (Dir/data) and the server log (Dir/postgres.log).
	Dir string
	bin string
	as  string // user to run as, "" for the current user
}

// StartPostgres initialises and starts a private PostgreSQL server for the
// test; it is stopped and removed when the test ends.
func StartPostgres(t testing.TB) *Postgres {
	t.Helper()
	p, err := NewPostgres(FreePort(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Remove)
	if err := p.Start(); err != nil {
		t.Fatal(err)
	}
	return p
}

// NewPostgres initialises a cluster for a server on port, without starting
// it. Remove deletes it.
func NewPostgres(port int) (*Postgres, error) {
	bin, err := postgresBin()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "failover-pg-")
	if err != nil {
		return nil, fmt.Errorf("making a postgres directory: %w", err)
	}
	p := &Postgres{Port: port, Dir: dir, bin: bin,
		URL: fmt.Sprintf("postgres://postgres@127.0.0.1:%d/failover?sslmode=disable", port)}
	if os.Geteuid() == 0 {
		p.as = "postgres"
		u, err := user.Lookup("postgres")
		if err != nil {
			os.RemoveAll(dir)
			return nil, fmt.Errorf("running postgres as root needs a postgres user: %w", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if err := os.Chown(dir, uid, gid); err != nil {
			os.RemoveAll(dir)
			return nil, fmt.Errorf("handing %s to postgres: %w", dir, err)
		}
	}
	if out, err := p.run("initdb", "-D", p.dataDir(), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync").CombinedOutput(); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("initdb: %w: %s", err, out)
	}
	return p, nil
}

func (p *Postgres) dataDir() string { return filepath.Join(p.Dir, "data") }

// run returns the command for a PostgreSQL program, as the postgres user
// when running as root.
func (p *Postgres) run(prog string, args ...string) *exec.Cmd {
	path := filepath.Join(p.bin, prog)
	if p.as != "" {
		return exec.Command("runuser", append([]string{"-u", p.as, "--", path}, args...)...)
	}
	return exec.Command(path, args...)
}

// postgresBin finds the newest /usr/lib/postgresql/*/bin with initdb.
func postgresBin() (string, error) {
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool {
		a, _ := strconv.Atoi(filepath.Base(filepath.Dir(dirs[i])))
		b, _ := strconv.Atoi(filepath.Base(filepath.Dir(dirs[j])))
		return a > b
	})
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "initdb")); err == nil {
			return d, nil
		}
	}
	return "", fmt.Errorf("no PostgreSQL server programs in /usr/lib/postgresql/*/bin (apt-get install postgresql)")
}

// Start starts the server (again) and waits until it accepts connections.
func (p *Postgres) Start() error {
	opts := fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200", p.Port, p.Dir)
	if out, err := p.run("pg_ctl", "-D", p.dataDir(), "-l", filepath.Join(p.Dir, "postgres.log"), "-o", opts, "-w", "-t", "60", "start").CombinedOutput(); err != nil {
		return fmt.Errorf("starting postgres on port %d: %w: %s", p.Port, err, out)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		conn, err := pgx.Connect(ctx, fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", p.Port))
		if err == nil {
			_ = conn.Close(ctx)
			cancel()
			return nil
		}
		cancel()
		if time.Now().After(deadline) {
			return fmt.Errorf("postgres on port %d does not answer: %w", p.Port, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Stop stops the server at once, as a crash would (pg_ctl -m immediate:
// connections are cut, the next start recovers from the WAL).
func (p *Postgres) Stop() error {
	if out, err := p.run("pg_ctl", "-D", p.dataDir(), "-m", "immediate", "-w", "stop").CombinedOutput(); err != nil {
		return fmt.Errorf("stopping postgres on port %d: %w: %s", p.Port, err, out)
	}
	return nil
}

// Running reports whether the server accepts TCP connections.
func (p *Postgres) Running() bool {
	c, err := net.DialTimeout("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(p.Port)), time.Second)
	if err != nil {
		return false
	}
	c.Close()
	return true
}

// Remove stops the server if it runs and deletes its directory.
func (p *Postgres) Remove() {
	if p.Running() {
		_ = p.Stop()
	}
	_ = os.RemoveAll(p.Dir)
}
