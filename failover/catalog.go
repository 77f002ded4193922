package failover

import (
	"context"
	"strings"

	"github.com/ossea/unifiedfailover/api/apiv1"
	"github.com/ossea/unifiedfailover/cloudstack"
)

// Networks returns the CloudStack networks of the engine's zone.
func (e *Engine) Networks(ctx context.Context) ([]cloudstack.Network, error) {
	return e.cs.ListNetworks(ctx)
}

// OfferingChoice is the compute offerings, and which one a VM of CPUs and
// MemoryMB would be deployed with (Best, nil when none fits).
type OfferingChoice struct {
	Offerings []cloudstack.ServiceOffering
	Best      *cloudstack.ServiceOffering
	CPUs      int
	MemoryMB  int
}

// OfferingsFor returns the compute offerings and the one a failover would
// pick for a VM: the protected VM vm (name or context id) when given, else
// one of cpus CPUs and memMB memory.
func (e *Engine) OfferingsFor(ctx context.Context, vm string, cpus, memMB int) (*OfferingChoice, error) {
	if vm != "" {
		c, err := e.store.ResolveContext(ctx, vm)
		if err != nil {
			return nil, err
		}
		cpus, memMB = c.CPUCount, c.MemoryMB
	}
	offs, err := e.cs.ListServiceOfferings(ctx)
	if err != nil {
		return nil, err
	}
	return &OfferingChoice{Offerings: offs, Best: pickOffering(offs, cpus, memMB), CPUs: cpus, MemoryMB: memMB}, nil
}

// PickOffering returns the offering a failover of a VM with cpus CPUs and
// memMB memory would use (the smallest that fits, an exact fit first), or
// nil when none fits.
func PickOffering(offs []cloudstack.ServiceOffering, cpus, memMB int) *cloudstack.ServiceOffering {
	return pickOffering(offs, cpus, memMB)
}

// ProposedTestNetwork reports whether a CloudStack network is proposed for
// test failovers: an Isolated or L2 network, or one whose name
// contains test, lab or dev.
func ProposedTestNetwork(n cloudstack.Network) bool {
	if strings.EqualFold(n.Type, "Isolated") || strings.EqualFold(n.Type, "L2") {
		return true
	}
	name := strings.ToLower(n.Name)
	return strings.Contains(name, "test") || strings.Contains(name, "lab") || strings.Contains(name, "dev")
}

// OptionInfo describes one operator option of a failover: its JSON name,
// type, the default for a failover type, and what it does.
type OptionInfo = apiv1.OptionInfo

// FailoverOptions describes the options of a failover of type typ, with
// the defaults of cfg (the config resolved without options).
func FailoverOptions(cfg *Config) []OptionInfo {
	return []OptionInfo{
		{Name: "power_off_source", Type: "boolean", Default: cfg.PowerOffSource,
			Description: "shut the source VM down in vCenter (guest shutdown, then hard power-off after shutdown_timeout) before anything else"},
		{Name: "perform_final_sync", Type: "boolean", Default: cfg.PerformFinalSync,
			Description: "after power-off, copy the blocks changed since the last replication into the replicas; needs power_off_source"},
		{Name: "skip_validation", Type: "boolean", Default: cfg.SkipValidation,
			Description: "skip the soft pre-flight checks (recorded in the decision audit); the hard guards always run"},
		{Name: "skip_virtio", Type: "boolean", Default: cfg.SkipVirtio,
			Description: "do not inject VirtIO drivers into a Windows guest's boot disk"},
		{Name: "network_strategy", Type: "string", Default: cfg.NetworkStrategy,
			Allowed:     []any{NetworkProduction, NetworkIsolated, NetworkCustom},
			Description: "production uses the VM's live mappings, isolated its test mappings, custom the request's network_mappings"},
		{Name: "network_mappings", Type: "array", Default: []NetworkChoice{},
			Description: "the request's own source network → CloudStack network choices (custom strategy)"},
		{Name: "keep_macs", Type: "boolean", Default: cfg.KeepMACs,
			Description: "give each destination NIC the MAC address of its source NIC"},
		{Name: "allow_non_isolated_network", Type: "boolean", Default: cfg.AllowNonIsolatedNetwork,
			Description: "with the source running, allow a network a live mapping uses or a Shared one (admin role and confirm; needs keep_macs false; audited)"},
		{Name: "accept_rpo", Type: "boolean", Default: cfg.AcceptRPO,
			Description: "let a live failover run although the VM's RPO exceeds its target (rpo_target or FAILOVER_RPO_TARGET) or is unknown, accepting the loss of the writes since the oldest replica's last sync (audited, with the RPO)"},
		{Name: "shutdown_timeout", Type: "string", Default: cfg.ShutdownTimeout,
			Description: "how long a graceful guest shutdown may take before a hard power-off (a duration such as 5m, at most 2h)"},
	}
}

// RollbackOptionInfos describes a rollback's options with their defaults
// for a failover of type typ.
func RollbackOptionInfos(typ Type) []OptionInfo {
	return []OptionInfo{
		{Name: "power_on_source", Type: "boolean", Default: typ == Live,
			Description: "power the source VM on in vCenter at the end (default on for a live failover, off for a test failover)"},
		{Name: "force_cleanup", Type: "boolean", Default: false,
			Description: "go past what cannot be cleaned, listing each leftover; stop the destination VM forcibly (admin and confirm)"},
		{Name: "wait_for_tools", Type: "boolean", Default: typ == Live,
			Description: "after powering the source on, wait (up to 10m) until VMware Tools run in it, when it has them (default on for a live failover)"},
		{Name: "reason", Type: "string", Default: "", Description: "free text kept in the decision audit"},
	}
}
