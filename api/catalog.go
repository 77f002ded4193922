package api

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/ossea/unifiedfailover/api/apiv1"
	"github.com/ossea/unifiedfailover/errs"
	"github.com/ossea/unifiedfailover/failover"
)

func (s *Server) networkViews(r *http.Request) ([]apiv1.Network, error) {
	nets, err := s.engine.Networks(r.Context())
	if err != nil {
		return nil, err
	}
	out := make([]apiv1.Network, 0, len(nets))
	for _, n := range nets {
		out = append(out, apiv1.Network{ID: n.ID, Name: n.Name, Type: n.Type, ZoneID: n.ZoneID, CIDR: n.CIDR, State: n.State,
			ProposedTest: failover.ProposedTestNetwork(n)})
	}
	return out, nil
}

func (s *Server) availableNetworks(w http.ResponseWriter, r *http.Request) error {
	q, err := parseQuery(r, "proposed_test", "type")
	if err != nil {
		return err
	}
	onlyTest, err := q.boolean("proposed_test")
	if err != nil {
		return err
	}
	typ, err := q.enum("type", "Isolated", "L2", "Shared")
	if err != nil {
		return err
	}
	nets, err := s.networkViews(r)
	if err != nil {
		return err
	}
	out := apiv1.NetworkList{Networks: []apiv1.Network{}}
	for _, n := range nets {
		if (onlyTest && !n.ProposedTest) || (typ != "" && !strings.EqualFold(n.Type, typ)) {
			continue
		}
		out.Networks = append(out.Networks, n)
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// resolveNames checks a resolve request and returns the names it gives.
func resolveNames(req *apiv1.ResolveRequest) ([]string, error) {
	names := req.Names
	if req.Name != "" {
		if err := checkName("name", req.Name); err != nil {
			return nil, err
		}
		names = append([]string{req.Name}, names...)
	}
	if len(names) == 0 {
		return nil, errs.Field("names", "name or names is required")
	}
	if len(names) > maxBulkMappings {
		return nil, errs.Field("names", "at most %d names per request", maxBulkMappings)
	}
	for i, n := range req.Names {
		if err := checkName(fmt.Sprintf("names[%d]", i), n); err != nil {
			return nil, err
		}
	}
	return names, nil
}

func (s *Server) resolveNetworks(w http.ResponseWriter, r *http.Request) error {
	var req apiv1.ResolveRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	names, err := resolveNames(&req)
	if err != nil {
		return err
	}
	nets, err := s.networkViews(r)
	if err != nil {
		return err
	}
	out := make([]apiv1.ResolvedNetwork, 0, len(names))
	unresolved := []string{}
	for _, name := range names {
		rn := apiv1.ResolvedNetwork{Name: name, Matches: []apiv1.Network{}}
		for _, n := range nets {
			if n.Name == name {
				rn.Matches = append(rn.Matches, n)
			}
		}
		switch len(rn.Matches) {
		case 0:
			unresolved = append(unresolved, name)
		case 1:
			rn.Found, rn.ID = true, rn.Matches[0].ID
		default:
			rn.Warnings = append(rn.Warnings, "several networks have this name: choose by id")
		}
		out = append(out, rn)
	}
	writeJSON(w, http.StatusOK, apiv1.ResolvedNetworks{Networks: out, Unresolved: unresolved})
	return nil
}

func (s *Server) availableOfferings(w http.ResponseWriter, r *http.Request) error {
	q, err := parseQuery(r, "vm", "cpu_count", "memory_mb")
	if err != nil {
		return err
	}
	cpus, err := q.intIn("cpu_count", 0, 0, 1024)
	if err != nil {
		return err
	}
	mem, err := q.intIn("memory_mb", 0, 0, 16<<20)
	if err != nil {
		return err
	}
	vmName, err := q.name("vm")
	if err != nil {
		return err
	}
	oc, err := s.engine.OfferingsFor(r.Context(), vmName, cpus, mem)
	if err != nil {
		return err
	}
	cpus, mem, best := oc.CPUs, oc.MemoryMB, oc.Best
	out := apiv1.ServiceOfferingList{Offerings: make([]apiv1.ServiceOffering, 0, len(oc.Offerings))}
	for _, o := range oc.Offerings {
		out.Offerings = append(out.Offerings, apiv1.ServiceOffering{ID: o.ID, Name: o.Name, CPUCount: o.CPUs, MemoryMB: o.MemoryMB,
			Fits: o.CPUs >= cpus && o.MemoryMB >= mem, Recommended: best != nil && best.ID == o.ID && (cpus > 0 || mem > 0)})
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}
