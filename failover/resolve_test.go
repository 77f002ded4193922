package failover

import (
	"testing"
	"time"

	"github.com/ossea/unifiedfailover/errs"
	"github.com/ossea/unifiedfailover/store"
)

// TestResolve covers every failover type with each option, and what each
// combination resolves to or why it is refused.
func TestResolve(t *testing.T) {
	t.Parallel()
	vm := &store.VMContext{ContextID: "c1", VMName: "Web01", VMwareVMID: "u1", CPUCount: 2, MemoryMB: 4096, OSType: "linux",
		NICs: []store.SourceNIC{{NICKey: 1, NetworkName: "prod", MAC: "00:50:56:00:00:01"}}}
	maps := []store.NetworkMapping{
		{SourceNetworkName: "prod", DestinationNetworkID: "live-net", MappingType: store.MappingLive},
		{SourceNetworkName: "prod", DestinationNetworkID: "test-net", MappingType: store.MappingTest},
	}
	now := time.Unix(1_800_000_000, 0)
	f, tr := ptrBool(false), ptrBool(true)
	for _, c := range []struct {
		name  string
		typ   Type
		opts  Options
		check func(*Config) bool
		field string // refused on this field
	}{
		{"test defaults", Test, Options{}, func(c *Config) bool {
			return !c.PowerOffSource && !c.PerformFinalSync && c.NetworkStrategy == NetworkIsolated && c.NICs[0].DestinationNetworkID == "test-net" &&
				c.DestinationVMName == "Web01-test-1800000000" && c.KeepMACs && c.NICs[0].MAC != ""
		}, ""},
		{"live defaults", Live, Options{}, func(c *Config) bool {
			return c.PowerOffSource && c.PerformFinalSync && c.NetworkStrategy == NetworkProduction && c.NICs[0].DestinationNetworkID == "live-net" &&
				c.DestinationVMName == "Web01" && c.DestinationHostName == "web01"
		}, ""},
		{"live without final sync", Live, Options{PerformFinalSync: f}, func(c *Config) bool { return c.PowerOffSource && !c.PerformFinalSync }, ""},
		{"live, final sync without power-off", Live, Options{PowerOffSource: f}, nil, "perform_final_sync"},
		{"live, source left running", Live, Options{PowerOffSource: f, PerformFinalSync: f}, func(c *Config) bool { return !c.PowerOffSource }, ""},
		{"test powering off the source", Test, Options{PowerOffSource: tr}, nil, "power_off_source"},
		{"test with a final sync", Test, Options{PerformFinalSync: tr}, nil, "perform_final_sync"},
		{"new MACs", Test, Options{KeepMACs: f}, func(c *Config) bool { return !c.KeepMACs && c.NICs[0].MAC == "" }, ""},
		{"shutdown timeout", Live, Options{ShutdownTimeout: "90s"}, func(c *Config) bool { return time.Duration(c.ShutdownTimeout) == 90*time.Second }, ""},
		{"bad shutdown timeout", Live, Options{ShutdownTimeout: "3h"}, nil, "shutdown_timeout"},
		{"custom networks", Test, Options{NetworkMappings: NetworkChoices{{SourceNetworkName: "prod", DestinationNetworkID: "n9"}}},
			func(c *Config) bool {
				return c.NetworkStrategy == NetworkCustom && c.NICs[0].DestinationNetworkID == "n9"
			}, ""},
		{"custom mapping of a NIC the VM does not have", Test, Options{NetworkMappings: NetworkChoices{{SourceNetworkName: "prod", DestinationNetworkID: "n9"},
			{SourceNetworkName: "backup", DestinationNetworkID: "n8"}}}, nil, "network_mappings[1].source_network_name"},
		{"custom strategy without mappings", Test, Options{NetworkStrategy: NetworkCustom}, nil, "network_mappings"},
		{"mappings with another strategy", Test, Options{NetworkStrategy: NetworkIsolated,
			NetworkMappings: NetworkChoices{{SourceNetworkName: "prod", DestinationNetworkID: "n9"}}}, nil, "network_mappings"},
		{"unknown strategy", Test, Options{NetworkStrategy: "dmz"}, nil, "network_strategy"},
		{"test on production networks", Test, Options{NetworkStrategy: NetworkProduction},
			func(c *Config) bool { return c.NICs[0].DestinationNetworkID == "live-net" }, ""},
		{"non-isolated allowed with new MACs", Test, Options{AllowNonIsolatedNetwork: true, KeepMACs: f},
			func(c *Config) bool { return c.AllowNonIsolatedNetwork }, ""},
		{"non-isolated with the source MACs", Test, Options{AllowNonIsolatedNetwork: true}, nil, "keep_macs"},
		{"non-isolated on a live failover", Live, Options{AllowNonIsolatedNetwork: true, KeepMACs: f}, nil, "allow_non_isolated_network"},
		{"skip validation and virtio", Test, Options{SkipValidation: true, SkipVirtio: true},
			func(c *Config) bool { return c.SkipValidation && c.SkipVirtio }, ""},
		{"unknown type", Type("prod"), Options{}, nil, "failover_type"},
	} {
		cfg, err := Resolve(vm, c.typ, c.opts, maps, now)
		switch {
		case c.field != "":
			if !errs.Is(err, errs.InvalidArgument) || !containsField(err, c.field) {
				t.Errorf("%s: %v, want refused on %s", c.name, err, c.field)
			}
		case err != nil:
			t.Errorf("%s: %v", c.name, err)
		case !c.check(cfg):
			t.Errorf("%s: resolved to %+v", c.name, cfg)
		}
	}
}
