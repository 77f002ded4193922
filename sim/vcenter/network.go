package vcenter

import (
	"context"
	"errors"
	"fmt"

	"github.com/vmware/govmomi/find"
	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/vim25/types"
)

// defaultSwitch is the distributed switch new port groups are created on
// (the model's only one).
const defaultSwitch = "DC0_DVS"

// networkBacking returns the NIC backing for the named network, creating a
// distributed port group of that name when no network has it.
func (s *Server) networkBacking(ctx context.Context, finder *find.Finder, name string) (types.BaseVirtualDeviceBackingInfo, error) {
	s.netMu.Lock()
	defer s.netMu.Unlock()

	network, err := finder.Network(ctx, name)
	var notFound *find.NotFoundError
	switch {
	case errors.As(err, &notFound):
		if network, err = s.createPortGroup(ctx, finder, name); err != nil {
			return nil, err
		}
	case err != nil:
		return nil, fmt.Errorf("finding network %q: %w", name, err)
	}
	backing, err := network.EthernetCardBackingInfo(ctx)
	if err != nil {
		return nil, fmt.Errorf("building the backing of network %q: %w", name, err)
	}
	return backing, nil
}

func (s *Server) createPortGroup(ctx context.Context, finder *find.Finder, name string) (object.NetworkReference, error) {
	sw := s.model.Map().Any("DistributedVirtualSwitch")
	if sw == nil {
		return nil, fmt.Errorf("finding switch %s: no distributed switch", defaultSwitch)
	}
	dvs := object.NewDistributedVirtualSwitch(s.client, sw.Reference())
	task, err := dvs.AddPortgroup(ctx, []types.DVPortgroupConfigSpec{{
		Name:     name,
		Type:     string(types.DistributedVirtualPortgroupPortgroupTypeEarlyBinding),
		NumPorts: 64,
	}})
	if err == nil {
		err = task.Wait(ctx)
	}
	if err != nil {
		return nil, fmt.Errorf("creating port group %q on %s: %w", name, defaultSwitch, err)
	}
	network, err := finder.Network(ctx, name)
	if err != nil {
		return nil, fmt.Errorf("finding new port group %q: %w", name, err)
	}
	return network, nil
}
