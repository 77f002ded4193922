package client

import (
	"context"
	"net/http"
	"net/url"
	"strconv"

	"github.com/ossea/unifiedfailover/api/apiv1"
)

// JobFilter selects jobs to list. Zero fields do not filter.
type JobFilter struct {
	// VM is a VM name or context id.
	VM string
	// Status is pending, running, completed, failed or cancelled.
	Status string
	// Type is the failover type, test or live.
	Type string
	// JobType is failover, rollback, commit, probe, ….
	JobType string
	Limit   int
	Offset  int
}

func (f JobFilter) query() string {
	q := url.Values{}
	set(q, "vm", f.VM)
	set(q, "status", f.Status)
	set(q, "type", f.Type)
	set(q, "job_type", f.JobType)
	setInt(q, "limit", f.Limit)
	setInt(q, "offset", f.Offset)
	return encode(q)
}

func set(q url.Values, k, v string) {
	if v != "" {
		q.Set(k, v)
	}
}

func setInt(q url.Values, k string, v int) {
	if v > 0 {
		q.Set(k, strconv.Itoa(v))
	}
}

func encode(q url.Values) string {
	if len(q) == 0 {
		return ""
	}
	return "?" + q.Encode()
}

// Jobs lists jobs, newest first.
func (c *Client) Jobs(ctx context.Context, f JobFilter) ([]Job, error) {
	var out apiv1.JobList
	return out.Jobs, c.Do(ctx, http.MethodGet, "/api/v1/failover/jobs"+f.query(), nil, &out)
}

// AuditFilter selects decisions of the audit. Zero fields do not filter.
type AuditFilter struct {
	// VM is a VM name or context id.
	VM       string
	JobID    string
	Actor    string
	Decision string
	Limit    int
	Offset   int
}

// Audit lists operator decisions, newest first.
func (c *Client) Audit(ctx context.Context, f AuditFilter) ([]apiv1.Decision, error) {
	q := url.Values{}
	set(q, "vm", f.VM)
	set(q, "job_id", f.JobID)
	set(q, "actor", f.Actor)
	set(q, "decision", f.Decision)
	setInt(q, "limit", f.Limit)
	setInt(q, "offset", f.Offset)
	var out apiv1.AuditList
	return out.Decisions, c.Do(ctx, http.MethodGet, "/api/v1/audit"+encode(q), nil, &out)
}

// Mappings is a list of network mappings, of one context when named.
type Mappings = apiv1.Mappings

// AllMappings lists every network mapping.
func (c *Client) AllMappings(ctx context.Context) (*Mappings, error) {
	var out Mappings
	return &out, c.Do(ctx, http.MethodGet, "/api/v1/network-mappings", nil, &out)
}

// VMMappings lists the mappings of a VM (name or context id).
func (c *Client) VMMappings(ctx context.Context, vm string) (*Mappings, error) {
	var out Mappings
	return &out, c.Do(ctx, http.MethodGet, "/api/v1/network-mappings/"+url.PathEscape(vm), nil, &out)
}

// SourceNetworkStatus is one source network of a VM with its mappings.
type SourceNetworkStatus = apiv1.SourceNetworkStatus

// MappingStatus says which of a VM's source networks lack a mapping.
type MappingStatus = apiv1.MappingStatus

// MappingStatus returns the mapping completeness of a VM.
func (c *Client) MappingStatus(ctx context.Context, vm string) (*MappingStatus, error) {
	var out MappingStatus
	return &out, c.Do(ctx, http.MethodGet, "/api/v1/network-mappings/"+url.PathEscape(vm)+"/status", nil, &out)
}

// MappingInput is one mapping to store.
type MappingInput = apiv1.MappingInput

// SaveMappings stores mappings of a context in one transaction; with
// replace, the context's other mappings are deleted.
func (c *Client) SaveMappings(ctx context.Context, contextID string, ms []MappingInput, replace bool) (*Mappings, error) {
	method := http.MethodPost
	if replace {
		method = http.MethodPut
	}
	if ms == nil {
		ms = []MappingInput{}
	}
	var out Mappings
	return &out, c.Do(ctx, method, "/api/v1/network-mappings/context/"+url.PathEscape(contextID),
		apiv1.BulkMappings{Mappings: ms}, &out)
}

// SetMapping creates or replaces the mapping of one source network of a
// context.
func (c *Client) SetMapping(ctx context.Context, contextID string, m MappingInput) (*apiv1.NetworkMapping, error) {
	var out apiv1.NetworkMapping
	return &out, c.Do(ctx, http.MethodPut, "/api/v1/network-mappings/context/"+url.PathEscape(contextID)+"/"+
		url.PathEscape(m.SourceNetworkName), apiv1.SourceMapping{DestinationNetworkID: m.DestinationNetworkID,
		DestinationNetworkName: m.DestinationNetworkName, MappingType: m.MappingType}, &out)
}

// DeleteMappings deletes the mappings of one source network of a VM (name
// or context id), of one type or both when typ is empty. It returns how
// many went.
func (c *Client) DeleteMappings(ctx context.Context, vm, sourceNetwork, typ string) (int, error) {
	q := url.Values{}
	set(q, "mapping_type", typ)
	var out apiv1.MappingsDeleted
	return int(out.Deleted), c.Do(ctx, http.MethodDelete, "/api/v1/network-mappings/"+url.PathEscape(vm)+"/"+
		url.PathEscape(sourceNetwork)+encode(q), nil, &out)
}

// PlannedStep is a step a failover or rollback would run.
type PlannedStep = apiv1.PlannedStep

// PreflightConfig is what a failover of a VM would use by default.
type PreflightConfig = apiv1.PreflightConfig

// PreflightConfig returns the defaults, options, networks and pre-flight
// report of a failover of type typ (test or live) of a VM.
func (c *Client) PreflightConfig(ctx context.Context, typ, vm string) (*PreflightConfig, error) {
	var out PreflightConfig
	return &out, c.Do(ctx, http.MethodGet, "/api/v1/failover/preflight/config/"+url.PathEscape(typ)+"/"+url.PathEscape(vm), nil, &out)
}

// Validation is the verdict on a proposed failover.
type Validation = apiv1.Validation

// Validate validates a proposed failover request; it runs nothing.
func (c *Client) Validate(ctx context.Context, req apiv1.FailoverRequest) (*Validation, error) {
	var out Validation
	return &out, c.Do(ctx, http.MethodPost, "/api/v1/failover/preflight/validate", req, &out)
}

// Readiness is a VM's pre-flight report.
type Readiness = apiv1.ReadinessReport

// Readiness returns a VM's pre-flight report for a failover of type typ.
func (c *Client) Readiness(ctx context.Context, vm, typ string) (*Readiness, error) {
	q := url.Values{}
	set(q, "failover_type", typ)
	var out Readiness
	return &out, c.Do(ctx, http.MethodGet, "/api/v1/failover/"+url.PathEscape(vm)+"/readiness"+encode(q), nil, &out)
}

// RollbackDecision is what the operator may decide about a VM's latest
// failover of one type.
type RollbackDecision = apiv1.RollbackDecision

// RollbackDecision returns the rollback options of a VM's latest failover
// of type typ.
func (c *Client) RollbackDecision(ctx context.Context, typ, vm string) (*RollbackDecision, error) {
	var out RollbackDecision
	return &out, c.Do(ctx, http.MethodGet, "/api/v1/failover/rollback/decision/"+url.PathEscape(typ)+"/"+url.PathEscape(vm), nil, &out)
}

// Network is a CloudStack network.
type Network = apiv1.Network

// Networks lists the CloudStack networks (only the proposed test networks
// with proposedTest).
func (c *Client) Networks(ctx context.Context, proposedTest bool) ([]Network, error) {
	path := "/api/v1/networks/available"
	if proposedTest {
		path += "?proposed_test=true"
	}
	var out apiv1.NetworkList
	return out.Networks, c.Do(ctx, http.MethodGet, path, nil, &out)
}

// ServiceOffering is a CloudStack compute offering.
type ServiceOffering = apiv1.ServiceOffering

// ServiceOfferings lists the compute offerings, marking those that fit a
// VM (name or context id) when vm is not empty.
func (c *Client) ServiceOfferings(ctx context.Context, vm string) ([]ServiceOffering, error) {
	q := url.Values{}
	set(q, "vm", vm)
	var out apiv1.ServiceOfferingList
	return out.Offerings, c.Do(ctx, http.MethodGet, "/api/v1/service-offerings/available"+encode(q), nil, &out)
}

// Worker is a live worker and what it can run.
type Worker = apiv1.Worker

// Workers lists the live workers, by id, with their capabilities.
func (c *Client) Workers(ctx context.Context) ([]Worker, error) {
	var out apiv1.WorkerList
	return out.Workers, c.Do(ctx, http.MethodGet, "/api/v1/workers", nil, &out)
}
