package api_test

import (
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/ossea/unifiedfailover/api/apiv1"
)

// wireSchemas maps each schema of openapi.json's components to the apiv1
// type it documents. Every schema must be here.
var wireSchemas = map[string]any{
	"AuditList":             apiv1.AuditList{},
	"BulkMappings":          apiv1.BulkMappings{},
	"CBTState":              apiv1.CBTState{},
	"Check":                 apiv1.Check{},
	"CommitPolicy":          apiv1.CommitPolicy{},
	"CommitRequest":         apiv1.CommitRequest{},
	"ContextDetail":         apiv1.ContextDetail{},
	"ContextUpdate":         apiv1.ContextUpdate{},
	"Decision":              apiv1.Decision{},
	"Dependency":            apiv1.Dependency{},
	"Disk":                  apiv1.Disk{},
	"Drill":                 apiv1.Drill{},
	"DrillList":             apiv1.DrillList{},
	"DrillRun":              apiv1.DrillRun{},
	"DrillRunInfo":          apiv1.DrillRunInfo{},
	"DrillRunList":          apiv1.DrillRunList{},
	"DrillRunVM":            apiv1.DrillRunVM{},
	"DrillSpec":             apiv1.DrillSpec{},
	"DryRun":                apiv1.DryRun{},
	"Error":                 apiv1.Error{},
	"Event":                 apiv1.Event{},
	"FailoverConfig":        apiv1.FailoverConfig{},
	"FailoverJob":           apiv1.FailoverJob{},
	"FailoverOptions":       apiv1.Options{},
	"FailoverRequest":       apiv1.FailoverRequest{},
	"FailoverStatus":        apiv1.FailoverStatus{},
	"Hook":                  apiv1.Hook{},
	"InventoryDisk":         apiv1.InventoryDisk{},
	"InventoryList":         apiv1.InventoryList{},
	"InventoryNIC":          apiv1.InventoryNIC{},
	"InventoryReplica":      apiv1.InventoryReplica{},
	"InventoryVM":           apiv1.InventoryVM{},
	"Job":                   apiv1.Job{},
	"JobList":               apiv1.JobList{},
	"MappingInput":          apiv1.MappingInput{},
	"MappingStatus":         apiv1.MappingStatus{},
	"Mappings":              apiv1.Mappings{},
	"Member":                apiv1.Member{},
	"NICPlan":               apiv1.NICPlan{},
	"Network":               apiv1.Network{},
	"NetworkMapping":        apiv1.NetworkMapping{},
	"OptionInfo":            apiv1.OptionInfo{},
	"Plan":                  apiv1.Plan{},
	"PlanIssue":             apiv1.PlanIssue{},
	"PlanList":              apiv1.PlanList{},
	"PlanRun":               apiv1.PlanRun{},
	"PlanRunEvent":          apiv1.PlanRunEvent{},
	"PlanRunEvents":         apiv1.PlanRunEvents{},
	"PlanRunMember":         apiv1.PlanRunMember{},
	"PlanRunMemberReport":   apiv1.PlanRunMemberReport{},
	"PlanRunMembersRequest": apiv1.PlanRunMembersRequest{},
	"PlanRunReport":         apiv1.PlanRunReport{},
	"PlanRunStepTime":       apiv1.PlanRunStepTime{},
	"PlanSpec":              apiv1.PlanSpec{},
	"PlanValidateRequest":   apiv1.PlanValidateRequest{},
	"PlanValidation":        apiv1.PlanValidation{},
	"PlannedStep":           apiv1.PlannedStep{},
	"PreflightConfig":       apiv1.PreflightConfig{},
	"Progress":              apiv1.Progress{},
	"Readiness":             apiv1.Readiness{},
	"ReadinessCheck":        apiv1.ReadinessCheck{},
	"ReadinessReport":       apiv1.ReadinessReport{},
	"RecoveryPlan":          apiv1.RecoveryPlan{},
	"RefreshReport":         apiv1.RefreshReport{},
	"RegisterRequest":       apiv1.RegisterRequest{},
	"Report":                apiv1.PreflightReport{},
	"ResolvedNetwork":       apiv1.ResolvedNetwork{},
	"RollbackDecision":      apiv1.RollbackDecision{},
	"RollbackOptions":       apiv1.RollbackOptions{},
	"RollbackRequest":       apiv1.RollbackRequest{},
	"ServiceOffering":       apiv1.ServiceOffering{},
	"SourceMapping":         apiv1.SourceMapping{},
	"SourceNIC":             apiv1.SourceNIC{},
	"StartPlanRunRequest":   apiv1.StartPlanRunRequest{},
	"Started":               apiv1.Started{},
	"Step":                  apiv1.Step{},
	"VMContext":             apiv1.VMContext{},
	"Validation":            apiv1.Validation{},
	"Wave":                  apiv1.Wave{},
	"Worker":                apiv1.Worker{},
	"WorkerCapability":      apiv1.WorkerCapability{},
	"WorkerList":            apiv1.WorkerList{},
}

// jsonField is a struct field as encoding/json names it.
type jsonField struct {
	omitempty bool
	t         reflect.Type
}

// jsonFields are the JSON members of struct type t: tagged names (or Go
// names), embedded structs flattened, "-" and unexported fields left out.
func jsonFields(t reflect.Type) map[string]jsonField {
	out := map[string]jsonField{}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		ft := f.Type
		if ft.Kind() == reflect.Pointer {
			ft = ft.Elem()
		}
		if f.Anonymous && name == "" && ft.Kind() == reflect.Struct {
			for n, jf := range jsonFields(ft) {
				if _, shadowed := out[n]; !shadowed {
					out[n] = jf
				}
			}
			continue
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		out[name] = jsonField{omitempty: strings.Contains(","+opts+",", ",omitempty,"), t: f.Type}
	}
	return out
}

// schemaProps are a schema's properties, allOf flattened, and its required
// names.
func schemaProps(s *openapi3.Schema) (map[string]*openapi3.SchemaRef, map[string]bool) {
	props, required := map[string]*openapi3.SchemaRef{}, map[string]bool{}
	for _, sub := range s.AllOf {
		p, r := schemaProps(sub.Value)
		for k, v := range p {
			props[k] = v
		}
		for k := range r {
			required[k] = true
		}
	}
	for k, v := range s.Properties {
		props[k] = v
	}
	for _, r := range s.Required {
		required[r] = true
	}
	return props, required
}

// structOf is the struct type a field's value is, through pointers and
// slices, or nil.
func structOf(t reflect.Type) reflect.Type {
	for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct || t.PkgPath() == "time" {
		return nil
	}
	return t
}

// compareSchema compares the members of Go type t with schema s, both
// ways, and recurses into inline object schemas (a $ref is compared
// under its own name).
func compareSchema(t *testing.T, at string, gt reflect.Type, s *openapi3.Schema) {
	t.Helper()
	props, required := schemaProps(s)
	fields := jsonFields(gt)
	var names []string
	for n := range fields {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		f := fields[n]
		p, ok := props[n]
		if !ok {
			opt := ""
			if f.omitempty {
				opt = " (omitempty)"
			}
			t.Errorf("%s: field %q%s of %s is not in the schema", at, n, opt, gt)
			continue
		}
		if required[n] && f.omitempty {
			t.Errorf("%s: the schema requires %q, but %s omits it when empty (omitempty)", at, n, gt)
		}
		if p.Ref != "" || p.Value == nil {
			continue
		}
		v := p.Value
		if v.Items != nil && v.Items.Ref == "" {
			v = v.Items.Value
		}
		if st := structOf(f.t); st != nil && len(v.Properties)+len(v.AllOf) > 0 {
			compareSchema(t, at+"."+n, st, v)
		}
	}
	var pnames []string
	for n := range props {
		pnames = append(pnames, n)
	}
	sort.Strings(pnames)
	for _, n := range pnames {
		if _, ok := fields[n]; !ok {
			t.Errorf("%s: the schema's property %q is not a field of %s", at, n, gt)
		}
	}
}

// TestOpenAPISchemasMatchWireTypes checks that each schema of the OpenAPI
// document names the JSON fields of its apiv1 type, no more, no less (the
// answers themselves are checked against the document by the operator
// tests, validateResponse).
func TestOpenAPISchemasMatchWireTypes(t *testing.T) {
	t.Parallel()
	doc, _ := openAPI(t)
	for name := range doc.Components.Schemas {
		if _, ok := wireSchemas[name]; !ok {
			t.Errorf("schema %s has no apiv1 type in wireSchemas", name)
		}
	}
	for name, v := range wireSchemas {
		ref, ok := doc.Components.Schemas[name]
		if !ok || ref.Value == nil {
			t.Errorf("wireSchemas names %s, which openapi.json's components/schemas lacks", name)
			continue
		}
		compareSchema(t, name, reflect.TypeOf(v), ref.Value)
	}
}
