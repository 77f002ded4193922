package store_test

import (
	"errors"
	"testing"

	"github.com/ossea/unifiedfailover/api/apiv1"
	"github.com/ossea/unifiedfailover/errs"
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
