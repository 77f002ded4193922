package failover

import (
	"fmt"
	"strings"
	"time"

	"github.com/ossea/unifiedfailover/api/apiv1"
	"github.com/ossea/unifiedfailover/errs"
	"github.com/ossea/unifiedfailover/store"
)

// Type is the kind of failover (the API's type, apiv1.FailoverType).
type Type = apiv1.FailoverType

// Failover types.
const (
	Test Type = "test"
	Live Type = "live"
)

// Naming, snapshot and network strategies of a failover.
const (
	NamingExact    = "exact"
	NamingSuffixed = "suffixed"

	SnapshotCloudStack = "cloudstack"
	SnapshotNone       = "none"

	NetworkProduction = "production"
	NetworkIsolated   = "isolated"
	NetworkCustom     = "custom"
)

// Options are the operator's choices for one failover (the API's
// apiv1.Options). Nil pointers take the failover type's defaults.
type Options = apiv1.Options

// NetworkChoice maps one source network to a CloudStack network.
type NetworkChoice = apiv1.NetworkChoice

// NetworkChoices are a request's network choices (apiv1.NetworkChoices
// reads either JSON form).
type NetworkChoices = apiv1.NetworkChoices

// applyNaming applies a request's vm_naming (exact or suffixed) to the
// destination's name; "" keeps the type's default.
func (c *Config) applyNaming(naming string) error {
	switch naming {
	case "":
		return nil
	case NamingExact:
		c.DestinationVMName = c.VMName
	case NamingSuffixed:
		c.DestinationVMName = fmt.Sprintf("%s-%s-%d", c.VMName, c.FailoverType, c.RequestedAt.Unix())
	default:
		return errs.Field("vm_naming", "must be exact or suffixed, not %q", naming)
	}
	c.NamingStrategy = naming
	c.DestinationHostName = HostName(c.DestinationVMName)
	return nil
}

// NICPlan is one NIC of the destination VM.
type NICPlan = apiv1.NICPlan

// Config is the resolved configuration of one failover
// (UnifiedFailoverConfig). It is stored on the failover job; every step
// reads it from there.
// It has apiv1.FailoverConfig's fields and json tags, which are also the
// failover_jobs.config jsonb column's format, and the domain's methods;
// api/wire.go converts it.
type Config apiv1.FailoverConfig

// Duration is a time.Duration that reads and writes JSON as "5m0s"
// (apiv1.Duration).
type Duration = apiv1.Duration

// Resolve turns a context, a failover type and the operator's options into
// a config: the type's defaults, overridden by the options, checked for
// consistency. mappings are the context's stored mappings.
func Resolve(c *store.VMContext, typ Type, opts Options, mappings []store.NetworkMapping, now time.Time) (*Config, error) {
	cfg := &Config{
		ContextID: c.ContextID, VMwareVMID: c.VMwareVMID, VMName: c.VMName, FailoverType: typ,
		SnapshotType: SnapshotCloudStack, RollbackEnabled: true, KeepMACs: true,
		ShutdownTimeout: Duration(5 * time.Minute), OSType: c.OSType, Firmware: c.Firmware,
		CPUCount: c.CPUCount, MemoryMB: c.MemoryMB, SkipValidation: opts.SkipValidation,
		SkipVirtio: opts.SkipVirtio, AcceptRPO: opts.AcceptRPO, RequestedAt: now.UTC(),
	}
	switch typ {
	case Test:
		cfg.NamingStrategy, cfg.NetworkStrategy = NamingSuffixed, NetworkIsolated
		cfg.DestinationVMName = fmt.Sprintf("%s-test-%d", c.VMName, now.Unix())
	case Live:
		cfg.NamingStrategy, cfg.NetworkStrategy = NamingExact, NetworkProduction
		cfg.DestinationVMName = c.VMName
		cfg.PowerOffSource, cfg.PerformFinalSync = true, true
	default:
		return nil, errs.Field("failover_type", "must be test or live, not %q", typ)
	}
	if opts.PowerOffSource != nil {
		cfg.PowerOffSource = *opts.PowerOffSource
	}
	if opts.PerformFinalSync != nil {
		cfg.PerformFinalSync = *opts.PerformFinalSync
	}
	// A test failover never touches the source: powering it off or
	// syncing from it is what a live failover does, with its approval.
	if typ == Test && cfg.PowerOffSource {
		return nil, errs.Field("power_off_source", "a test failover never touches the source VM: powering it off is a live failover's (admin role and \"confirm\")")
	}
	if typ == Test && cfg.PerformFinalSync {
		return nil, errs.Field("perform_final_sync", "a test failover never touches the source VM: a final sync is a live failover's (admin role and \"confirm\")")
	}
	if opts.KeepMACs != nil {
		cfg.KeepMACs = *opts.KeepMACs
	}
	if opts.AllowNonIsolatedNetwork {
		if cfg.PowerOffSource {
			return nil, errs.Field("allow_non_isolated_network", "only for a failover that leaves the source running; with the source off, production networks are the point")
		}
		if cfg.KeepMACs {
			return nil, errs.Field("keep_macs", "allow_non_isolated_network needs keep_macs: false: a clone with the source's MAC (so its IP) on a network the source can reach takes the source's address")
		}
		cfg.AllowNonIsolatedNetwork = true
	}
	if opts.ShutdownTimeout != "" {
		d, err := time.ParseDuration(opts.ShutdownTimeout)
		if err != nil || d <= 0 || d > 2*time.Hour {
			return nil, errs.Field("shutdown_timeout", "must be a duration such as 5m, at most 2h")
		}
		cfg.ShutdownTimeout = Duration(d)
	}
	if cfg.PerformFinalSync && !cfg.PowerOffSource {
		return nil, errs.Field("perform_final_sync", "a final sync needs power_off_source: the disks would not be consistent while the source runs")
	}
	if opts.NetworkStrategy != "" {
		switch opts.NetworkStrategy {
		case NetworkProduction, NetworkIsolated, NetworkCustom:
			cfg.NetworkStrategy = opts.NetworkStrategy
		default:
			return nil, errs.Field("network_strategy", "must be production, isolated or custom, not %q", opts.NetworkStrategy)
		}
	}
	if len(opts.NetworkMappings) > 0 && opts.NetworkStrategy == "" {
		cfg.NetworkStrategy = NetworkCustom
	}
	if cfg.NetworkStrategy == NetworkCustom && len(opts.NetworkMappings) == 0 {
		return nil, errs.Field("network_mappings", "the custom network strategy needs network_mappings")
	}
	if cfg.NetworkStrategy != NetworkCustom && len(opts.NetworkMappings) > 0 {
		return nil, errs.Field("network_mappings", "network_mappings go with the custom network strategy only")
	}
	nics, err := planNICs(c, cfg, opts.NetworkMappings, mappings)
	if err != nil {
		return nil, err
	}
	cfg.NICs = nics
	cfg.DestinationHostName = HostName(cfg.DestinationVMName)
	return cfg, nil
}

// HostName is the destination VM's CloudStack name (derived again for a
// config stored before it carried one).
func (c *Config) HostName() string {
	if c.DestinationHostName != "" {
		return c.DestinationHostName
	}
	return HostName(c.DestinationVMName)
}

// MappingType is the stored mapping type a network strategy uses.
func MappingType(strategy string) store.MappingType {
	if strategy == NetworkProduction {
		return store.MappingLive
	}
	return store.MappingTest
}

// planNICs picks each source NIC's destination network: the request's own
// mappings (custom) or the context's stored mappings of the strategy's
// type. A NIC without a mapping gets an empty network id; pre-flight
// reports it.
func planNICs(c *store.VMContext, cfg *Config, custom []NetworkChoice, stored []store.NetworkMapping) ([]NICPlan, error) {
	byName := map[string]NetworkChoice{}
	if cfg.NetworkStrategy == NetworkCustom {
		onNIC := map[string]bool{}
		for _, n := range c.NICs {
			onNIC[n.NetworkName] = true
		}
		for i, m := range custom {
			if strings.TrimSpace(m.SourceNetworkName) == "" || strings.TrimSpace(m.DestinationNetworkID) == "" {
				return nil, errs.Field(fmt.Sprintf("network_mappings[%d]", i), "needs source_network_name and destination_network_id")
			}
			// The request's own mapping of a NIC the VM does not have is
			// refused here; a stored one, in pre-flight (checkMappings).
			if !onNIC[m.SourceNetworkName] {
				return nil, errs.Field(fmt.Sprintf("network_mappings[%d].source_network_name", i),
					"VM %s has no NIC on network %q (%s)", c.VMName, m.SourceNetworkName, nicNetworks(c))
			}
			byName[m.SourceNetworkName] = m
		}
	} else {
		want := MappingType(cfg.NetworkStrategy)
		for _, m := range stored {
			if m.MappingType == want {
				byName[m.SourceNetworkName] = NetworkChoice{SourceNetworkName: m.SourceNetworkName,
					DestinationNetworkID: m.DestinationNetworkID, DestinationNetworkName: m.DestinationNetworkName}
			}
		}
	}
	out := make([]NICPlan, 0, len(c.NICs))
	for _, n := range c.NICs {
		m := byName[n.NetworkName]
		p := NICPlan{SourceNetworkName: n.NetworkName, DestinationNetworkID: m.DestinationNetworkID,
			DestinationNetworkName: m.DestinationNetworkName}
		if cfg.KeepMACs {
			p.MAC = n.MAC
		}
		out = append(out, p)
	}
	return out, nil
}
