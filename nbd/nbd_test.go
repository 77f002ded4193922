package nbd_test

import (
	"bytes"
	"context"
	"errors"
	"net"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/ossea/unifiedfailover/errs"
	"github.com/ossea/unifiedfailover/nbd"
	"github.com/ossea/unifiedfailover/sim/nbdkit"
)

// export starts a file-backed nbdkit export for a test.
func export(t testing.TB, size int64) *nbdkit.Export {
	t.Helper()
	dir := t.TempDir()
	x, err := nbdkit.Start(t.Context(), nbdkit.Config{Path: filepath.Join(dir, "disk.img"), Size: size, Dir: dir})
	if err != nil {
		t.Fatalf("start nbdkit: %v", err)
	}
	t.Cleanup(func() { x.Close() })
	return x
}

// connect connects to x for a test and closes the handle at the end.
func connect(t testing.TB, x *nbdkit.Export) *nbd.Handle {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	h, err := nbd.Connect(ctx, x.URI)
	if err != nil {
		t.Fatalf("connect: %v\nnbdkit output: %s", err, x.Output())
	}
	t.Cleanup(func() {
		if err := h.Close(); err != nil {
			t.Errorf("close handle: %v", err)
		}
	})
	return h
}

// pattern is n bytes that differ with the offset and the seed.
func pattern(n int, seed byte) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*31+i>>8) ^ seed
	}
	return b
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func TestWriteOnOneConnectionReadOnAnother(t *testing.T) {
	t.Parallel()
	x := export(t, 16<<20)
	w, r := connect(t, x), connect(t, x)
	if n, err := w.Size(); err != nil || n != 16<<20 {
		t.Fatalf("Size = %d, %v", n, err)
	}
	want := pattern(3<<20+123, 7)
	must(t, w.Pwrite(want, 5<<20+1))
	must(t, w.Flush())
	got := make([]byte, len(want))
	must(t, r.Pread(got, 5<<20+1))
	if !bytes.Equal(got, want) {
		t.Fatal("read back through another connection differs")
	}
	// Requests larger than libnbd's 64 MiB limit are split.
	big := export(t, 80<<20)
	bw, br := connect(t, big), connect(t, big)
	want = pattern(80<<20, 3)
	must(t, bw.Pwrite(want, 0))
	must(t, bw.Flush())
	got = make([]byte, len(want))
	must(t, br.Pread(got, 0))
	if !bytes.Equal(got, want) {
		t.Fatal("80 MiB read back differs")
	}
	if ok, err := w.CanMultiConn(); err != nil {
		t.Fatal(err)
	} else {
		t.Logf("file export multi-conn: %v", ok)
	}
}

func TestZeroAndFlush(t *testing.T) {
	t.Parallel()
	x := export(t, 4<<20)
	h := connect(t, x)
	if ok, err := h.CanZero(); err != nil || !ok {
		t.Fatalf("CanZero = %v, %v", ok, err)
	}
	data := pattern(4<<20, 1)
	must(t, h.Pwrite(data, 0))
	must(t, h.Zero(1<<20+5, 1<<20))
	must(t, h.Flush())
	// Asynchronous zero and flush.
	c, err := h.AioZero(3<<20, 4096)
	must(t, err)
	must(t, h.Await(t.Context(), c))
	c, err = h.AioFlush()
	must(t, err)
	must(t, h.Await(t.Context(), c))

	copy(data[1<<20+5:2<<20+5], make([]byte, 1<<20))
	copy(data[3<<20:3<<20+4096], make([]byte, 4096))
	got := make([]byte, 4<<20)
	must(t, connect(t, x).Pread(got, 0))
	if !bytes.Equal(got, data) {
		t.Fatal("contents after zero differ")
	}
}

func TestAsyncRequestsAndPeek(t *testing.T) {
	t.Parallel()
	x := export(t, 4<<20)
	h := connect(t, x)
	must(t, h.Pwrite(pattern(4<<20, 9), 0))
	const n = 8
	bufs := make([]*nbd.Buffer, n)
	pending := map[nbd.Cookie]int{}
	for i := range bufs {
		b, err := nbd.NewBuffer(128 << 10)
		must(t, err)
		bufs[i] = b
		c, err := h.AioPread(b, 128<<10, int64(i)*(512<<10))
		must(t, err)
		pending[c] = i
	}
	if err := bufs[0].Free(); err == nil {
		t.Fatal("Free of a buffer in flight: no error")
	}
	for len(pending) > 0 {
		c, err := h.AioPeekCommandCompleted()
		must(t, err)
		if c == 0 {
			must(t, h.Poll(time.Second))
			continue
		}
		done, err := h.AioCommandCompleted(c)
		if err != nil || !done {
			t.Fatalf("retire %d: %v %v", c, done, err)
		}
		if _, ok := pending[c]; !ok {
			t.Fatalf("unknown cookie %d", c)
		}
		delete(pending, c)
	}
	if h.InFlight() != 0 {
		t.Fatalf("InFlight = %d", h.InFlight())
	}
	want := pattern(4<<20, 9)
	for i, b := range bufs {
		off := i * (512 << 10)
		if !bytes.Equal(b.Bytes(), want[off:off+128<<10]) {
			t.Fatalf("buffer %d differs", i)
		}
		must(t, b.Free())
		must(t, b.Free()) // idempotent
		if b.Bytes() != nil {
			t.Fatal("Bytes after Free not nil")
		}
	}
	// Closing with a request in flight releases its buffer.
	b, err := nbd.NewBuffer(4096)
	must(t, err)
	h2, err := nbd.Connect(t.Context(), x.URI)
	must(t, err)
	_, err = h2.AioPwrite(b, 4096, 0)
	must(t, err)
	h2.Close()
	must(t, b.Free())
	if _, err := h.AioPread(b, 4096, 0); err == nil {
		t.Fatal("AioPread into a freed buffer: no error")
	}
}

func TestConnectToMissingSocket(t *testing.T) {
	t.Parallel()
	sock := filepath.Join(t.TempDir(), "nothing.sock")
	_, err := nbd.Connect(t.Context(), "nbd+unix:///?socket="+sock)
	var ne *nbd.Error
	if !errors.As(err, &ne) {
		t.Fatalf("err = %v (%T), want an *nbd.Error in the chain", err, err)
	}
	if ne.Msg == "" || ne.Errno != syscall.ENOENT {
		t.Fatalf("Error = %+v, want a message and ENOENT", ne)
	}
	if !errs.IsTransient(err) {
		t.Fatalf("connection failure not transient: %v", err)
	}
	t.Logf("missing socket: %v", err)
}

func TestConnectHonoursContext(t *testing.T) {
	t.Parallel()
	// A server that accepts connections and never says a word.
	sock := filepath.Join(t.TempDir(), "mute.sock")
	l, err := net.Listen("unix", sock)
	must(t, err)
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err = nbd.Connect(ctx, "nbd+unix:///?socket="+sock)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want DeadlineExceeded", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("Connect took %v past a 200ms deadline", d)
	}
	ctx, cancel = context.WithCancel(t.Context())
	cancel()
	if _, err := nbd.Connect(ctx, "nbd+unix:///?socket="+sock); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want Canceled", err)
	}
}

func TestReadPastEndAndUseAfterClose(t *testing.T) {
	t.Parallel()
	x := export(t, 1<<20)
	h, err := nbd.Connect(t.Context(), x.URI)
	must(t, err)
	err = h.Pread(make([]byte, 4096), 1<<20-2048)
	var ne *nbd.Error
	if !errors.As(err, &ne) {
		t.Fatalf("err = %v, want *nbd.Error", err)
	}
	if ne.Errno == 0 || ne.Msg == "" || ne.Op == "" {
		t.Fatalf("Error = %+v, want message, errno and op", ne)
	}
	if !errors.Is(err, ne.Errno) {
		t.Fatal("Error does not unwrap to its errno")
	}
	t.Logf("read past end: %v", err)
	if err := h.Pwrite(make([]byte, 1), 1<<20); err == nil {
		t.Fatal("write past end: no error")
	}
	// The handle still works after a refused request.
	must(t, h.Pread(make([]byte, 4096), 0))

	must(t, h.Close())
	must(t, h.Close())
	if err := h.Pread(make([]byte, 1), 0); !errors.Is(err, nbd.ErrClosed) {
		t.Fatalf("Pread after Close = %v", err)
	}
	if _, err := h.Size(); !errors.Is(err, nbd.ErrClosed) {
		t.Fatalf("Size after Close = %v", err)
	}
	if _, err := h.AioFlush(); !errors.Is(err, nbd.ErrClosed) {
		t.Fatalf("AioFlush after Close = %v", err)
	}
	if err := h.Poll(0); !errors.Is(err, nbd.ErrClosed) {
		t.Fatalf("Poll after Close = %v", err)
	}
}
