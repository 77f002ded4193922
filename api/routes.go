package api

import (
	"github.com/go-chi/chi/v5"

	"github.com/ossea/unifiedfailover/auth"
)

// routes is the /api/v1 route table, every route in one place, grouped by
// the role it needs. Every route needs a token (authenticate); reading
// needs a viewer's. What an operation needs beyond its group's role
// (admin and "confirm") follows what it does, and the engine's approval
// rule decides it (failover/approval.go). needEngine answers 503 when the
// failover engine is not configured.
func (s *Server) routes(r chi.Router) {
	r.Use(s.authenticate)

	// Viewer: reads.
	r.Get("/jobs/{job_id}", s.handle(s.getJob))
	r.Get("/jobs/{job_id}/events", s.handle(s.jobEvents))
	r.Get("/contexts", s.handle(s.listContexts))
	r.Get("/contexts/{context_id}", s.handle(s.getContext))
	r.Get("/failover/{job_id}/status", s.handle(s.failoverJobStatus))
	r.Get("/failover/jobs", s.handle(s.listFailoverJobs))
	r.Get("/audit", s.handle(s.listAudit))
	r.Get("/network-mappings", s.handle(s.listAllMappings))
	r.Get("/network-mappings/context/{context_id}", s.handle(s.listContextMappings))
	r.Get("/network-mappings/context/{context_id}/{source_network}", s.handle(s.getSourceMappings))
	r.Get("/network-mappings/{vm}", s.handle(s.listVMMappings))
	r.Get("/network-mappings/{vm}/status", s.handle(s.mappingStatus))
	r.Get("/drills", s.handle(s.listDrills))
	r.Get("/drills/runs/{run_id}", s.handle(s.getDrillRun))
	r.Get("/drills/runs/{run_id}/report.html", s.handle(s.drillReportHTML))
	r.Get("/drills/{id}", s.handle(s.getDrill))
	r.Get("/drills/{id}/runs", s.handle(s.listDrillRuns))
	r.Get("/workers", s.handle(s.listWorkers))
	r.Get("/plans", s.handle(s.listPlans))
	r.Get("/plans/{id}", s.handle(s.getPlan))
	// Validating reads the store only (recovery.Checker.Validate).
	r.Post("/plans/{id}/validate", s.handle(s.validatePlan))
	r.Get("/plan-runs/{run_id}", s.handle(s.getPlanRun))
	r.Get("/plan-runs/{run_id}/events", s.handle(s.planRunEvents))
	r.Group(func(r chi.Router) {
		r.Use(s.needEngine)
		r.Get("/plan-runs/{run_id}/report", s.handle(s.planRunReport))
		r.Get("/failover/preflight/config/{failover_type}/{vm}", s.handle(s.preflightConfig))
		r.Post("/failover/preflight/validate", s.handle(s.preflightValidate))
		r.Get("/failover/rollback/decision/{failover_type}/{vm}", s.handle(s.rollbackDecision))
		r.Get("/failover/{vm}/readiness", s.handle(s.readiness))
		r.Get("/networks/available", s.handle(s.availableNetworks))
		r.Post("/networks/resolve", s.handle(s.resolveNetworks))
		r.Get("/service-offerings/available", s.handle(s.availableOfferings))
		r.Get("/inventory/vms", s.handle(s.listInventory))
	})

	// Operator: mappings, registration, failovers and what follows them.
	r.Group(func(r chi.Router) {
		r.Use(s.require(auth.Operator))
		r.Post("/probe", s.handle(s.startProbe))
		r.Delete("/network-mappings/{vm}/{source_network}", s.handle(s.deleteVMMapping))
		r.Delete("/network-mappings/context/{context_id}", s.handle(s.deleteContextMappings))
		r.Delete("/network-mappings/context/{context_id}/{source_network}", s.handle(s.deleteSourceMapping))
		// Recovery plans' definitions; running a plan follows what it
		// does, as a failover does.
		r.Post("/plans", s.handle(s.createPlan))
		r.Put("/plans/{id}", s.handle(s.updatePlan))
		r.Group(func(r chi.Router) {
			r.Use(s.needEngine)
			// A mapping is saved only once CloudStack has its destination
			// network (failover.Engine.SaveMappings).
			r.Post("/network-mappings", s.handle(s.createLegacyMapping))
			r.Post("/network-mappings/context/{context_id}", s.handle(s.upsertContextMappings))
			r.Put("/network-mappings/context/{context_id}", s.handle(s.replaceContextMappings))
			r.Post("/network-mappings/context/{context_id}/{source_network}", s.handle(s.putSourceMapping))
			r.Put("/network-mappings/context/{context_id}/{source_network}", s.handle(s.putSourceMapping))
			r.Post("/contexts", s.handle(s.registerContext))
			r.Post("/contexts/{context_id}/refresh", s.handle(s.refreshContext))
			r.Patch("/contexts/{context_id}", s.handle(s.updateContext))
			r.Post("/failover/unified", s.handle(s.startFailover))
			r.Post("/failover/rollback", s.handle(s.startRollback))
			r.Post("/failover/{job_id}/retry", s.handle(s.retryJob))
			r.Post("/failover/{job_id}/commit", s.handle(s.commitFailover))
			r.Post("/failover/{job_id}/cancel", s.handle(s.cancelJob))
			// A live run needs the admin role and confirm (recovery.Runs.Start).
			r.Post("/plans/{id}/runs", s.handle(s.startPlanRun))
			for _, a := range []string{"retry", "skip", "continue", "cancel", "rollback"} {
				r.Post("/plan-runs/{run_id}/"+a, s.handle(s.planRunAction(a)))
			}
		})
	})

	// Admin: what ends a VM's protection, recovery plans' deletion, and
	// drill schedules.
	r.Group(func(r chi.Router) {
		r.Use(s.require(auth.Admin))
		r.With(s.needEngine).Delete("/contexts/{context_id}", s.handle(s.unregisterContext))
		r.Post("/drills", s.handle(s.createDrill))
		r.Put("/drills/{id}", s.handle(s.updateDrill))
		r.Delete("/drills/{id}", s.handle(s.deleteDrill))
		r.Delete("/plans/{id}", s.handle(s.deletePlan))
		r.With(s.needEngine).Post("/drills/{id}/run", s.handle(s.runDrill))
	})
}
