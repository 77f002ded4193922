package api_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/ossea/unifiedfailover/sim/vcenter"
)

// TestProtectFromInventory: the inventory lists the lab's VMs with their
// disks' replicas found by the naming rule; a VM is protected by its UUID
// alone, or by its inventory path and replica volume ids, with the exports
// and change ids read by the product; the inventory then says so. What
// cannot be found is listed in one refusal that changes nothing, and a VM
// without CBT is refused with how to enable it.
func TestProtectFromInventory(t *testing.T) {
	t.Parallel()
	f := setupLab(t)
	orphan, err := f.lab.VCenter.CreateVM(f.ctx, vcenter.VMDef{Name: "orphan", Disks: []vcenter.DiskDef{{SizeBytes: 16 << 20}, {SizeBytes: 8 << 20}}})
	if err != nil {
		t.Fatal(err)
	}
	noCBT, err := f.lab.VCenter.CreateVM(f.ctx, vcenter.VMDef{Name: "no-cbt", Disks: []vcenter.DiskDef{{SizeBytes: 16 << 20}}, NoCBT: true})
	if err != nil {
		t.Fatal(err)
	}

	inventory := func(query string) map[string]map[string]any {
		t.Helper()
		code, body := f.call(viewerToken, "GET", "/api/v1/inventory/vms"+query, "")
		if code != http.StatusOK {
			t.Fatalf("GET /inventory/vms%s: %d %v", query, code, body)
		}
		out := map[string]map[string]any{}
		for _, v := range body["vms"].([]any) {
			vm := v.(map[string]any)
			out[vm["name"].(string)] = vm
		}
		return out
	}
	inv := inventory("")
	if len(inv) != len(f.lab.VMs)+2 {
		t.Fatalf("inventory has %d VMs, want %d: %v", len(inv), len(f.lab.VMs)+2, inv)
	}
	for _, vm := range f.lab.VMs {
		e := inv[vm.Name]
		if e["vmware_vm_id"] != vm.UUID || e["protected"] != false || e["inventory_path"] != "/DC0/vm/"+vm.Name ||
			e["cbt"].(map[string]any)["enabled"] != true || e["power_state"] != "poweredOn" {
			t.Errorf("inventory entry of %s = %v", vm.Name, e)
		}
		disks := e["disks"].([]any)
		if len(disks) != len(vm.Disks) {
			t.Fatalf("%s: %d disks in the inventory, %d in the lab", vm.Name, len(disks), len(vm.Disks))
		}
		for i, d := range disks {
			r := d.(map[string]any)["replica"].(map[string]any)
			if r["volume_id"] != vm.Disks[i].VolumeID || r["found_by"] != "naming_rule" {
				t.Errorf("%s disk %d: replica %v, want %s by naming rule", vm.Name, i, r, vm.Disks[i].VolumeID)
			}
		}
		if nics := e["nics"].([]any); len(nics) != len(vm.NICs) || nics[0].(map[string]any)["mac_address"] != vm.NICs[0].MAC {
			t.Errorf("%s: NICs %v, want %+v", vm.Name, nics, vm.NICs)
		}
	}
	if r := inv["orphan"]["disks"].([]any)[1].(map[string]any)["replica"].(map[string]any); !strings.Contains(fmt.Sprint(r["problem"]), `"orphan-disk2"`) {
		t.Errorf("orphan's second disk: replica %v, want a problem naming orphan-disk2", r)
	}
	if c := inv["no-cbt"]["cbt"].(map[string]any); c["enabled"] != false || !strings.Contains(fmt.Sprint(c["hint"]), "ctkEnabled=TRUE") {
		t.Errorf("no-cbt: cbt %v, want disabled with a hint naming ctkEnabled", c)
	}

	// The UUID alone.
	first := f.lab.VMs[0]
	code, body := f.call(operatorToken, "POST", "/api/v1/contexts", fmt.Sprintf(`{"vmware_vm_id": %q}`, first.UUID))
	if code != http.StatusCreated {
		t.Fatalf("protecting %s by UUID: %d %v", first.Name, code, body)
	}
	if body["replication_state"] != "in_sync" || body["rpo_seconds"] == nil || body["rpo_seconds"].(float64) > 60 {
		t.Errorf("%s protected by UUID: replication %v, RPO %v; want in sync as of now", first.Name, body["replication_state"], body["rpo_seconds"])
	}
	m := f.lab.Manifest().VMs[0].Register
	for i, d := range body["disks"].([]any) {
		disk := d.(map[string]any)
		want := m.Disks[i]
		if disk["volume_id"] != want.VolumeID || disk["disk_change_id"] != want.ChangeID || disk["source_nbd_uri"] == "" || disk["replica_nbd_uri"] == "" ||
			disk["last_synced_at"] == nil {
			t.Errorf("%s disk %d = %v, want volume %s and change id %s", first.Name, i, disk, want.VolumeID, want.ChangeID)
		}
	}
	// The inventory path and the replica volume ids.
	second := f.lab.VMs[1]
	disks := make([]map[string]any, len(second.Disks))
	for i, d := range second.Disks {
		disks[i] = map[string]any{"disk_key": d.Key, "volume_id": d.VolumeID}
	}
	raw, _ := json.Marshal(map[string]any{"inventory_path": "/DC0/vm/" + second.Name, "disks": disks})
	if code, body := f.call(operatorToken, "POST", "/api/v1/contexts", string(raw)); code != http.StatusCreated || body["vmware_vm_id"] != second.UUID {
		t.Fatalf("protecting %s by path: %d %v", second.Name, code, body)
	}

	inv = inventory("?protected=true")
	if len(inv) != 2 || inv[first.Name]["context_id"] == nil || inv[second.Name]["context_status"] != "ready_for_failover" {
		t.Errorf("protected inventory = %v, want %s and %s with their contexts", inv, first.Name, second.Name)
	}
	if r := inv[first.Name]["disks"].([]any)[0].(map[string]any)["replica"].(map[string]any); r["found_by"] != "registered" {
		t.Errorf("a protected VM's replica: %v, want found_by registered", r)
	}
	if inv = inventory("?protected=false"); len(inv) != len(f.lab.VMs) || inv[first.Name] != nil || inv["orphan"] == nil {
		t.Errorf("unprotected inventory = %v", inv)
	}
	if code, body := f.call(viewerToken, "GET", "/api/v1/inventory/vms?protected=maybe", ""); code != http.StatusBadRequest {
		t.Errorf("?protected=maybe: %d %v, want 400", code, body)
	}

	// Refusals change nothing.
	count := func() int {
		_, body := f.call(viewerToken, "GET", "/api/v1/contexts", "")
		return len(body["contexts"].([]any))
	}
	before := count()
	code, body = f.call(operatorToken, "POST", "/api/v1/contexts", fmt.Sprintf(`{"vmware_vm_id": %q}`, orphan.UUID))
	missing, _ := body["details"].(map[string]any)["missing"].([]any)
	if code != http.StatusBadRequest || len(missing) != 2 || !strings.Contains(fmt.Sprint(missing[0]), `"orphan-disk1"`) {
		t.Errorf("protecting a VM without replicas: %d %v, want 400 listing both disks", code, body)
	}
	code, body = f.call(operatorToken, "POST", "/api/v1/contexts",
		fmt.Sprintf(`{"vmware_vm_id": %q, "disks": [{"disk_key": %d, "volume_id": %q}]}`, noCBT.UUID, noCBT.Disks[0].Key, f.lab.VMs[2].Disks[0].VolumeID))
	if code != http.StatusConflict || !strings.Contains(fmt.Sprint(body["error"]), "ctkEnabled=TRUE") {
		t.Errorf("protecting a VM without CBT: %d %v, want 409 saying how to enable CBT", code, body)
	}
	if code, body := f.call(operatorToken, "POST", "/api/v1/contexts", `{"inventory_path": "/DC0/vm/nobody"}`); code != http.StatusNotFound {
		t.Errorf("protecting a missing path: %d %v, want 404", code, body)
	}
	if after := count(); after != before {
		t.Errorf("refused registrations left %d contexts, had %d", after, before)
	}
}
