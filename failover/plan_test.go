package failover

import (
	"strings"
	"testing"

	"github.com/ossea/unifiedfailover/cloudstack"
	"github.com/ossea/unifiedfailover/errs"
)

func TestSharedNetworks(t *testing.T) {
	t.Parallel()
	nic := func(src, net string) NICPlan { return NICPlan{SourceNetworkName: src, DestinationNetworkID: net} }
	if got := SharedNetworks([]NICPlan{nic("a", "1"), nic("b", "2"), nic("c", "3")}); got != "" {
		t.Fatalf("distinct networks reported as shared: %s", got)
	}
	if got := SharedNetworks([]NICPlan{nic("a", "1"), nic("b", ""), nic("c", "")}); got != "" {
		t.Fatalf("unmapped NICs reported as shared: %s", got)
	}
	got := SharedNetworks([]NICPlan{nic("VM Network", "1"), nic("DB Network", "2"), nic("Backup Network", "1")})
	if !strings.Contains(got, "NIC 0 (VM Network) and NIC 2 (Backup Network) both map to network 1") {
		t.Fatalf("shared = %q", got)
	}
}

func TestPickOffering(t *testing.T) {
	t.Parallel()
	small := cloudstack.ServiceOffering{ID: "s", Name: "2c4g", CPUs: 2, MemoryMB: 4096}
	exact := cloudstack.ServiceOffering{ID: "e", Name: "4c8g", CPUs: 4, MemoryMB: 8192}
	big := cloudstack.ServiceOffering{ID: "b", Name: "8c16g", CPUs: 8, MemoryMB: 16384}
	custom := cloudstack.ServiceOffering{ID: "c", Name: "custom", Customized: true}
	cases := []struct {
		name      string
		offs      []cloudstack.ServiceOffering
		cpus, mem int
		want      string
	}{
		{"customized first", []cloudstack.ServiceOffering{small, exact, big, custom}, 4, 8192, "c"},
		{"smallest fixed that fits", []cloudstack.ServiceOffering{big, exact, small}, 3, 6000, "e"},
		{"exact fixed", []cloudstack.ServiceOffering{big, small, exact}, 2, 4096, "s"},
		{"customized when no fixed fits", []cloudstack.ServiceOffering{small, custom}, 16, 65536, "c"},
		{"none fits", []cloudstack.ServiceOffering{small, exact}, 16, 65536, ""},
	}
	for _, c := range cases {
		got := pickOffering(c.offs, c.cpus, c.mem)
		switch {
		case got == nil && c.want != "":
			t.Errorf("%s: no offering, want %s", c.name, c.want)
		case got != nil && got.ID != c.want:
			t.Errorf("%s: offering %s, want %q", c.name, got.ID, c.want)
		}
	}
}

// TestGateHardChecksCannotBeSkipped: skip_validation skips the soft
// checks only; a failed hard guard refuses the failover either way.
func TestGateHardChecksCannotBeSkipped(t *testing.T) {
	t.Parallel()
	soft := &Report{}
	soft.add("context-status", Pass, "ready")
	soft.add("service-offering", Fail, "no offering fits")
	if err := soft.Gate(false); !errs.Is(err, errs.FailedPrecondition) {
		t.Errorf("soft failure, not skipped: %v", err)
	}
	if err := soft.Gate(true); err != nil {
		t.Errorf("soft failure, skipped: %v", err)
	}
	if got := soft.SoftChecks(); len(got) != 1 || got[0] != "service-offering" {
		t.Errorf("softChecks = %v", got)
	}
	for _, name := range []string{"context-status", "active-job", "destination-name", "replicas"} {
		hard := &Report{}
		hard.add(name, Fail, "refused")
		hard.add("networks", Fail, "no mapping")
		err := hard.Gate(true)
		if !errs.Is(err, errs.FailedPrecondition) || !strings.Contains(err.Error(), name+": refused") ||
			strings.Contains(err.Error(), "networks") {
			t.Errorf("%s failed, skip_validation: %v, want refused on %s only", name, err, name)
		}
	}
}
