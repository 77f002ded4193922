package blocksync_test

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ossea/unifiedfailover/blocksync"
	"github.com/ossea/unifiedfailover/errs"
)

func TestUnreachableURI(t *testing.T) {
	t.Parallel()
	f := setup(t)
	d := f.export(make([]byte, 1<<20))
	gone := "nbd+unix:///?socket=" + filepath.Join(f.dir, "nobody.sock")
	for _, disk := range []blocksync.Disk{
		{Name: "src gone", SourceURI: gone, TargetURI: d.URI},
		{Name: "dst gone", SourceURI: d.URI, TargetURI: gone},
	} {
		ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
		_, err := blocksync.Copy(ctx, blocksync.Config{}, []blocksync.Disk{disk}, nil)
		cancel()
		if err == nil || !errs.IsTransient(err) || !strings.Contains(err.Error(), disk.Name) {
			t.Fatalf("%s: Copy = %v; want a transient error naming the disk", disk.Name, err)
		}
	}
}

func TestBadExtentsAreRefused(t *testing.T) {
	t.Parallel()
	f := setup(t)
	const size = 1 << 20
	dst := f.random(size)
	s, d := f.export(f.random(size)), f.export(dst)
	big := f.export(make([]byte, 2*size))
	for _, tc := range []struct {
		name string
		disk blocksync.Disk
		want string
	}{
		{"past the end", blocksync.Disk{Name: "d", SourceURI: s.URI, TargetURI: d.URI,
			Extents: []blocksync.Extent{{Offset: 0, Length: 10}, {Offset: size - 10, Length: 11}}}, "past the end"},
		{"negative", blocksync.Disk{Name: "d", SourceURI: s.URI, TargetURI: d.URI,
			Extents: []blocksync.Extent{{Offset: -1, Length: 10}}}, "negative"},
		{"past the end of the target", blocksync.Disk{Name: "d", SourceURI: big.URI, TargetURI: d.URI,
			Extents: []blocksync.Extent{{Offset: size, Length: 1}}}, "past the end"},
		{"target smaller", blocksync.Disk{Name: "d", SourceURI: big.URI, TargetURI: d.URI}, "smaller than source"},
		{"no URI", blocksync.Disk{Name: "d", SourceURI: s.URI}, "URIs are required"},
	} {
		_, err := blocksync.Copy(t.Context(), blocksync.Config{}, []blocksync.Disk{tc.disk}, nil)
		if !errs.Is(err, errs.InvalidArgument) || !strings.Contains(err.Error(), tc.want) {
			t.Fatalf("%s: Copy = %v; want InvalidArgument saying %q", tc.name, err, tc.want)
		}
	}
	f.sameAs(d.Path, dst) // nothing was written
	if _, err := blocksync.Copy(t.Context(), blocksync.Config{RequestSize: 100}, nil, nil); !errs.Is(err, errs.InvalidArgument) {
		t.Fatalf("bad config: %v", err)
	}
}

func TestReadErrorNamesDiskAndOffset(t *testing.T) {
	t.Parallel()
	f := setup(t)
	const size = 4 << 20
	s, _ := f.exportWith(f.random(size), []string{"--filter=error"}, "error-pread=EIO", "error-pread-rate=100%")
	d := f.export(make([]byte, size))
	_, err := blocksync.Copy(t.Context(), blocksync.Config{},
		[]blocksync.Disk{{Name: "boot", SourceURI: s.URI, TargetURI: d.URI, Extents: []blocksync.Extent{{Offset: 3 << 20, Length: 4096}}}}, nil)
	if err == nil || !errors.Is(err, syscall.EIO) || !strings.Contains(err.Error(), `disk "boot": read 4096 bytes at offset 3145728`) {
		t.Fatalf("Copy = %v; want EIO naming the disk and offset", err)
	}
}
