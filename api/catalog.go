package api

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/ossea/unifiedfailover/errs"
	"github.com/ossea/unifiedfailover/failover"
)

// networkView is a CloudStack network as the API shows it.
type networkView struct {
	ID           string `json:"id"`
	Name         string `json:"name"`
	Type         string `json:"type"`
	ZoneID       string `json:"zone_id"`
	CIDR         string `json:"cidr,omitempty"`
	State        string `json:"state,omitempty"`
	ProposedTest bool   `json:"proposed_test"`
}

func (s *Server) networkViews(r *http.Request) ([]networkView, error) {
	nets, err := s.engine.Networks(r.Context())
	if err != nil {
		return nil, err
	}
	out := make([]networkView, 0, len(nets))
	for _, n := range nets {
		out = append(out, networkView{ID: n.ID, Name: n.Name, Type: n.Type, ZoneID: n.ZoneID, CIDR: n.CIDR, State: n.State,
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
	out := []networkView{}
	for _, n := range nets {
		if (onlyTest && !n.ProposedTest) || (typ != "" && !strings.EqualFold(n.Type, typ)) {
			continue
		}
		out = append(out, n)
	}
	writeJSON(w, http.StatusOK, map[string]any{"networks": out})
	return nil
}

// resolveRequest names CloudStack networks to find.
type resolveRequest struct {
	Name  string   `json:"name,omitempty"`
	Names []string `json:"names,omitempty"`
}

func (req *resolveRequest) check() ([]string, error) {
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

// resolvedNetwork is a name and the network(s) it names.
type resolvedNetwork struct {
	Name     string        `json:"name"`
	Found    bool          `json:"found"`
	ID       string        `json:"id,omitempty"`
	Matches  []networkView `json:"matches"`
	Warnings []string      `json:"warnings,omitempty"`
}

func (s *Server) resolveNetworks(w http.ResponseWriter, r *http.Request) error {
	var req resolveRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	names, err := req.check()
	if err != nil {
		return err
	}
	nets, err := s.networkViews(r)
	if err != nil {
		return err
	}
	out := make([]resolvedNetwork, 0, len(names))
	unresolved := []string{}
	for _, name := range names {
		rn := resolvedNetwork{Name: name, Matches: []networkView{}}
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
	writeJSON(w, http.StatusOK, map[string]any{"networks": out, "unresolved": unresolved})
	return nil
}

// offeringView is a CloudStack compute offering as the API shows it.
type offeringView struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	CPUCount    int    `json:"cpu_count"`
	MemoryMB    int    `json:"memory_mb"`
	Fits        bool   `json:"fits"`
	Recommended bool   `json:"recommended"`
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
	if vmName != "" {
		vm, err := s.store.ResolveContext(r.Context(), vmName)
		if err != nil {
			return err
		}
		cpus, mem = vm.CPUCount, vm.MemoryMB
	}
	offs, err := s.engine.ServiceOfferings(r.Context())
	if err != nil {
		return err
	}
	best := failover.PickOffering(offs, cpus, mem)
	out := make([]offeringView, 0, len(offs))
	for _, o := range offs {
		out = append(out, offeringView{ID: o.ID, Name: o.Name, CPUCount: o.CPUs, MemoryMB: o.MemoryMB,
			Fits: o.CPUs >= cpus && o.MemoryMB >= mem, Recommended: best != nil && best.ID == o.ID && (cpus > 0 || mem > 0)})
	}
	writeJSON(w, http.StatusOK, map[string]any{"service_offerings": out})
	return nil
}
