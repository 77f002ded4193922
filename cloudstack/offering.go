package cloudstack

import "context"

// ServiceOffering is a CloudStack compute offering. A customized offering
// (Customized) has no fixed size: the VM is deployed with its CPU count and
// memory given as details (DeploySpec.CPUs and MemoryMB).
type ServiceOffering struct {
	ID         string
	Name       string
	CPUs       int
	MemoryMB   int
	Customized bool
	// CPUSpeedMHz is the offering's CPU speed; 0 on a customized offering
	// means the deploy gives it (DeploySpec.CPUSpeedMHz).
	CPUSpeedMHz int
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
		out = append(out, ServiceOffering{ID: o.Id, Name: o.Name, CPUs: o.Cpunumber, MemoryMB: o.Memory, Customized: o.Iscustomized,
			CPUSpeedMHz: o.Cpuspeed})
	}
	return out, nil
}
