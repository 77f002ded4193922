package vsphere

import (
	"context"

	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/vim25/types"

	"github.com/ossea/unifiedfailover/errs"
)

// FindByUUID returns the VM whose instance UUID is uuid, searching all
// datacenters. A VM that does not exist is an errs.NotFound error.
func (c *Client) FindByUUID(ctx context.Context, uuid string) (*object.VirtualMachine, error) {
	if uuid == "" {
		return nil, errs.New(errs.InvalidArgument, "finding VM: instance uuid is empty")
	}
	ref, err := object.NewSearchIndex(c.vim).FindByUuid(ctx, nil, uuid, true, types.NewBool(true))
	if err != nil {
		return nil, classify(err, "finding VM by instance uuid %s", uuid)
	}
	vm, ok := ref.(*object.VirtualMachine)
	if !ok || vm == nil {
		return nil, errs.New(errs.NotFound, "finding VM by instance uuid %s: no such VM", uuid)
	}
	return vm, nil
}
