package tasks

import (
	"testing"

	"github.com/ossea/unifiedfailover/failover"
)

// TestSkipReasons: each failover step's skip follows the config.
func TestSkipReasons(t *testing.T) {
	t.Parallel()
	reasons := func(cfg *failover.Config, ro failover.RollbackOptions, chain []step) map[string]string {
		out := map[string]string{}
		for _, s := range planSteps(chain, &failover.PlanInput{Config: cfg, Rollback: ro}) {
			out[s.Name] = s.SkipReason
		}
		return out
	}
	test := reasons(&failover.Config{OSType: "linux", SnapshotType: failover.SnapshotCloudStack}, failover.RollbackOptions{}, failoverChain)
	if test["source-power-off"] == "" || test["final-sync"] == "" || test["virtio-injection"] == "" || test["snapshot"] != "" ||
		test["validation"] != "" || test["vm-creation"] != "" {
		t.Errorf("a Linux test failover: %v", test)
	}
	live := reasons(&failover.Config{OSType: "windows", PowerOffSource: true, PerformFinalSync: true, SkipValidation: true,
		SnapshotType: failover.SnapshotCloudStack}, failover.RollbackOptions{}, failoverChain)
	if live["source-power-off"] != "" || live["final-sync"] != "" || live["virtio-injection"] != "" || live["validation"] != "" {
		t.Errorf("a Windows live failover (skip_validation: validation still runs, on the hard checks): %v", live)
	}
	if r := reasons(&failover.Config{OSType: "windows", SkipVirtio: true, SnapshotType: failover.SnapshotNone}, failover.RollbackOptions{}, failoverChain); r["virtio-injection"] == "" || r["snapshot"] == "" {
		t.Errorf("skip_virtio, no snapshots: %v", r)
	}
	if r := reasons(&failover.Config{}, failover.RollbackOptions{}, rollbackChain); r["power-on-source"] == "" {
		t.Errorf("a rollback without power_on_source: %v", r)
	}
	if r := reasons(&failover.Config{}, failover.RollbackOptions{PowerOnSource: true}, rollbackChain); r["power-on-source"] != "" {
		t.Errorf("a rollback with power_on_source: %v", r)
	}
}
