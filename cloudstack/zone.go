package cloudstack

import "context"

// Zone is a CloudStack zone.
type Zone struct {
	ID    string
	Name  string
	State string // allocation state: Enabled or Disabled
}

// ListZones returns the zones the account can see.
func (c *Client) ListZones(ctx context.Context) ([]Zone, error) {
	const what = "cloudstack: listing zones"
	api, x := c.api(ctx)
	p := api.Zone.NewListZonesParams()
	r, err := api.Zone.ListZones(p)
	if err != nil {
		return nil, c.fail(ctx, x, "listZones", what, err)
	}
	out := make([]Zone, 0, len(r.Zones))
	for _, z := range r.Zones {
		out = append(out, Zone{ID: z.Id, Name: z.Name, State: z.Allocationstate})
	}
	return out, nil
}
