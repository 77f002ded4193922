package lab

import (
	"github.com/ossea/unifiedfailover/sim/nbdkit"
	"github.com/ossea/unifiedfailover/sim/vcenter"
)

// exportChanges makes a write-tracking nbdkit export the vCenter
// simulator's ChangeSource of a disk, so QueryChangedDiskAreas answers
// from the writes the export really received.
type exportChanges struct{ x *nbdkit.Export }

// Mark implements vcenter.ChangeSource.
func (c exportChanges) Mark() (int64, error) { return c.x.Mark() }

// ChangedSince implements vcenter.ChangeSource.
func (c exportChanges) ChangedSince(mark int64) ([]vcenter.Extent, error) {
	ext, err := c.x.ChangedSince(mark)
	if err != nil {
		return nil, err
	}
	out := make([]vcenter.Extent, len(ext))
	for i, e := range ext {
		out[i] = vcenter.Extent{Offset: e.Offset, Length: e.Length}
	}
	return out, nil
}

var _ vcenter.ChangeSource = exportChanges{}
