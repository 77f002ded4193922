package cloudstack

import "context"

// ServiceOffering is a CloudStack compute offering.
type ServiceOffering struct {
	ID       string
	Name     string
	CPUs     int
	MemoryMB int
}

// ListServiceOfferings returns the compute offerings.
func (c *Client) ListServiceOfferings(ctx context.Context) ([]ServiceOffering, error) {
	const what = "cloudstack: listing service offerings"
	api, x := c.api(ctx)
	p := api.ServiceOffering.NewListServiceOfferingsParams()
	r, err := api.ServiceOffering.ListServiceOfferings(p)
	if err != nil {
		return nil, c.fail(ctx, x, "listServiceOfferings", what, err)
	}
	out := make([]ServiceOffering, 0, len(r.ServiceOfferings))
	for _, o := range r.ServiceOfferings {
		out = append(out, ServiceOffering{ID: o.Id, Name: o.Name, CPUs: o.Cpunumber, MemoryMB: o.Memory})
	}
	return out, nil
}
