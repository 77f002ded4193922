package nbdkit

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// realLog is output of nbdkit 1.32.5's log filter (file plugin), with a
// Zero, a Trim, a failed Write and two interleaved connections added in
// the same format.
const realLog = `2026-11-26 11:10:14.214112 Ready thread_model=3
2026-11-26 11:10:17.207700 Preconnect id=1 readonly=0 ...
2026-11-26 11:10:17.207726 ...Preconnect id=1 return=0
2026-11-26 11:10:17.207884 connection=1 Connect export="" tls=0 size=0x100000 minsize=0x0 prefsize=0x0 maxsize=0x0 write=1 flush=1 rotational=0 trim=1 zero=2 fua=2 extents=1 cache=2 fast_zero=0
2026-11-26 11:10:17.208947 connection=2 Write id=1 offset=0x0 count=0x2000 fua=0 ...
2026-11-26 11:10:17.208950 connection=1 Write id=1 offset=0x10000 count=0x200 fua=0 ...
2026-11-26 11:10:17.208992 connection=2 ...Write id=1 return=0
2026-11-26 11:10:17.220530 connection=1 Read id=2 offset=0x0 count=0x2000 ...
2026-11-26 11:10:17.220552 connection=1 ...Read id=2 return=0
2026-11-26 11:10:17.220600 connection=1 ...Write id=1 return=0
2026-11-26 11:10:17.220700 connection=1 Zero id=3 offset=0x2000 count=0x1000 fua=0 may_trim=1 fast=0 ...
2026-11-26 11:10:17.220710 connection=1 ...Zero id=3 return=0
2026-11-26 11:10:17.220800 connection=1 Trim id=4 offset=0x80000 count=0x8000 fua=0 ...
2026-11-26 11:10:17.220810 connection=1 ...Trim id=4 return=0
2026-11-26 11:10:17.220900 connection=1 Write id=5 offset=0xf0000 count=0x10 fua=0 ...
2026-11-26 11:10:17.220910 connection=1 ...Write id=5 return=-1 error=EIO
2026-11-26 11:10:17.221000 connection=1 Write id=6 offset=0xa0000 count=0x10 fua=0 ...
2026-11-26 11:10:17.243636 connection=2 Disconnect transactions=1
`

func TestWriteLogParsesNbdkitFormat(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "log")
	// Write the log in two pieces, the first ending mid-line, as nbdkit
	// may be caught between two writes.
	cut := len(realLog) / 2
	if err := os.WriteFile(path, []byte(realLog[:cut]), 0o644); err != nil {
		t.Fatal(err)
	}
	w := newWriteLog(path)
	m0, err := w.mark()
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString(realLog[cut:]); err != nil {
		t.Fatal(err)
	}
	f.Close()
	m1, err := w.mark()
	if err != nil {
		t.Fatal(err)
	}
	// Five completed write-type requests; id 6 is still in flight.
	if m1 != 5 || m0 > m1 {
		t.Fatalf("marks %d then %d, want ≤5 then 5", m0, m1)
	}
	got, err := w.changedSince(0)
	if err != nil {
		t.Fatal(err)
	}
	want := []Extent{{0, 0x3000}, {0x10000, 0x200}, {0x80000, 0x8000}, {0xf0000, 0x10}}
	if !slices.Equal(got, want) {
		t.Fatalf("changedSince(0) = %v, want %v", got, want)
	}
	got, _ = w.changedSince(4)
	if want := []Extent{{0xf0000, 0x10}}; !slices.Equal(got, want) {
		t.Fatalf("changedSince(4) = %v, want %v", got, want)
	}
	if _, err := w.changedSince(6); err == nil {
		t.Fatal("changedSince past the end: no error")
	}
	// Closing counts the request that never returned.
	if err := w.close(); err != nil {
		t.Fatal(err)
	}
	got, _ = w.changedSince(5)
	if want := []Extent{{0xa0000, 0x10}}; !slices.Equal(got, want) {
		t.Fatalf("after close changedSince(5) = %v, want %v", got, want)
	}
}

func TestWriteLogRejectsGarbledWrite(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "log")
	line := "2026-11-26 11:10:17.208947 connection=2 Write id=1 offset=zz count=0x2000 fua=0 ...\n"
	if err := os.WriteFile(path, []byte(line), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := newWriteLog(path).mark(); err == nil {
		t.Fatal("garbled offset: no error")
	}
}

func TestMergeExtents(t *testing.T) {
	t.Parallel()
	in := []Extent{{100, 10}, {0, 10}, {10, 5}, {105, 20}, {50, 0}, {200, 1}, {0, 3}}
	want := []Extent{{0, 15}, {100, 25}, {200, 1}}
	if got := mergeExtents(in); !slices.Equal(got, want) {
		t.Fatalf("mergeExtents = %v, want %v", got, want)
	}
	if got := mergeExtents(nil); len(got) != 0 {
		t.Fatalf("mergeExtents(nil) = %v", got)
	}
}
