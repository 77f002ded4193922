package api_test

import (
	"net/http"
	"testing"

	"github.com/ossea/unifiedfailover/api/apiv1"
	"github.com/ossea/unifiedfailover/store"
)

// TestDeletePlanWithUnfinishedRunRefused: a plan with an unfinished run
// cannot be deleted (409 naming the run, the plan kept); once the run has
// ended it can, and the run stays as history.
func TestDeletePlanWithUnfinishedRunRefused(t *testing.T) {
	t.Parallel()
	f := setupFull(t)
	vm := f.lab.VMs[0]
	spec := apiv1.PlanSpec{Name: "held", Waves: []apiv1.Wave{{Members: []apiv1.Member{{ID: "m", VM: vm.Name}}}}}
	plan, err := f.store.CreateRecoveryPlan(f.ctx, spec, "ada")
	if err != nil {
		t.Fatal(err)
	}
	run, err := f.store.CreatePlanRun(f.ctx, store.NewPlanRun{Plan: plan, Spec: spec, Mode: apiv1.ModeTest, CreatedBy: "ada",
		Members: []store.NewPlanRunMember{{ID: "m", ContextID: f.contexts[vm.Name], VMName: vm.Name}}})
	if err != nil {
		t.Fatal(err)
	}
	code, body := f.call(adminToken, "DELETE", "/api/v1/plans/"+plan.ID, "")
	if d, _ := body["details"].(map[string]any); code != http.StatusConflict || d["run_id"] != run.ID {
		t.Fatalf("deleting a plan with a running run: %d %v, want 409 naming run %s", code, body, run.ID)
	}
	if _, err := f.store.GetRecoveryPlan(f.ctx, plan.ID); err != nil {
		t.Fatalf("the refused delete removed the plan: %v", err)
	}
	if err := f.store.EndPlanRun(f.ctx, run.ID, apiv1.RunCancelled, "test", nil); err != nil {
		t.Fatal(err)
	}
	if code, body := f.call(adminToken, "DELETE", "/api/v1/plans/"+plan.ID, ""); code != http.StatusNoContent {
		t.Fatalf("deleting a plan whose run ended: %d %v", code, body)
	}
	if r, err := f.store.GetPlanRun(f.ctx, run.ID); err != nil || r.PlanName != "held" {
		t.Fatalf("the ended run after its plan's delete: %+v, %v", r, err)
	}
}
