// Package nbdkit starts nbdkit exports for tests and the lab: a file (or
// memory) backed NBD export on a unix socket, served by an nbdkit child
// process that cannot outlive its owner, optionally tracking which extents
// clients wrote (for a simulated VMware CBT).
package nbdkit

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Timeouts of the process lifecycle.
const (
	// startTimeout bounds the wait for the socket when ctx has no deadline.
	startTimeout = 10 * time.Second
	// stopTimeout is how long Close waits after SIGTERM before SIGKILL.
	// nbdkit 1.32 usually exits at once, but was seen to ignore SIGTERM
	// now and then while a client stayed connected. SIGKILL loses nothing:
	// completed writes are in the file (page cache) and in the log.
	stopTimeout = time.Second
	// maxSocketPath is the room for a unix socket path (sun_path less NUL).
	maxSocketPath = 107
)

// Config describes an export to start.
type Config struct {
	// Path is the backing file. It is created with Size bytes if it does
	// not exist; if it exists, Size must be 0 or its size. An empty Path
	// serves Size bytes of memory instead (nbdkit's memory plugin).
	Path string
	// Size is the size of the export in bytes.
	Size int64
	// Dir is where the export's private directory (socket and log) is
	// made; the system temp dir when empty.
	Dir string
	// TrackWrites logs every request so that Mark and ChangedSince can
	// tell which extents were written. It slows requests down a little.
	TrackWrites bool
}

// Export is a running nbdkit export. Its methods are safe for concurrent
// use.
type Export struct {
	// URI is the export's NBD URI, nbd+unix:///?socket=….
	URI string
	// Path is the backing file; empty for a memory export.
	Path string
	// Size is the size of the export in bytes.
	Size int64
	// Socket is the path of the export's unix socket.
	Socket string

	dir     string
	pidFile string // written by nbdkit once it accepts connections
	cmd     *exec.Cmd
	exited  chan struct{} // closed when the process has been reaped
	output  *syncBuffer   // nbdkit's stdout and stderr
	log     *writeLog     // nil without TrackWrites

	closeOnce sync.Once
	closeErr  error
}

// Start runs nbdkit serving cfg and waits until its socket accepts
// connections. ctx bounds the start only (10 s when it has no deadline);
// the export runs until Close, or until this process dies
// (--exit-with-parent).
func Start(ctx context.Context, cfg Config) (*Export, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("nbdkit: start: %w", err)
	}
	size, err := prepareBacking(cfg)
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp(cfg.Dir, "nbdkit-")
	if err != nil {
		return nil, fmt.Errorf("nbdkit: make export directory: %w", err)
	}
	sock := filepath.Join(dir, "nbd.sock")
	if len(sock) > maxSocketPath {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("nbdkit: socket path %s is longer than %d bytes; use a shorter Dir", sock, maxSocketPath)
	}
	x := &Export{
		URI:    (&url.URL{Scheme: "nbd+unix", Path: "/", RawQuery: "socket=" + url.QueryEscape(sock)}).String(),
		Path:   cfg.Path,
		Size:   size,
		Socket: sock,
		dir:    dir,
		exited: make(chan struct{}),
		output: &syncBuffer{},
	}
	x.pidFile = filepath.Join(dir, "nbdkit.pid")
	args := []string{"--exit-with-parent", "--foreground", "--unix", sock, "--pidfile", x.pidFile}
	if cfg.TrackWrites {
		args = append(args, "--filter=log")
	}
	if cfg.Path == "" {
		args = append(args, "memory", "size="+strconv.FormatInt(size, 10))
	} else {
		args = append(args, "file", "file="+cfg.Path)
	}
	if cfg.TrackWrites {
		logPath := filepath.Join(dir, "requests.log")
		args = append(args, "logfile="+logPath)
		x.log = newWriteLog(logPath)
	}
	x.cmd = exec.Command("nbdkit", args...)
	x.cmd.Stdout = x.output
	x.cmd.Stderr = x.output
	if err := x.cmd.Start(); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("nbdkit: start %v: %w", x.cmd.Args, err)
	}
	go func() {
		_ = x.cmd.Wait() // the exit status of a stopped server says nothing useful
		close(x.exited)
	}()
	if err := x.waitReady(ctx); err != nil {
		_ = x.Close()
		return nil, err
	}
	return x, nil
}

// prepareBacking checks cfg and creates its backing file when missing; it
// returns the size of the export.
func prepareBacking(cfg Config) (int64, error) {
	if cfg.Size < 0 {
		return 0, fmt.Errorf("nbdkit: negative export size %d", cfg.Size)
	}
	if cfg.Path == "" {
		if cfg.Size == 0 {
			return 0, errors.New("nbdkit: a memory export needs a Size")
		}
		return cfg.Size, nil
	}
	st, err := os.Stat(cfg.Path)
	switch {
	case errors.Is(err, os.ErrNotExist):
		f, err := os.OpenFile(cfg.Path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o644)
		if err != nil {
			return 0, fmt.Errorf("nbdkit: create backing file: %w", err)
		}
		err = f.Truncate(cfg.Size)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return 0, fmt.Errorf("nbdkit: size backing file %s to %d bytes: %w", cfg.Path, cfg.Size, err)
		}
		return cfg.Size, nil
	case err != nil:
		return 0, fmt.Errorf("nbdkit: check backing file: %w", err)
	case !st.Mode().IsRegular():
		return 0, fmt.Errorf("nbdkit: backing file %s is not a regular file", cfg.Path)
	case cfg.Size != 0 && st.Size() != cfg.Size:
		return 0, fmt.Errorf("nbdkit: backing file %s has %d bytes, want %d", cfg.Path, st.Size(), cfg.Size)
	}
	return st.Size(), nil
}

// waitReady waits until nbdkit writes its pid file, which it does once
// the socket accepts connections, or until the process exits or ctx (or
// the default start timeout) runs out. Probing the socket with a bare
// connection instead would be logged, and nbdkit 1.32 was seen to hang on
// SIGTERM after such a probe while a later client stayed connected.
func (x *Export) waitReady(ctx context.Context) error {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, startTimeout)
		defer cancel()
	}
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	want := strconv.Itoa(x.cmd.Process.Pid)
	for {
		if b, err := os.ReadFile(x.pidFile); err == nil && strings.TrimSpace(string(b)) == want {
			return nil
		}
		select {
		case <-x.exited:
			return fmt.Errorf("nbdkit: %v exited before serving: %s", x.cmd.Args, bytes.TrimSpace(x.output.Bytes()))
		case <-ctx.Done():
			return fmt.Errorf("nbdkit: wait for %s to serve: %w", x.Socket, ctx.Err())
		case <-tick.C:
		}
	}
}

// PID is the process id of the nbdkit server.
func (x *Export) PID() int { return x.cmd.Process.Pid }

// Output is what nbdkit printed so far, for test failure messages.
func (x *Export) Output() string { return x.output.String() }

// Close stops nbdkit (SIGTERM, then SIGKILL after a second), waits for it
// to exit and removes the socket and log. The write history stays available
// to Mark and ChangedSince. Close is idempotent.
func (x *Export) Close() error {
	x.closeOnce.Do(func() {
		select {
		case <-x.exited:
		default:
			_ = x.cmd.Process.Signal(syscall.SIGTERM)
			select {
			case <-x.exited:
			case <-time.After(stopTimeout):
				_ = x.cmd.Process.Kill()
				<-x.exited
			}
		}
		var errs []error
		if x.log != nil {
			errs = append(errs, x.log.close())
		}
		if err := os.RemoveAll(x.dir); err != nil {
			errs = append(errs, fmt.Errorf("nbdkit: remove export directory: %w", err))
		}
		x.closeErr = errors.Join(errs...)
	})
	return x.closeErr
}

// syncBuffer is a bytes.Buffer safe for the process's writes and our reads.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

// Write implements io.Writer.
func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// Bytes returns a copy of the contents.
func (b *syncBuffer) Bytes() []byte {
	b.mu.Lock()
	defer b.mu.Unlock()
	return bytes.Clone(b.buf.Bytes())
}

// String returns the contents.
func (b *syncBuffer) String() string { return string(b.Bytes()) }
