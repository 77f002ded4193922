package nbdkit_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ossea/unifiedfailover/nbd"
	"github.com/ossea/unifiedfailover/sim/nbdkit"
)

// Environment of the helper process (see TestMain).
const (
	helperEnv  = "NBDKIT_TEST_HELPER"     // "hold" or "once"
	helperDir  = "NBDKIT_TEST_HELPER_DIR" // where the export goes
	helperDisk = 1 << 20
)

// TestMain doubles as a helper process that starts an export and either
// prints the nbdkit pid and waits to be killed ("hold", see
// TestExportDiesWithParent) or prints the outcome and exits ("once", see
// TestStartFailureReportsNbdkitOutput).
func TestMain(m *testing.M) {
	if mode := os.Getenv(helperEnv); mode != "" {
		dir := os.Getenv(helperDir)
		x, err := nbdkit.Start(context.Background(), nbdkit.Config{Path: filepath.Join(dir, "disk.img"), Size: helperDisk, Dir: dir})
		if err != nil {
			fmt.Println("error", err)
			os.Exit(0)
		}
		fmt.Println("pid", x.PID())
		if mode == "once" {
			x.Close()
			os.Exit(0)
		}
		select {}
	}
	os.Exit(m.Run())
}

// helper runs the test binary as a helper process with extra environment.
func helper(t *testing.T, mode string, env ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), append(env, helperEnv+"="+mode, helperDir+"="+t.TempDir())...)
	return cmd
}

// start starts an export for a test and closes it at the end.
func start(t *testing.T, cfg nbdkit.Config) *nbdkit.Export {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	x, err := nbdkit.Start(ctx, cfg)
	if err != nil {
		t.Fatalf("start nbdkit: %v", err)
	}
	t.Cleanup(func() {
		if err := x.Close(); err != nil {
			t.Errorf("close export: %v", err)
		}
	})
	return x
}

// connect connects to an export for a test and closes it at the end.
func connect(t *testing.T, x *nbdkit.Export) *nbd.Handle {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	h, err := nbd.Connect(ctx, x.URI)
	if err != nil {
		t.Fatalf("connect: %v\nnbdkit output: %s", err, x.Output())
	}
	t.Cleanup(func() { h.Close() })
	return h
}

// alive reports whether pid is a process that is not a zombie.
func alive(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i < 0 || i+2 >= len(s) || s[i+2] != 'Z'
}

func TestStartServesAndCloseLeavesNothing(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "disk.img")
	x, err := nbdkit.Start(t.Context(), nbdkit.Config{Path: path, Size: 3 << 20})
	if err != nil {
		t.Fatal(err)
	}
	pid := x.PID()
	if !strings.HasPrefix(x.URI, "nbd+unix:///?socket=") || x.Size != 3<<20 || x.Path != path {
		t.Fatalf("export %+v", x)
	}
	h, err := nbd.Connect(t.Context(), x.URI)
	if err != nil {
		t.Fatal(err)
	}
	if n, err := h.Size(); err != nil || n != 3<<20 {
		t.Fatalf("size = %d, %v", n, err)
	}
	if err := h.Pwrite([]byte("hello"), 4096); err != nil {
		t.Fatal(err)
	}
	if err := h.Close(); err != nil {
		t.Fatal(err)
	}
	// A client still connected does not hold Close up.
	h2, err := nbd.Connect(t.Context(), x.URI)
	if err != nil {
		t.Fatal(err)
	}
	defer h2.Close()
	began := time.Now()
	if err := x.Close(); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(began); d > 2*time.Second {
		t.Fatalf("Close with a connected client took %v", d)
	}
	if err := h2.Pread(make([]byte, 512), 0); err == nil {
		t.Fatal("read from a stopped export: no error")
	}
	if err := x.Close(); err != nil {
		t.Fatalf("second close: %v", err)
	}
	if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
		t.Fatalf("nbdkit pid %d after Close: kill 0 = %v, want ESRCH", pid, err)
	}
	if _, err := os.Stat(x.Socket); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("socket after Close: %v", err)
	}
	b, err := os.ReadFile(path)
	if err != nil || len(b) != 3<<20 || string(b[4096:4101]) != "hello" {
		t.Fatalf("backing file after Close: %d bytes, %v", len(b), err)
	}
	// The file now exists: it is reused, and its size must agree.
	if _, err := nbdkit.Start(t.Context(), nbdkit.Config{Path: path, Size: 1 << 20}); err == nil {
		t.Fatal("start with a size different from the file's: no error")
	}
	y := start(t, nbdkit.Config{Path: path})
	if y.Size != 3<<20 {
		t.Fatalf("reused file size = %d", y.Size)
	}
}

func TestStartFailureReportsNbdkitOutput(t *testing.T) {
	t.Parallel()
	// An nbdkit that fails at once, first on PATH of a helper process.
	bin := t.TempDir()
	script := "#!/bin/sh\necho 'fake nbdkit: cannot serve' >&2\nexit 1\n"
	if err := os.WriteFile(filepath.Join(bin, "nbdkit"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	out, err := helper(t, "once", "PATH="+bin+":"+os.Getenv("PATH")).Output()
	if err != nil {
		t.Fatal(err)
	}
	if s := string(out); !strings.Contains(s, "exited before serving") || !strings.Contains(s, "fake nbdkit: cannot serve") {
		t.Fatalf("helper said %q, want the exit and nbdkit's message", s)
	}
}

func TestStartHonoursContext(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err := nbdkit.Start(ctx, nbdkit.Config{Size: 1 << 20, Dir: t.TempDir()})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
}

func TestExportDiesWithParent(t *testing.T) {
	t.Parallel()
	cmd := helper(t, "hold")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		t.Fatalf("helper output: %v", err)
	}
	f := strings.Fields(line)
	if len(f) != 2 || f[0] != "pid" {
		t.Fatalf("helper said %q", line)
	}
	pid, _ := strconv.Atoi(f[1])
	if !alive(pid) {
		t.Fatalf("nbdkit %d not running under the helper", pid)
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	deadline := time.Now().Add(5 * time.Second)
	for alive(pid) {
		if time.Now().After(deadline) {
			syscall.Kill(pid, syscall.SIGKILL)
			t.Fatalf("nbdkit %d outlived its parent", pid)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestChangedSinceReportsExactlyTheWrites(t *testing.T) {
	t.Parallel()
	for _, backing := range []string{"file", "memory"} {
		t.Run(backing, func(t *testing.T) {
			t.Parallel()
			cfg := nbdkit.Config{Size: 8 << 20, TrackWrites: true, Dir: t.TempDir()}
			if backing == "file" {
				cfg.Path = filepath.Join(cfg.Dir, "disk.img")
			}
			x := start(t, cfg)
			h := connect(t, x)
			m0, err := x.Mark()
			if err != nil {
				t.Fatal(err)
			}
			buf := make([]byte, 64<<10)
			// Reads and flushes are not changes.
			if err := h.Pread(buf, 0); err != nil {
				t.Fatal(err)
			}
			must(t, h.Pwrite(buf[:4096], 1<<20))
			must(t, h.Pwrite(buf[:4096], 1<<20+4096)) // adjacent: merged
			must(t, h.Pwrite(buf[:100], 3<<20))
			must(t, h.Pwrite(buf, 3<<20+50)) // overlapping: merged
			must(t, h.Zero(6<<20, 1<<20))
			must(t, h.Flush())
			m1, err := x.Mark()
			if err != nil {
				t.Fatal(err)
			}
			if m1 <= m0 {
				t.Fatalf("marks did not increase: %d then %d", m0, m1)
			}
			want := []nbdkit.Extent{{Offset: 1 << 20, Length: 8192}, {Offset: 3 << 20, Length: 50 + 64<<10}, {Offset: 6 << 20, Length: 1 << 20}}
			got, err := x.ChangedSince(m0)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, want) {
				t.Fatalf("ChangedSince(m0) = %v, want %v", got, want)
			}
			if got, _ := x.ChangedSince(m1); len(got) != 0 {
				t.Fatalf("ChangedSince(m1) with no writes = %v", got)
			}
			// A second connection's writes count too.
			h2 := connect(t, x)
			must(t, h2.Pwrite(buf[:512], 7<<20))
			if got, _ := x.ChangedSince(m1); !slices.Equal(got, []nbdkit.Extent{{Offset: 7 << 20, Length: 512}}) {
				t.Fatalf("ChangedSince(m1) = %v", got)
			}
			m2, _ := x.Mark()
			if m2 <= m1 {
				t.Fatalf("marks did not increase: %d then %d", m1, m2)
			}
			// The zero and the second connection's write are adjacent.
			want[2].Length += 512
			if got, _ := x.ChangedSince(m0); !slices.Equal(got, want) {
				t.Fatalf("ChangedSince(m0) = %v, want %v", got, want)
			}
			if _, err := x.ChangedSince(m2 + 1); err == nil {
				t.Fatal("ChangedSince of a future mark: no error")
			}
			// The history survives Close.
			h.Close()
			h2.Close()
			must(t, x.Close())
			if got, err := x.ChangedSince(m1); err != nil || len(got) != 1 {
				t.Fatalf("after Close: %v, %v", got, err)
			}
		})
	}
}

// TestEveryReturnedWriteIsLogged checks that the log filter has written
// (and flushed) a write by the time the client gets its reply, many times
// over, and for asynchronous writes too.
func TestEveryReturnedWriteIsLogged(t *testing.T) {
	t.Parallel()
	x := start(t, nbdkit.Config{Size: 64 << 20, TrackWrites: true, Dir: t.TempDir()})
	h := connect(t, x)
	buf := make([]byte, 4096)
	for i := range 300 {
		m, err := x.Mark()
		if err != nil {
			t.Fatal(err)
		}
		off := int64(i*7919%16000) * 4096
		must(t, h.Pwrite(buf[:1+i%4096], off))
		got, err := x.ChangedSince(m)
		if err != nil {
			t.Fatal(err)
		}
		if want := []nbdkit.Extent{{Offset: off, Length: int64(1 + i%4096)}}; !slices.Equal(got, want) {
			t.Fatalf("write %d: ChangedSince = %v, want %v", i, got, want)
		}
	}
	// Asynchronous writes: once retired, all are logged.
	b, err := nbd.NewBuffer(64 << 10)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Free()
	m, _ := x.Mark()
	var cookies []nbd.Cookie
	var want []nbdkit.Extent
	for i := range 8 {
		off := int64(i) * (1 << 20)
		c, err := h.AioPwrite(b, 64<<10, off)
		if err != nil {
			t.Fatal(err)
		}
		cookies = append(cookies, c)
		want = append(want, nbdkit.Extent{Offset: off, Length: 64 << 10})
	}
	for _, c := range cookies {
		must(t, h.Await(t.Context(), c))
	}
	if got, _ := x.ChangedSince(m); !slices.Equal(got, want) {
		t.Fatalf("async: ChangedSince = %v, want %v", got, want)
	}
}

func TestParallelExportsAreIndependent(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	xs := make([]*nbdkit.Export, 2)
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i := range xs {
		wg.Go(func() {
			xs[i], errs[i] = nbdkit.Start(t.Context(), nbdkit.Config{
				Path: filepath.Join(dir, fmt.Sprintf("disk%d.img", i)), Size: 1 << 20, Dir: dir, TrackWrites: true,
			})
		})
	}
	wg.Wait()
	for i, x := range xs {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		t.Cleanup(func() { x.Close() })
	}
	if xs[0].URI == xs[1].URI || xs[0].PID() == xs[1].PID() {
		t.Fatalf("exports share a socket or process: %s %s", xs[0].URI, xs[1].URI)
	}
	for i, x := range xs {
		h := connect(t, x)
		must(t, h.Pwrite([]byte{byte('a' + i)}, int64(i)*4096))
	}
	for i, x := range xs {
		got, err := x.ChangedSince(0)
		if err != nil {
			t.Fatal(err)
		}
		if want := []nbdkit.Extent{{Offset: int64(i) * 4096, Length: 1}}; !slices.Equal(got, want) {
			t.Fatalf("export %d: ChangedSince(0) = %v, want %v", i, got, want)
		}
		b, err := os.ReadFile(x.Path)
		if err != nil {
			t.Fatal(err)
		}
		if b[i*4096] != byte('a'+i) || b[(1-i)*4096] != 0 {
			t.Fatalf("export %d wrote into the wrong file", i)
		}
	}
}

func TestMarkNeedsTracking(t *testing.T) {
	t.Parallel()
	x := start(t, nbdkit.Config{Size: 1 << 20, Dir: t.TempDir()})
	if _, err := x.Mark(); err == nil {
		t.Fatal("Mark without TrackWrites: no error")
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
