package blocksync_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ossea/unifiedfailover/blocksync"
	"github.com/ossea/unifiedfailover/sim/nbdkit"
)

// fixture makes exports for one test in its own temporary directory.
type fixture struct {
	t   *testing.T
	dir string
	rnd *rand.Rand
	n   int // exports made, for file names
}

// setup returns the fixture of a test.
func setup(t *testing.T) *fixture {
	t.Helper()
	return &fixture{t: t, dir: t.TempDir(), rnd: rand.New(rand.NewPCG(uint64(len(t.Name())), 42))}
}

// export is a file-backed export and its backing file.
type export struct {
	URI  string
	Path string
}

// random returns n random bytes.
func (f *fixture) random(n int64) []byte {
	b := make([]byte, (n+7)&^7)
	for i := 0; i < len(b); i += 8 {
		binary.LittleEndian.PutUint64(b[i:], f.rnd.Uint64())
	}
	return b[:n]
}

// file writes content to a new backing file and returns its path.
func (f *fixture) file(content []byte) string {
	f.t.Helper()
	f.n++
	p := filepath.Join(f.dir, fmt.Sprintf("disk%d.img", f.n))
	if err := os.WriteFile(p, content, 0o644); err != nil {
		f.t.Fatal(err)
	}
	return p
}

// export starts a file-backed nbdkit export with content.
func (f *fixture) export(content []byte) export {
	f.t.Helper()
	p := f.file(content)
	x, err := nbdkit.Start(f.t.Context(), nbdkit.Config{Path: p, Dir: f.dir})
	if err != nil {
		f.t.Fatalf("start nbdkit: %v", err)
	}
	f.t.Cleanup(func() { x.Close() })
	return export{URI: x.URI, Path: p}
}

// exportWith starts nbdkit on a file with content, with the filter
// arguments before the plugin (such as "--filter=delay") and after it
// (such as "rdelay=50ms"). It returns the export and the path of the log
// file, which the log filter writes when it is among the filters.
func (f *fixture) exportWith(content []byte, filters []string, params ...string) (export, string) {
	f.t.Helper()
	p := f.file(content)
	sub, err := os.MkdirTemp(f.dir, "nbdkit-")
	if err != nil {
		f.t.Fatal(err)
	}
	sock, pid, log := filepath.Join(sub, "s"), filepath.Join(sub, "pid"), filepath.Join(sub, "log")
	args := append([]string{"--exit-with-parent", "--foreground", "--unix", sock, "--pidfile", pid}, filters...)
	args = append(args, "file", "file="+p)
	args = append(args, params...)
	for _, fl := range filters {
		if fl == "--filter=log" {
			args = append(args, "logfile="+log)
		}
	}
	cmd := exec.Command("nbdkit", args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		f.t.Fatal(err)
	}
	f.t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		if b, err := os.ReadFile(pid); err == nil && strings.TrimSpace(string(b)) == strconv.Itoa(cmd.Process.Pid) {
			break
		}
		if time.Now().After(deadline) {
			f.t.Fatalf("nbdkit %v did not start: %s", args, out.String())
		}
	}
	u := (&url.URL{Scheme: "nbd+unix", Path: "/", RawQuery: "socket=" + url.QueryEscape(sock)}).String()
	return export{URI: u, Path: p}, log
}

// copyDisks runs Copy with a timeout and fails the test on error.
func (f *fixture) copyDisks(cfg blocksync.Config, disks ...blocksync.Disk) blocksync.Result {
	f.t.Helper()
	ctx, cancel := context.WithTimeout(f.t.Context(), 2*time.Minute)
	defer cancel()
	res, err := blocksync.Copy(ctx, cfg, disks, nil)
	if err != nil {
		f.t.Fatalf("Copy: %v", err)
	}
	return res
}

// sameAs fails the test when the file at path differs from want.
func (f *fixture) sameAs(path string, want []byte) {
	f.t.Helper()
	got, err := os.ReadFile(path)
	if err != nil {
		f.t.Fatal(err)
	}
	if a, b := sha256.Sum256(got), sha256.Sum256(want); a != b {
		i := 0
		for i < min(len(got), len(want)) && got[i] == want[i] {
			i++
		}
		f.t.Fatalf("%s: sha256 %x, want %x (%d bytes, want %d; first difference at offset %d)",
			filepath.Base(path), a[:8], b[:8], len(got), len(want), i)
	}
}

// apply returns a copy of dst with src's bytes on the extents.
func apply(dst, src []byte, ext []blocksync.Extent) []byte {
	out := bytes.Clone(dst)
	for _, e := range ext {
		copy(out[e.Offset:e.End()], src[e.Offset:e.End()])
	}
	return out
}
