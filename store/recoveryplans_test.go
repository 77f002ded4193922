package store_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/ossea/unifiedfailover/api/apiv1"
	"github.com/ossea/unifiedfailover/errs"
	"github.com/ossea/unifiedfailover/store"
)

// TestRecoveryPlanVersions: a plan is stored at version 1, each update
// needs the version it read and makes the next one, a stale update
// changes nothing and says the current version; names are unique.
func TestRecoveryPlanVersions(t *testing.T) {
	t.Parallel()
	b := setup(t)
	spec := apiv1.PlanSpec{Name: "shop", MaxParallelVMs: 4, Waves: []apiv1.Wave{{Members: []apiv1.Member{{VM: "db1"}}}}}
	p, err := b.store.CreateRecoveryPlan(b.ctx, spec, "ada")
	if err != nil || p.Version != 1 || p.Name != "shop" || p.CreatedBy != "ada" || len(p.Waves) != 1 {
		t.Fatalf("create: %+v, %v", p, err)
	}
	if _, err := b.store.CreateRecoveryPlan(b.ctx, spec, "ada"); !errs.Is(err, errs.AlreadyExists) {
		t.Fatalf("a second plan named shop: %v", err)
	}
	spec.MaxParallelVMs = 8
	up, err := b.store.UpdateRecoveryPlan(b.ctx, p.ID, 1, spec)
	if err != nil || up.Version != 2 || up.MaxParallelVMs != 8 {
		t.Fatalf("update at version 1: %+v, %v", up, err)
	}
	spec.MaxParallelVMs = 2
	_, err = b.store.UpdateRecoveryPlan(b.ctx, p.ID, 1, spec)
	var e *errs.Error
	if !errs.Is(err, errs.FailedPrecondition) || !errors.As(err, &e) || e.Details["version"] != 2 {
		t.Fatalf("a stale update: %v, want FailedPrecondition with version 2", err)
	}
	got, err := b.store.GetRecoveryPlan(b.ctx, "shop")
	if err != nil || got.Version != 2 || got.MaxParallelVMs != 8 || got.ID != p.ID {
		t.Fatalf("after the stale update: %+v, %v", got, err)
	}
	if list, err := b.store.ListRecoveryPlans(b.ctx); err != nil || len(list) != 1 {
		t.Fatalf("list: %v, %v", list, err)
	}
	if err := b.store.DeleteRecoveryPlan(b.ctx, p.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := b.store.GetRecoveryPlan(b.ctx, p.ID); !errs.Is(err, errs.NotFound) {
		t.Fatalf("after delete: %v", err)
	}
}

// TestRecoveryPlanDecisions: each audited change records its decision with
// the plan's id and version in the same transaction; a refused change
// records none.
func TestRecoveryPlanDecisions(t *testing.T) {
	t.Parallel()
	b := setup(t)
	spec := apiv1.PlanSpec{Name: "shop", Waves: []apiv1.Wave{{Members: []apiv1.Member{{VM: "db1"}}}}}
	p, err := b.store.CreateRecoveryPlanAudited(b.ctx, spec, "otto", store.Decision{Decision: "plan-create", Actor: "otto"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.store.CreateRecoveryPlanAudited(b.ctx, spec, "otto", store.Decision{Decision: "plan-create", Actor: "otto"}); !errs.Is(err, errs.AlreadyExists) {
		t.Fatalf("a second plan named shop: %v", err)
	}
	if _, err := b.store.UpdateRecoveryPlanAudited(b.ctx, p.ID, 1, spec, store.Decision{Decision: "plan-update", Actor: "otto"}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.store.UpdateRecoveryPlanAudited(b.ctx, p.ID, 1, spec, store.Decision{Decision: "plan-update", Actor: "otto"}); !errs.Is(err, errs.FailedPrecondition) {
		t.Fatalf("a stale update: %v", err)
	}
	if err := b.store.DeleteRecoveryPlanAudited(b.ctx, p.ID, store.Decision{Decision: "plan-delete", Actor: "ada"}); err != nil {
		t.Fatal(err)
	}
	if err := b.store.DeleteRecoveryPlanAudited(b.ctx, p.ID, store.Decision{Decision: "plan-delete", Actor: "ada"}); !errs.Is(err, errs.NotFound) {
		t.Fatalf("a second delete: %v", err)
	}
	ds, err := b.store.ListAudit(b.ctx, store.AuditFilter{})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, d := range ds {
		if d.Choice["plan_id"] != p.ID || d.Choice["plan"] != "shop" {
			t.Errorf("decision %s does not name the plan: %v", d.Decision, d.Choice)
		}
		got = append(got, fmt.Sprintf("%s by %s at v%v", d.Decision, d.Actor, d.Choice["version"]))
	}
	want := []string{"plan-delete by ada at v2", "plan-update by otto at v2", "plan-create by otto at v1"}
	if strings.Join(got, "; ") != strings.Join(want, "; ") {
		t.Fatalf("audit: %v, want %v", got, want)
	}
}
