package cloudstack

import (
	"bytes"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
)

// A snapshot copy and a revert give back the source's bytes exactly, holes
// and data alike, and a revert clears data the target gained meanwhile.
func TestSparseCopyAndRevertKeepTheBytes(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	const size = 8 << 20
	src := filepath.Join(dir, "volume")
	write := func(path string, off int64, n int, seed uint64) {
		t.Helper()
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE, 0o644)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		b := make([]byte, n)
		r := rand.New(rand.NewPCG(seed, 1))
		for i := range b {
			b[i] = byte(r.Uint32())
		}
		if _, err := f.WriteAt(b, off); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(src, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(src, size); err != nil {
		t.Fatal(err)
	}
	// Data at the start, in the middle (not block-aligned) and at the end.
	write(src, 0, 5000, 1)
	write(src, 3<<20+123, 70000, 2)
	write(src, size-4096, 4096, 3)
	want, _ := os.ReadFile(src)

	snap := filepath.Join(dir, "snap")
	if err := copyFile(snap, src); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(snap); !bytes.Equal(got, want) {
		t.Fatal("the snapshot differs from the volume")
	}
	// The volume changes after the snapshot: new data in a hole, changed
	// data, and it grows.
	write(src, 1<<20, 300000, 4)
	write(src, 0, 100, 5)
	write(src, size+1<<20, 10, 6)
	if err := writeBackInPlace(src, snap); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(src); !bytes.Equal(got, want) {
		t.Fatalf("the reverted volume differs from its snapshot (size %d, want %d)", len(got), len(want))
	}
}
