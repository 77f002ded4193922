package api

import (
	"fmt"
	"net/http"

	"github.com/ossea/unifiedfailover/api/apiv1"
	"github.com/ossea/unifiedfailover/errs"
	"github.com/ossea/unifiedfailover/store"
)

// maxBulkMappings bounds a bulk mapping request.
const maxBulkMappings = 1000

func indexed(list string, i int, field string) string {
	return fmt.Sprintf("%s[%d].%s", list, i, field)
}

// checkMapping validates a mapping input's shape (and sets its mapping
// type from the legacy is_test_network); prefix names its fields ("" or
// "mappings[3].").
func checkMapping(m *apiv1.MappingInput, prefix string, needSource bool) error {
	if needSource {
		if err := checkName(prefix+"source_network_name", m.SourceNetworkName); err != nil {
			return err
		}
	}
	if err := checkName(prefix+"destination_network_id", m.DestinationNetworkID); err != nil {
		return err
	}
	if err := checkOptionalName(prefix+"destination_network_name", m.DestinationNetworkName); err != nil {
		return err
	}
	if m.MappingType == "" && m.IsTestNetwork != nil {
		m.MappingType = store.MappingLive
		if *m.IsTestNetwork {
			m.MappingType = store.MappingTest
		}
	}
	switch {
	case m.MappingType == "":
		return errs.Field(prefix+"mapping_type", "is required: live or test")
	case m.MappingType != store.MappingLive && m.MappingType != store.MappingTest:
		return errs.Field(prefix+"mapping_type", "must be live or test")
	case m.IsTestNetwork != nil && *m.IsTestNetwork != (m.MappingType == store.MappingTest):
		return errs.Field(prefix+"is_test_network", "contradicts mapping_type %s", m.MappingType)
	}
	return nil
}

func mappingOf(m apiv1.MappingInput) store.NetworkMapping {
	return store.NetworkMapping{SourceNetworkName: m.SourceNetworkName, DestinationNetworkID: m.DestinationNetworkID,
		DestinationNetworkName: m.DestinationNetworkName, MappingType: m.MappingType}
}

// checkBulk validates a bulk mapping request.
func checkBulk(b *apiv1.BulkMappings) error {
	if b.Mappings == nil {
		return errs.Field("mappings", "is required (an array; empty only to replace with nothing)")
	}
	if len(b.Mappings) > maxBulkMappings {
		return errs.Field("mappings", "at most %d mappings per request", maxBulkMappings)
	}
	seen := map[string]int{}
	for i := range b.Mappings {
		if err := checkMapping(&b.Mappings[i], fmt.Sprintf("mappings[%d].", i), true); err != nil {
			return err
		}
		key := string(b.Mappings[i].MappingType) + "\x00" + b.Mappings[i].SourceNetworkName
		if j, dup := seen[key]; dup {
			return errs.Field(fmt.Sprintf("mappings[%d]", i), "repeats the %s mapping of %q given at mappings[%d]",
				b.Mappings[i].MappingType, b.Mappings[i].SourceNetworkName, j)
		}
		seen[key] = i
	}
	return nil
}

// mappingTypeParam reads the optional mapping_type query parameter (the
// only one mapping reads and deletes take).
func mappingTypeParam(r *http.Request) (store.MappingType, error) {
	q, err := parseQuery(r, "mapping_type")
	if err != nil {
		return "", err
	}
	typ, err := q.enum("mapping_type", "live", "test")
	return store.MappingType(typ), err
}

func (s *Server) listAllMappings(w http.ResponseWriter, r *http.Request) error {
	typ, err := mappingTypeParam(r)
	if err != nil {
		return err
	}
	ms, err := s.store.ListMappings(r.Context(), "", typ)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, apiv1.Mappings{Mappings: mappingsOut(ms)})
	return nil
}

// contextMappings answers the mappings of the context named by the path
// parameter key.
func (s *Server) contextMappings(w http.ResponseWriter, r *http.Request, key string) error {
	typ, err := mappingTypeParam(r)
	if err != nil {
		return err
	}
	vm, err := s.vmParam(r, key)
	if err != nil {
		return err
	}
	ms, err := s.store.ListMappings(r.Context(), vm.ContextID, typ)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, apiv1.Mappings{ContextID: vm.ContextID, VMName: vm.VMName, Mappings: mappingsOut(ms)})
	return nil
}

func (s *Server) listVMMappings(w http.ResponseWriter, r *http.Request) error {
	return s.contextMappings(w, r, "vm")
}

func (s *Server) listContextMappings(w http.ResponseWriter, r *http.Request) error {
	return s.contextMappings(w, r, "context_id")
}

func (s *Server) getSourceMappings(w http.ResponseWriter, r *http.Request) error {
	vm, err := s.vmParam(r, "context_id")
	if err != nil {
		return err
	}
	src, err := pathName(r, "source_network")
	if err != nil {
		return err
	}
	ms, err := s.store.ListMappings(r.Context(), vm.ContextID, "")
	if err != nil {
		return err
	}
	out := []store.NetworkMapping{}
	for _, m := range ms {
		if m.SourceNetworkName == src {
			out = append(out, m)
		}
	}
	if len(out) == 0 {
		return errs.New(errs.NotFound, "context %s has no mapping for source network %q", vm.ContextID, src)
	}
	writeJSON(w, http.StatusOK, apiv1.Mappings{ContextID: vm.ContextID, VMName: vm.VMName, Mappings: mappingsOut(out)})
	return nil
}

func (s *Server) mappingStatus(w http.ResponseWriter, r *http.Request) error {
	vm, err := s.vmParam(r, "vm")
	if err != nil {
		return err
	}
	ms, err := s.store.ListMappings(r.Context(), vm.ContextID, "")
	if err != nil {
		return err
	}
	out := apiv1.MappingStatus{ContextID: vm.ContextID, VMName: vm.VMName, SourceNetworks: []apiv1.SourceNetworkStatus{},
		MissingTest: []string{}, MissingLive: []string{}, Unused: []apiv1.NetworkMapping{}}
	onVM := map[string]bool{}
	for _, n := range vm.NICs {
		if onVM[n.NetworkName] {
			continue
		}
		onVM[n.NetworkName] = true
		st := apiv1.SourceNetworkStatus{SourceNetworkName: n.NetworkName}
		for i := range ms {
			if ms[i].SourceNetworkName != n.NetworkName {
				continue
			}
			m := mappingOut(ms[i])
			if ms[i].MappingType == store.MappingTest {
				st.Test = &m
			} else {
				st.Live = &m
			}
		}
		if st.Test == nil {
			out.MissingTest = append(out.MissingTest, n.NetworkName)
		}
		if st.Live == nil {
			out.MissingLive = append(out.MissingLive, n.NetworkName)
		}
		out.SourceNetworks = append(out.SourceNetworks, st)
	}
	for _, m := range ms {
		if !onVM[m.SourceNetworkName] {
			out.Unused = append(out.Unused, mappingOut(m))
		}
	}
	out.TestComplete, out.LiveComplete = len(out.MissingTest) == 0, len(out.MissingLive) == 0
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) createLegacyMapping(w http.ResponseWriter, r *http.Request) error {
	var req apiv1.LegacyMapping
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	name, field := req.VMName, "vm_name"
	switch {
	case req.ContextID != "":
		name, field = req.ContextID, "context_id"
	case req.VMName == "" && req.VMID != "":
		name, field = req.VMID, "vm_id"
	}
	if err := checkName(field, name); err != nil {
		return err
	}
	if err := checkMapping(&req.MappingInput, "", true); err != nil {
		return err
	}
	return s.upsertOne(w, r, name, mappingOf(req.MappingInput), http.StatusCreated)
}

func (s *Server) mappingDecision(r *http.Request, kind string, ms []store.NetworkMapping) store.Decision {
	list := make([]map[string]any, 0, len(ms))
	for _, m := range ms {
		list = append(list, map[string]any{"source_network_name": m.SourceNetworkName, "mapping_type": m.MappingType,
			"destination_network_id": m.DestinationNetworkID, "destination_network_name": m.DestinationNetworkName})
	}
	return store.Decision{Decision: kind, Actor: actorOf(r), Choice: map[string]any{"mappings": list}}
}

func (s *Server) saveBulk(w http.ResponseWriter, r *http.Request, replace bool) error {
	name, err := pathName(r, "context_id")
	if err != nil {
		return err
	}
	var req apiv1.BulkMappings
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	if err := checkBulk(&req); err != nil {
		return err
	}
	if !replace && len(req.Mappings) == 0 {
		return errs.Field("mappings", "at least one mapping is required")
	}
	ms := make([]store.NetworkMapping, 0, len(req.Mappings))
	for _, m := range req.Mappings {
		ms = append(ms, mappingOf(m))
	}
	kind := "network-mapping-upsert"
	if replace {
		kind = "network-mapping-replace"
	}
	vm, saved, err := s.engine.SaveMappings(r.Context(), name, replace, ms, s.mappingDecision(r, kind, ms),
		func(i int) string { return fmt.Sprintf("mappings[%d].", i) })
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, apiv1.Mappings{ContextID: vm.ContextID, VMName: vm.VMName, Mappings: mappingsOut(saved)})
	return nil
}

func (s *Server) upsertContextMappings(w http.ResponseWriter, r *http.Request) error {
	return s.saveBulk(w, r, false)
}

func (s *Server) replaceContextMappings(w http.ResponseWriter, r *http.Request) error {
	return s.saveBulk(w, r, true)
}

func (s *Server) putSourceMapping(w http.ResponseWriter, r *http.Request) error {
	name, err := pathName(r, "context_id")
	if err != nil {
		return err
	}
	src, err := pathName(r, "source_network")
	if err != nil {
		return err
	}
	var req apiv1.SourceMapping
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	in := apiv1.MappingInput{SourceNetworkName: src, DestinationNetworkID: req.DestinationNetworkID,
		DestinationNetworkName: req.DestinationNetworkName, MappingType: req.MappingType}
	if err := checkMapping(&in, "", false); err != nil {
		return err
	}
	return s.upsertOne(w, r, name, mappingOf(in), http.StatusOK)
}

// upsertOne saves one mapping of the VM vm (name or context id) through
// the engine, which checks its destination network (audited as
// network-mapping-upsert), and answers it with status.
func (s *Server) upsertOne(w http.ResponseWriter, r *http.Request, vm string, m store.NetworkMapping, status int) error {
	ms := []store.NetworkMapping{m}
	_, saved, err := s.engine.SaveMappings(r.Context(), vm, false, ms, s.mappingDecision(r, "network-mapping-upsert", ms),
		func(int) string { return "" })
	if err != nil {
		return err
	}
	writeJSON(w, status, mappingOut(saved[0]))
	return nil
}

// deleteMappings deletes the mappings the path and query select.
func (s *Server) deleteMappings(w http.ResponseWriter, r *http.Request, ctxKey, srcKey string) error {
	typ, err := mappingTypeParam(r)
	if err != nil {
		return err
	}
	vm, err := s.vmParam(r, ctxKey)
	if err != nil {
		return err
	}
	src := ""
	if srcKey != "" {
		if src, err = pathName(r, srcKey); err != nil {
			return err
		}
	}
	d := store.Decision{Decision: "network-mapping-delete", Actor: actorOf(r),
		Choice: map[string]any{"source_network_name": src, "mapping_type": typ}}
	n, err := s.store.RemoveMappings(r.Context(), vm.ContextID, src, typ, d)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, apiv1.MappingsDeleted{ContextID: vm.ContextID, Deleted: n})
	return nil
}

func (s *Server) deleteVMMapping(w http.ResponseWriter, r *http.Request) error {
	return s.deleteMappings(w, r, "vm", "source_network")
}

func (s *Server) deleteContextMappings(w http.ResponseWriter, r *http.Request) error {
	return s.deleteMappings(w, r, "context_id", "")
}

func (s *Server) deleteSourceMapping(w http.ResponseWriter, r *http.Request) error {
	return s.deleteMappings(w, r, "context_id", "source_network")
}
