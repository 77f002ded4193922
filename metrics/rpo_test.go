package metrics_test

import (
	"context"
	"fmt"
	"maps"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ossea/unifiedfailover/metrics"
	"github.com/ossea/unifiedfailover/store"
	"github.com/ossea/unifiedfailover/store/storetest"
)

// TestRPOCollector: each VM exports its target, and its RPO unless a disk
// never reported a sync.
func TestRPOCollector(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	st := storetest.Open(t, ctx)
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	synced := now.Add(-2 * time.Hour)
	recent := now.Add(-90 * time.Second)
	target := 3600
	for _, c := range []*store.VMContext{
		{ContextID: "ctx-behind", VMName: "behind", VMwareVMID: "u-behind", Disks: []store.Disk{
			{DiskKey: 1, UnitOrder: 0, VolumeID: "v-behind-1", LastSyncedAt: &recent},
			{DiskKey: 2, UnitOrder: 1, VolumeID: "v-behind-2", LastSyncedAt: &synced}}},
		{ContextID: "ctx-own", VMName: "own", VMwareVMID: "u-own", RPOTargetSeconds: &target, Disks: []store.Disk{
			{DiskKey: 1, UnitOrder: 0, VolumeID: "v-own-1", LastSyncedAt: &recent}}},
		{ContextID: "ctx-unknown", VMName: "unknown", VMwareVMID: "u-unknown", Disks: []store.Disk{
			{DiskKey: 1, UnitOrder: 0, VolumeID: "v-unknown-1", LastSyncedAt: &recent},
			{DiskKey: 2, UnitOrder: 1, VolumeID: "v-unknown-2"}}},
	} {
		c.OSType, c.Firmware, c.CurrentStatus = "linux", "bios", store.StatusReadyForFailover
		if err := st.CreateContext(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	c := &metrics.RPO{Store: st, Target: 15 * time.Minute, Now: func() time.Time { return now }}
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(c)
	fams, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, f := range fams {
		for _, m := range f.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			got[fmt.Sprintf("%s{%s,%s}", f.GetName(), labels["context_id"], labels["vm_name"])] = m.GetGauge().GetValue()
		}
	}
	want := map[string]float64{
		"failover_vm_rpo_seconds{ctx-behind,behind}":          7200,
		"failover_vm_rpo_seconds{ctx-own,own}":                90,
		"failover_vm_rpo_target_seconds{ctx-behind,behind}":   900,
		"failover_vm_rpo_target_seconds{ctx-own,own}":         3600,
		"failover_vm_rpo_target_seconds{ctx-unknown,unknown}": 900,
	}
	if !maps.Equal(got, want) {
		t.Fatalf("collected %v, want %v", got, want)
	}
}
