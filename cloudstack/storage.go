package cloudstack

import (
	"context"
	"fmt"

	cs "github.com/apache/cloudstack-go/v2/cloudstack"

	"github.com/ossea/unifiedfailover/errs"
)

// Primary storage pool types that matter to a rollback: on KVM, CloudStack
// reverts a volume snapshot only for QCOW2 volumes, which live on file
// pools (NFS, shared mount point, local file system).
const (
	PoolNFS              = "NetworkFilesystem"
	PoolFilesystem       = "Filesystem"
	PoolSharedMountPoint = "SharedMountPoint"
	PoolRBD              = "RBD"
	PoolCLVM             = "CLVM"
)

// StoragePool is a primary storage pool.
type StoragePool struct {
	ID   string
	Name string
	Type string
}

// RevertsSnapshots reports whether CloudStack can revert a KVM volume
// snapshot on this pool: only QCOW2 volumes, which file pools hold
// (DefaultSnapshotStrategy.canHandle(REVERT)).
func (p StoragePool) RevertsSnapshots() bool {
	switch p.Type {
	case PoolNFS, PoolFilesystem, PoolSharedMountPoint:
		return true
	}
	return false
}

// GetStoragePool returns the primary storage pool with id; errs.NotFound
// when there is none.
func (c *Client) GetStoragePool(ctx context.Context, id string) (*StoragePool, error) {
	what := fmt.Sprintf("cloudstack: getting storage pool %s", id)
	api, x := c.api(ctx)
	p := api.Pool.NewListStoragePoolsParams()
	p.SetId(id)
	r, err := api.Pool.ListStoragePools(p)
	if err != nil {
		return nil, c.fail(ctx, x, "listStoragePools", what, err)
	}
	for _, sp := range r.StoragePools {
		if sp.Id == id {
			return fromCSPool(sp), nil
		}
	}
	return nil, errs.New(errs.NotFound, "%s: no such storage pool", what)
}

func fromCSPool(sp *cs.StoragePool) *StoragePool {
	return &StoragePool{ID: sp.Id, Name: sp.Name, Type: sp.Type}
}
