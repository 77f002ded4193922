package blocksync

import (
	"cmp"
	"slices"

	"github.com/ossea/unifiedfailover/errs"
)

// Extent is a byte range of a disk.
type Extent struct {
	Offset int64
	Length int64
}

// End is the offset just past the extent.
func (e Extent) End() int64 { return e.Offset + e.Length }

// Disk is one disk to copy.
type Disk struct {
	// Name names the disk in progress reports, results and errors.
	Name string
	// SourceURI and TargetURI are the NBD URIs of the source and target
	// exports.
	SourceURI, TargetURI string
	// Extents are the byte ranges to copy, in any order, possibly
	// overlapping. Nil copies the whole source; an empty, non-nil slice
	// copies nothing. Every extent must lie within the source and the
	// target.
	Extents []Extent
}

// coalesce checks extents against the export size and returns them sorted,
// with overlapping and adjacent ones merged, ones at most gap bytes apart
// merged (gap < 0: none), and empty ones dropped. It does not modify in.
func coalesce(disk string, in []Extent, size, gap int64) ([]Extent, error) {
	out := make([]Extent, 0, len(in))
	for _, e := range in {
		switch {
		case e.Offset < 0 || e.Length < 0:
			return nil, errs.New(errs.InvalidArgument,
				"blocksync: disk %q: extent at offset %d of %d bytes: negative offset or length", disk, e.Offset, e.Length)
		case e.Offset > size-e.Length:
			return nil, errs.New(errs.InvalidArgument,
				"blocksync: disk %q: extent at offset %d of %d bytes ends at %d, past the end of the disk (%d bytes, the smaller of source and target)",
				disk, e.Offset, e.Length, e.Offset+e.Length, size)
		case e.Length > 0:
			out = append(out, e)
		}
	}
	slices.SortFunc(out, func(a, b Extent) int { return cmp.Compare(a.Offset, b.Offset) })
	n := 0
	for _, e := range out {
		if n > 0 && e.Offset-out[n-1].End() <= max(gap, 0) {
			out[n-1].Length = max(out[n-1].End(), e.End()) - out[n-1].Offset
			continue
		}
		out[n] = e
		n++
	}
	return out[:n], nil
}

// cursor hands out the pieces of a list of ranges, at most size bytes
// each, in order. It is not safe for concurrent use.
type cursor struct {
	ranges []Extent
	i      int   // current range
	off    int64 // next offset within ranges[i]
}

// next returns the next piece, or false when all were handed out.
func (c *cursor) next(size int) (off int64, n int, ok bool) {
	for c.i < len(c.ranges) {
		r := c.ranges[c.i]
		if c.off < r.Length {
			off = r.Offset + c.off
			n = int(min(int64(size), r.Length-c.off))
			c.off += int64(n)
			return off, n, true
		}
		c.i, c.off = c.i+1, 0
	}
	return 0, 0, false
}

// done reports whether every piece was handed out.
func (c *cursor) done() bool {
	for c.i < len(c.ranges) && c.off >= c.ranges[c.i].Length {
		c.i, c.off = c.i+1, 0
	}
	return c.i >= len(c.ranges)
}

// total is the number of bytes in ranges.
func total(ranges []Extent) int64 {
	var t int64
	for _, r := range ranges {
		t += r.Length
	}
	return t
}
