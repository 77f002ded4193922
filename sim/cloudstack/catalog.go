package cloudstack

import "strings"

// The catalog commands: zones, networks, service offerings, templates.

func (s *Sim) listZones(r request) (map[string]any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []map[string]any
	for _, z := range sortedByCreation(s, s.zones, func(z *Zone) string { return z.ID }) {
		if id := r.get("id"); id != "" && id != z.ID {
			continue
		}
		if name := r.get("name"); name != "" && !strings.EqualFold(name, z.Name) {
			continue
		}
		out = append(out, s.renderZone(z))
	}
	return listResponse("zone", out), nil
}

func (s *Sim) listNetworks(r request) (map[string]any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []map[string]any
	for _, n := range sortedByCreation(s, s.networks, func(n *Network) string { return n.ID }) {
		if id := r.get("id"); id != "" && id != n.ID {
			continue
		}
		if zid := r.get("zoneid"); zid != "" && zid != n.ZoneID {
			continue
		}
		if t := r.get("type"); t != "" && !strings.EqualFold(t, n.Type) {
			continue
		}
		out = append(out, s.renderNetwork(n))
	}
	return listResponse("network", out), nil
}

func (s *Sim) listServiceOfferings(r request) (map[string]any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []map[string]any
	for _, o := range sortedByCreation(s, s.offerings, func(o *ServiceOffering) string { return o.ID }) {
		if id := r.get("id"); id != "" && id != o.ID {
			continue
		}
		if name := r.get("name"); name != "" && name != o.Name {
			continue
		}
		out = append(out, s.renderOffering(o))
	}
	return listResponse("serviceoffering", out), nil
}

func (s *Sim) listTemplates(r request) (map[string]any, *apiError) {
	if _, aerr := r.require("templatefilter"); aerr != nil {
		return nil, aerr
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []map[string]any
	for _, t := range sortedByCreation(s, s.templates, func(t *Template) string { return t.ID }) {
		if id := r.get("id"); id != "" && id != t.ID {
			continue
		}
		if zid := r.get("zoneid"); zid != "" && zid != t.ZoneID {
			continue
		}
		if name := r.get("name"); name != "" && name != t.Name {
			continue
		}
		out = append(out, s.renderTemplate(t))
	}
	return listResponse("template", out), nil
}
