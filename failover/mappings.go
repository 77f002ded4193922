package failover

import (
	"context"

	"github.com/ossea/unifiedfailover/cloudstack"
	"github.com/ossea/unifiedfailover/errs"
	"github.com/ossea/unifiedfailover/store"
)

// SaveMappings saves network mappings of the VM vm (a name or a context
// id), with the decision d, in one transaction; replace deletes the VM's
// other mappings. Each destination network must exist in CloudStack (a
// missing destination name is filled in from it). field(i) prefixes the
// i-th mapping's field names in errors ("mappings[i]." or "").
func (e *Engine) SaveMappings(ctx context.Context, vm string, replace bool, ms []store.NetworkMapping, d store.Decision,
	field func(i int) string) (*store.VMContext, []store.NetworkMapping, error) {
	c, err := e.store.ResolveContext(ctx, vm)
	if err != nil {
		return nil, nil, err
	}
	if len(ms) > 0 {
		nets, err := e.cs.ListNetworks(ctx)
		if err != nil {
			return nil, nil, err
		}
		byID := map[string]cloudstack.Network{}
		for _, n := range nets {
			byID[n.ID] = n
		}
		for i := range ms {
			n, ok := byID[ms[i].DestinationNetworkID]
			if !ok {
				return nil, nil, errs.Field(field(i)+"destination_network_id", "no CloudStack network has id %q", ms[i].DestinationNetworkID)
			}
			if ms[i].DestinationNetworkName == "" {
				ms[i].DestinationNetworkName = n.Name
			}
		}
	}
	saved, err := e.store.SaveMappings(ctx, c.ContextID, replace, ms, d)
	if err != nil {
		return nil, nil, err
	}
	return c, saved, nil
}
