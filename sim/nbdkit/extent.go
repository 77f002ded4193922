package nbdkit

import (
	"cmp"
	"slices"
)

// Extent is a byte range of an export.
type Extent struct {
	Offset int64
	Length int64
}

// End is the offset just past the extent.
func (e Extent) End() int64 { return e.Offset + e.Length }

// mergeExtents returns the extents sorted by offset with overlapping and
// adjacent ones merged and empty ones dropped. It does not modify in.
func mergeExtents(in []Extent) []Extent {
	out := make([]Extent, 0, len(in))
	for _, e := range in {
		if e.Length > 0 {
			out = append(out, e)
		}
	}
	slices.SortFunc(out, func(a, b Extent) int { return cmp.Compare(a.Offset, b.Offset) })
	n := 0
	for _, e := range out {
		if n > 0 && e.Offset <= out[n-1].End() {
			if e.End() > out[n-1].End() {
				out[n-1].Length = e.End() - out[n-1].Offset
			}
			continue
		}
		out[n] = e
		n++
	}
	return out[:n]
}
