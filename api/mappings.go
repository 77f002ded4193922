package api

import (
	"fmt"
	"net/http"

	"github.com/ossea/unifiedfailover/cloudstack"
	"github.com/ossea/unifiedfailover/errs"
	"github.com/ossea/unifiedfailover/store"
)

// maxBulkMappings bounds a bulk mapping request.
const maxBulkMappings = 1000

func indexed(list string, i int, field string) string {
	return fmt.Sprintf("%s[%d].%s", list, i, field)
}

// mappingInput is one network mapping in a request.
type mappingInput struct {
	SourceNetworkName      string            `json:"source_network_name"`
	DestinationNetworkID   string            `json:"destination_network_id"`
	DestinationNetworkName string            `json:"destination_network_name,omitempty"`
	MappingType            store.MappingType `json:"mapping_type,omitempty"`
	// IsTestNetwork is the legacy way to say the mapping type.
	IsTestNetwork *bool `json:"is_test_network,omitempty"`
}

// check validates the input's shape; prefix names its fields ("" or
// "mappings[3].").
func (m *mappingInput) check(prefix string, needSource bool) error {
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

func (m mappingInput) mapping() store.NetworkMapping {
	return store.NetworkMapping{SourceNetworkName: m.SourceNetworkName, DestinationNetworkID: m.DestinationNetworkID,
		DestinationNetworkName: m.DestinationNetworkName, MappingType: m.MappingType}
}

// legacyMappingRequest creates one mapping of a VM named by name (or
// context id).
type legacyMappingRequest struct {
	VMName    string `json:"vm_name,omitempty"`
	VMID      string `json:"vm_id,omitempty"`
	ContextID string `json:"context_id,omitempty"`
	mappingInput
}

// bulkMappingRequest is a set of mappings of one context.
type bulkMappingRequest struct {
	Mappings []mappingInput `json:"mappings"`
}

func (b *bulkMappingRequest) check() error {
	if b.Mappings == nil {
		return errs.Field("mappings", "is required (an array; empty only to replace with nothing)")
	}
	if len(b.Mappings) > maxBulkMappings {
		return errs.Field("mappings", "at most %d mappings per request", maxBulkMappings)
	}
	seen := map[string]int{}
	for i := range b.Mappings {
		if err := b.Mappings[i].check(fmt.Sprintf("mappings[%d].", i), true); err != nil {
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

// sourceMappingRequest sets the mapping of the source network in the path.
type sourceMappingRequest struct {
	DestinationNetworkID   string            `json:"destination_network_id"`
	DestinationNetworkName string            `json:"destination_network_name,omitempty"`
	MappingType            store.MappingType `json:"mapping_type"`
}

// checkDestinations checks every mapping's destination network exists in
// CloudStack (when the engine is configured) and fills in missing names.
func (s *Server) checkDestinations(r *http.Request, prefix func(i int) string, ms []store.NetworkMapping) error {
	if s.engine == nil || len(ms) == 0 {
		return nil
	}
	nets, err := s.engine.Networks(r.Context())
	if err != nil {
		return err
	}
	byID := map[string]cloudstack.Network{}
	for _, n := range nets {
		byID[n.ID] = n
	}
	for i := range ms {
		n, ok := byID[ms[i].DestinationNetworkID]
		if !ok {
			return errs.Field(prefix(i)+"destination_network_id", "no CloudStack network has id %q", ms[i].DestinationNetworkID)
		}
		if ms[i].DestinationNetworkName == "" {
			ms[i].DestinationNetworkName = n.Name
		}
	}
	return nil
}

// mappingsBody is a list of mappings, of one context when it is named.
type mappingsBody struct {
	ContextID string                 `json:"context_id,omitempty"`
	VMName    string                 `json:"vm_name,omitempty"`
	Mappings  []store.NetworkMapping `json:"mappings"`
}

func nonNil(ms []store.NetworkMapping) []store.NetworkMapping {
	if ms == nil {
		return []store.NetworkMapping{}
	}
	return ms
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
	writeJSON(w, http.StatusOK, mappingsBody{Mappings: nonNil(ms)})
	return nil
}

// contextMappings answers the mappings of the context named by the path
// parameter key.
func (s *Server) contextMappings(w http.ResponseWriter, r *http.Request, key string) {
	typ, err := mappingTypeParam(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	vm, err := s.vmParam(r, key)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	ms, err := s.store.ListMappings(r.Context(), vm.ContextID, typ)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, mappingsBody{ContextID: vm.ContextID, VMName: vm.VMName, Mappings: nonNil(ms)})
}

func (s *Server) listVMMappings(w http.ResponseWriter, r *http.Request) {
	s.contextMappings(w, r, "vm")
}

func (s *Server) listContextMappings(w http.ResponseWriter, r *http.Request) {
	s.contextMappings(w, r, "context_id")
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
	writeJSON(w, http.StatusOK, mappingsBody{ContextID: vm.ContextID, VMName: vm.VMName, Mappings: out})
	return nil
}

// sourceNetworkStatus is one source network of a VM with its mappings.
type sourceNetworkStatus struct {
	SourceNetworkName string                `json:"source_network_name"`
	Test              *store.NetworkMapping `json:"test"`
	Live              *store.NetworkMapping `json:"live"`
}

// mappingStatusBody says which of a VM's source networks lack a mapping.
type mappingStatusBody struct {
	ContextID      string                 `json:"context_id"`
	VMName         string                 `json:"vm_name"`
	SourceNetworks []sourceNetworkStatus  `json:"source_networks"`
	MissingTest    []string               `json:"missing_test"`
	MissingLive    []string               `json:"missing_live"`
	TestComplete   bool                   `json:"test_complete"`
	LiveComplete   bool                   `json:"live_complete"`
	Unused         []store.NetworkMapping `json:"unused_mappings"`
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
	out := mappingStatusBody{ContextID: vm.ContextID, VMName: vm.VMName, SourceNetworks: []sourceNetworkStatus{},
		MissingTest: []string{}, MissingLive: []string{}, Unused: []store.NetworkMapping{}}
	onVM := map[string]bool{}
	for _, n := range vm.NICs {
		if onVM[n.NetworkName] {
			continue
		}
		onVM[n.NetworkName] = true
		st := sourceNetworkStatus{SourceNetworkName: n.NetworkName}
		for i := range ms {
			if ms[i].SourceNetworkName != n.NetworkName {
				continue
			}
			if ms[i].MappingType == store.MappingTest {
				st.Test = &ms[i]
			} else {
				st.Live = &ms[i]
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
			out.Unused = append(out.Unused, m)
		}
	}
	out.TestComplete, out.LiveComplete = len(out.MissingTest) == 0, len(out.MissingLive) == 0
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) createLegacyMapping(w http.ResponseWriter, r *http.Request) error {
	var req legacyMappingRequest
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
	if err := req.mappingInput.check("", true); err != nil {
		return err
	}
	vm, err := s.store.ResolveContext(r.Context(), name)
	if err != nil {
		return err
	}
	s.upsertOne(w, r, vm.ContextID, req.mapping(), http.StatusCreated)
	return nil
}

func (s *Server) mappingDecision(r *http.Request, kind string, ms []store.NetworkMapping) store.Decision {
	list := make([]map[string]any, 0, len(ms))
	for _, m := range ms {
		list = append(list, map[string]any{"source_network_name": m.SourceNetworkName, "mapping_type": m.MappingType,
			"destination_network_id": m.DestinationNetworkID, "destination_network_name": m.DestinationNetworkName})
	}
	return store.Decision{Decision: kind, Actor: actorOf(r), Choice: map[string]any{"mappings": list}}
}

func (s *Server) saveBulk(w http.ResponseWriter, r *http.Request, replace bool) {
	vm, err := s.vmParam(r, "context_id")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var req bulkMappingRequest
	if err := decodeJSON(r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	if err := req.check(); err != nil {
		s.writeError(w, r, err)
		return
	}
	if !replace && len(req.Mappings) == 0 {
		s.writeError(w, r, errs.Field("mappings", "at least one mapping is required"))
		return
	}
	ms := make([]store.NetworkMapping, 0, len(req.Mappings))
	for _, m := range req.Mappings {
		ms = append(ms, m.mapping())
	}
	if err := s.checkDestinations(r, func(i int) string { return fmt.Sprintf("mappings[%d].", i) }, ms); err != nil {
		s.writeError(w, r, err)
		return
	}
	kind := "network-mapping-upsert"
	if replace {
		kind = "network-mapping-replace"
	}
	saved, err := s.store.SaveMappings(r.Context(), vm.ContextID, replace, ms, s.mappingDecision(r, kind, ms))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, mappingsBody{ContextID: vm.ContextID, VMName: vm.VMName, Mappings: nonNil(saved)})
}

func (s *Server) upsertContextMappings(w http.ResponseWriter, r *http.Request) {
	s.saveBulk(w, r, false)
}

func (s *Server) replaceContextMappings(w http.ResponseWriter, r *http.Request) {
	s.saveBulk(w, r, true)
}

func (s *Server) putSourceMapping(w http.ResponseWriter, r *http.Request) error {
	vm, err := s.vmParam(r, "context_id")
	if err != nil {
		return err
	}
	src, err := pathName(r, "source_network")
	if err != nil {
		return err
	}
	var req sourceMappingRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	in := mappingInput{SourceNetworkName: src, DestinationNetworkID: req.DestinationNetworkID,
		DestinationNetworkName: req.DestinationNetworkName, MappingType: req.MappingType}
	if err := in.check("", false); err != nil {
		return err
	}
	s.upsertOne(w, r, vm.ContextID, in.mapping(), http.StatusOK)
	return nil
}

// upsertOne checks one mapping's destination network, saves it (audited as
// network-mapping-upsert) and answers it with status.
func (s *Server) upsertOne(w http.ResponseWriter, r *http.Request, contextID string, m store.NetworkMapping, status int) {
	ms := []store.NetworkMapping{m}
	if err := s.checkDestinations(r, func(int) string { return "" }, ms); err != nil {
		s.writeError(w, r, err)
		return
	}
	saved, err := s.store.SaveMappings(r.Context(), contextID, false, ms, s.mappingDecision(r, "network-mapping-upsert", ms))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, status, saved[0])
}

// deleteMappings deletes the mappings the path and query select.
func (s *Server) deleteMappings(w http.ResponseWriter, r *http.Request, ctxKey, srcKey string) {
	typ, err := mappingTypeParam(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	vm, err := s.vmParam(r, ctxKey)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	src := ""
	if srcKey != "" {
		if src, err = pathName(r, srcKey); err != nil {
			s.writeError(w, r, err)
			return
		}
	}
	d := store.Decision{Decision: "network-mapping-delete", Actor: actorOf(r),
		Choice: map[string]any{"source_network_name": src, "mapping_type": typ}}
	n, err := s.store.RemoveMappings(r.Context(), vm.ContextID, src, typ, d)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"context_id": vm.ContextID, "deleted": n})
}

func (s *Server) deleteVMMapping(w http.ResponseWriter, r *http.Request) {
	s.deleteMappings(w, r, "vm", "source_network")
}

func (s *Server) deleteContextMappings(w http.ResponseWriter, r *http.Request) {
	s.deleteMappings(w, r, "context_id", "")
}

func (s *Server) deleteSourceMapping(w http.ResponseWriter, r *http.Request) {
	s.deleteMappings(w, r, "context_id", "source_network")
}
