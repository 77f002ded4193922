package apiv1

// Network is a CloudStack network.
type Network struct {
	ID           string `json:"id"`
	Name         string `json:"name"`
	Type         string `json:"type"`
	ZoneID       string `json:"zone_id"`
	CIDR         string `json:"cidr,omitempty"`
	State        string `json:"state,omitempty"`
	ProposedTest bool   `json:"proposed_test"`
}

// NetworkList is a list of CloudStack networks (GET /networks/available).
type NetworkList struct {
	Networks []Network `json:"networks"`
}

// ResolveRequest names CloudStack networks to find
// (POST /networks/resolve).
type ResolveRequest struct {
	Name  string   `json:"name,omitempty"`
	Names []string `json:"names,omitempty"`
}

// ResolvedNetwork is a name and the network(s) it names.
type ResolvedNetwork struct {
	Name     string    `json:"name"`
	Found    bool      `json:"found"`
	ID       string    `json:"id,omitempty"`
	Matches  []Network `json:"matches"`
	Warnings []string  `json:"warnings,omitempty"`
}

// ResolvedNetworks is the answer to POST /networks/resolve.
type ResolvedNetworks struct {
	Networks   []ResolvedNetwork `json:"networks"`
	Unresolved []string          `json:"unresolved"`
}

// ServiceOffering is a CloudStack compute offering.
type ServiceOffering struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	CPUCount    int    `json:"cpu_count"`
	MemoryMB    int    `json:"memory_mb"`
	Fits        bool   `json:"fits"`
	Recommended bool   `json:"recommended"`
}

// ServiceOfferingList is the answer to GET /service-offerings/available.
type ServiceOfferingList struct {
	Offerings []ServiceOffering `json:"service_offerings"`
}
