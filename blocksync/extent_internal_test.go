package blocksync

import (
	"slices"
	"testing"
)

func TestCoalesce(t *testing.T) {
	t.Parallel()
	in := []Extent{{100, 10}, {0, 10}, {10, 5}, {5, 2}, {200, 0}, {120, 10}, {300, 1}, {990, 10}}
	for _, tc := range []struct {
		gap  int64
		want []Extent
	}{
		{-1, []Extent{{0, 15}, {100, 10}, {120, 10}, {300, 1}, {990, 10}}},
		{10, []Extent{{0, 15}, {100, 30}, {300, 1}, {990, 10}}},
		{1000, []Extent{{0, 1000}}},
	} {
		got, err := coalesce("d", in, 1000, tc.gap)
		if err != nil || !slices.Equal(got, tc.want) {
			t.Fatalf("gap %d: coalesce = %v, %v; want %v", tc.gap, got, err, tc.want)
		}
	}
	if in[0] != (Extent{100, 10}) {
		t.Fatal("coalesce modified its input")
	}
	for _, bad := range []Extent{{991, 10}, {-1, 1}, {0, -1}, {1, 1<<63 - 1}} {
		if _, err := coalesce("d", []Extent{bad}, 1000, 0); err == nil {
			t.Fatalf("extent %v of a 1000-byte disk accepted", bad)
		}
	}
}

func TestCursorSplitsRanges(t *testing.T) {
	t.Parallel()
	c := cursor{ranges: []Extent{{0, 10}, {20, 0}, {50, 4}}}
	var got []Extent
	for {
		off, n, ok := c.next(4)
		if !ok {
			break
		}
		got = append(got, Extent{off, int64(n)})
	}
	want := []Extent{{0, 4}, {4, 4}, {8, 2}, {50, 4}}
	if !slices.Equal(got, want) || !c.done() {
		t.Fatalf("pieces %v, want %v", got, want)
	}
}

func TestConfigDefaultsAndValidation(t *testing.T) {
	t.Parallel()
	c := Config{}.WithDefaults()
	if err := c.validate(); err != nil || c.RequestSize != DefaultRequestSize || c.ConnectionsPerDisk != DefaultConnectionsPerDisk {
		t.Fatalf("defaults %+v: %v", c, err)
	}
	if d := DefaultConfig(); !d.ZeroDetect || !d.Flush {
		t.Fatalf("DefaultConfig %+v: want zero detection and flush on", d)
	}
	for _, bad := range []Config{
		{RequestSize: 64 << 20},
		{InFlight: -1},
		{RequestSize: 1 << 20, MaxMemory: 1 << 19},
		{Concurrency: -2},
		{ProgressEvery: -1},
	} {
		if err := bad.WithDefaults().validate(); err == nil {
			t.Fatalf("config %+v accepted", bad)
		}
	}
}
