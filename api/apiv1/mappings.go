package apiv1

import "time"

// MappingType says which failover a network mapping is for: live or test.
type MappingType string

// Mapping types.
const (
	MappingLive MappingType = "live"
	MappingTest MappingType = "test"
)

// NetworkMapping maps one source network of a VM context to a CloudStack
// network for one kind of failover.
type NetworkMapping struct {
	ID                     int64       `json:"id"`
	ContextID              string      `json:"context_id"`
	SourceNetworkName      string      `json:"source_network_name"`
	DestinationNetworkID   string      `json:"destination_network_id"`
	DestinationNetworkName string      `json:"destination_network_name"`
	MappingType            MappingType `json:"mapping_type"`
	CreatedAt              time.Time   `json:"created_at"`
	UpdatedAt              time.Time   `json:"updated_at"`
}

// Mappings is a list of network mappings, of one context when it is named.
type Mappings struct {
	ContextID string           `json:"context_id,omitempty"`
	VMName    string           `json:"vm_name,omitempty"`
	Mappings  []NetworkMapping `json:"mappings"`
}

// MappingInput is one network mapping in a request.
type MappingInput struct {
	SourceNetworkName      string      `json:"source_network_name"`
	DestinationNetworkID   string      `json:"destination_network_id"`
	DestinationNetworkName string      `json:"destination_network_name,omitempty"`
	MappingType            MappingType `json:"mapping_type,omitempty"`
	// IsTestNetwork is the legacy way to say the mapping type.
	IsTestNetwork *bool `json:"is_test_network,omitempty"`
}

// LegacyMapping creates one mapping of a VM named by name, VMware id or
// context id (POST /network-mappings).
type LegacyMapping struct {
	VMName    string `json:"vm_name,omitempty"`
	VMID      string `json:"vm_id,omitempty"`
	ContextID string `json:"context_id,omitempty"`
	MappingInput
}

// BulkMappings is a set of mappings of one context
// (POST and PUT /network-mappings/context/{context_id}).
type BulkMappings struct {
	Mappings []MappingInput `json:"mappings"`
}

// SourceMapping sets the mapping of the source network in the path
// (PUT /network-mappings/context/{context_id}/{source_network}).
type SourceMapping struct {
	DestinationNetworkID   string      `json:"destination_network_id"`
	DestinationNetworkName string      `json:"destination_network_name,omitempty"`
	MappingType            MappingType `json:"mapping_type"`
}

// MappingsDeleted is the answer to a delete of mappings.
type MappingsDeleted struct {
	ContextID string `json:"context_id"`
	Deleted   int64  `json:"deleted"`
}

// SourceNetworkStatus is one source network of a VM with its mappings.
type SourceNetworkStatus struct {
	SourceNetworkName string          `json:"source_network_name"`
	Test              *NetworkMapping `json:"test"`
	Live              *NetworkMapping `json:"live"`
}

// MappingStatus says which of a VM's source networks lack a mapping
// (GET /network-mappings/{vm}/status).
type MappingStatus struct {
	ContextID      string                `json:"context_id"`
	VMName         string                `json:"vm_name"`
	SourceNetworks []SourceNetworkStatus `json:"source_networks"`
	MissingTest    []string              `json:"missing_test"`
	MissingLive    []string              `json:"missing_live"`
	TestComplete   bool                  `json:"test_complete"`
	LiveComplete   bool                  `json:"live_complete"`
	Unused         []NetworkMapping      `json:"unused_mappings"`
}
