package cloudstack

import "context"

// Template is a CloudStack template. SizeBytes 0 marks a blank template
// (deploying it creates no ROOT volume).
type Template struct {
	ID        string
	Name      string
	ZoneID    string
	SizeBytes int64
	Ready     bool
}

// ListTemplates returns the executable templates of the configured zone.
func (c *Client) ListTemplates(ctx context.Context) ([]Template, error) {
	const what = "cloudstack: listing templates"
	api, x := c.api(ctx)
	p := api.Template.NewListTemplatesParams("executable")
	if c.cfg.ZoneID != "" {
		p.SetZoneid(c.cfg.ZoneID)
	}
	r, err := api.Template.ListTemplates(p)
	if err != nil {
		return nil, c.fail(ctx, x, "listTemplates", what, err)
	}
	out := make([]Template, 0, len(r.Templates))
	for _, t := range r.Templates {
		out = append(out, Template{ID: t.Id, Name: t.Name, ZoneID: t.Zoneid, SizeBytes: t.Size, Ready: t.Isready})
	}
	return out, nil
}
