package nbdkit

import (
	"errors"
	"fmt"
)

// errNotTracking is returned by Mark and ChangedSince without TrackWrites.
var errNotTracking = errors.New("nbdkit: export was started without TrackWrites")

// Mark returns the current position in the export's write history: the
// number of write-type requests (Write, Zero, Trim) completed so far. Marks
// never decrease. A write that returned to its client before Mark was
// called is before the mark; one still in flight is after it.
func (x *Export) Mark() (int64, error) {
	if x.log == nil {
		return 0, errNotTracking
	}
	m, err := x.log.mark()
	if err != nil {
		return 0, fmt.Errorf("nbdkit: mark write history: %w", err)
	}
	return m, nil
}

// ChangedSince returns the extents written (or zeroed, or trimmed) by
// requests completed after mark, sorted with overlapping and adjacent
// extents merged. It returns no extents when nothing was written.
func (x *Export) ChangedSince(mark int64) ([]Extent, error) {
	if x.log == nil {
		return nil, errNotTracking
	}
	ext, err := x.log.changedSince(mark)
	if err != nil {
		return nil, fmt.Errorf("nbdkit: extents changed since mark %d: %w", mark, err)
	}
	return ext, nil
}
