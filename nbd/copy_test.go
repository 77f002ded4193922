package nbd_test

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/ossea/unifiedfailover/nbd"
	"github.com/ossea/unifiedfailover/sim/nbdkit"
)

// copyAsync copies size bytes from src to dst with depth requests of up to
// chunk bytes in flight. It does not flush dst. Each buffer goes round a read
// on src and a write on dst; the loop waits on the oldest request, on the
// handle that carries it.
func copyAsync(ctx context.Context, src, dst *nbd.Handle, size int64, chunk, depth int) error {
	type slot struct {
		buf     *nbd.Buffer
		off     int64
		n       int
		h       *nbd.Handle
		cookie  nbd.Cookie
		writing bool
	}
	var idle, fifo []*slot
	for range depth {
		b, err := nbd.NewBuffer(chunk)
		if err != nil {
			return err
		}
		s := &slot{buf: b}
		idle = append(idle, s)
		// Deferred in order: handles are closed by the caller after, so a
		// failed copy may leave buffers in flight; Free then refuses.
		defer func() { _ = s.buf.Free() }()
	}
	var next int64
	for {
		for len(idle) > 0 && next < size {
			s := idle[len(idle)-1]
			idle = idle[:len(idle)-1]
			s.off, s.n, s.h, s.writing = next, int(min(int64(chunk), size-next)), src, false
			c, err := src.AioPread(s.buf, s.n, s.off)
			if err != nil {
				return err
			}
			s.cookie = c
			fifo = append(fifo, s)
			next += int64(s.n)
		}
		if len(fifo) == 0 {
			break
		}
		s := fifo[0]
		done, err := s.h.AioCommandCompleted(s.cookie)
		if err != nil {
			return err
		}
		if !done {
			if err := ctx.Err(); err != nil {
				return err
			}
			if err := s.h.Poll(100 * time.Millisecond); err != nil {
				return err
			}
			continue
		}
		fifo = fifo[1:]
		if s.writing {
			idle = append(idle, s)
			continue
		}
		c, err := dst.AioPwrite(s.buf, s.n, s.off)
		if err != nil {
			return err
		}
		s.h, s.cookie, s.writing = dst, c, true
		fifo = append(fifo, s)
	}
	return nil
}

// fillSource writes size bytes of pseudo-random data, every 4 KiB stamped
// with its offset so that a misplaced chunk cannot go unnoticed.
func fillSource(t testing.TB, path string, size int64) {
	t.Helper()
	f, err := os.Create(path)
	must(t, err)
	defer f.Close()
	base := make([]byte, 1<<20)
	r := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < len(base); i += 8 {
		binary.LittleEndian.PutUint64(base[i:], r.Uint64())
	}
	block := make([]byte, len(base))
	for off := int64(0); off < size; off += int64(len(block)) {
		copy(block, base)
		for i := 0; i < len(block); i += 4096 {
			binary.LittleEndian.PutUint64(block[i:], uint64(off)+uint64(i))
		}
		_, err := f.Write(block[:min(int64(len(block)), size-off)])
		must(t, err)
	}
	must(t, f.Close())
}

// sha256File is the hex SHA-256 of a file.
func sha256File(t testing.TB, path string) string {
	t.Helper()
	f, err := os.Open(path)
	must(t, err)
	defer f.Close()
	h := sha256.New()
	_, err = io.Copy(h, f)
	must(t, err)
	return fmt.Sprintf("%x", h.Sum(nil))
}

// copyPair starts a source export filled with data and an empty
// destination export of the same size.
func copyPair(t testing.TB, size int64) (src, dst *nbdkit.Export) {
	t.Helper()
	dir := t.TempDir()
	srcPath := filepath.Join(dir, "src.img")
	fillSource(t, srcPath, size)
	for _, p := range []struct {
		x    **nbdkit.Export
		path string
	}{{&src, srcPath}, {&dst, filepath.Join(dir, "dst.img")}} {
		x, err := nbdkit.Start(t.Context(), nbdkit.Config{Path: p.path, Size: size, Dir: dir})
		must(t, err)
		t.Cleanup(func() { x.Close() })
		*p.x = x
	}
	return src, dst
}

func TestAsyncCopy256MiB(t *testing.T) {
	t.Parallel()
	const size = 256 << 20
	srcX, dstX := copyPair(t, size)
	src, dst := connect(t, srcX), connect(t, dstX)
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	start := time.Now()
	must(t, copyAsync(ctx, src, dst, size, 256<<10, 8))
	d := time.Since(start)
	must(t, dst.Flush())
	t.Logf("copied 256 MiB in %v (%.0f MB/s, race detector %v), flushed in %v", d, size/d.Seconds()/1e6, raceEnabled, time.Since(start)-d)
	if src.InFlight() != 0 || dst.InFlight() != 0 {
		t.Fatalf("requests left in flight: %d, %d", src.InFlight(), dst.InFlight())
	}
	must(t, dst.Close())
	if a, b := sha256File(t, srcX.Path), sha256File(t, dstX.Path); a != b {
		t.Fatalf("sha256 of source %s, of copy %s", a, b)
	}
}

func BenchmarkCopy(b *testing.B) {
	const size = 64 << 20
	srcX, dstX := copyPair(b, size)
	src, dst := connect(b, srcX), connect(b, dstX)
	b.SetBytes(size)
	for b.Loop() {
		if err := copyAsync(b.Context(), src, dst, size, 256<<10, 4); err != nil {
			b.Fatal(err)
		}
	}
}
