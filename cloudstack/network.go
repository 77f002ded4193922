package cloudstack

import "context"

// Network is a CloudStack guest network.
type Network struct {
	ID     string
	Name   string
	Type   string // Isolated, L2 or Shared
	ZoneID string
	CIDR   string
	State  string
}

// ListNetworks returns the networks of the configured zone (all zones when
// none is configured).
func (c *Client) ListNetworks(ctx context.Context) ([]Network, error) {
	const what = "cloudstack: listing networks"
	api, x := c.api(ctx)
	p := api.Network.NewListNetworksParams()
	p.SetListall(true)
	if c.cfg.ZoneID != "" {
		p.SetZoneid(c.cfg.ZoneID)
	}
	r, err := api.Network.ListNetworks(p)
	if err != nil {
		return nil, c.fail(ctx, x, "listNetworks", what, err)
	}
	out := make([]Network, 0, len(r.Networks))
	for _, n := range r.Networks {
		out = append(out, Network{ID: n.Id, Name: n.Name, Type: n.Type, ZoneID: n.Zoneid, CIDR: n.Cidr, State: n.State})
	}
	return out, nil
}
