package api

import (
	"net/http"

	"github.com/go-chi/chi/v5"

	"github.com/ossea/unifiedfailover/auth"
)

// mountOperatorAPI adds the operator's routes (pre-flight, rollback
// decision, readiness, job listing, audit, network mappings and the
// CloudStack catalog) to the authenticated /api/v1 router. Reading needs a
// viewer token; changing mappings needs an operator token.
func (s *Server) mountOperatorAPI(r chi.Router) {
	r.Get("/failover/jobs", s.handle(s.listFailoverJobs))
	r.Get("/audit", s.handle(s.listAudit))
	r.Get("/network-mappings", s.handle(s.listAllMappings))
	r.Get("/network-mappings/context/{context_id}", s.listContextMappings)
	r.Get("/network-mappings/context/{context_id}/{source_network}", s.handle(s.getSourceMappings))
	r.Get("/network-mappings/{vm}", s.listVMMappings)
	r.Get("/network-mappings/{vm}/status", s.handle(s.mappingStatus))
	r.Group(func(r chi.Router) {
		r.Use(s.needEngine)
		r.Get("/failover/preflight/config/{failover_type}/{vm}", s.handle(s.preflightConfig))
		r.Post("/failover/preflight/validate", s.handle(s.preflightValidate))
		r.Get("/failover/rollback/decision/{failover_type}/{vm}", s.rollbackDecision)
		r.Get("/failover/{vm}/readiness", s.handle(s.readiness))
		r.Get("/networks/available", s.handle(s.availableNetworks))
		r.Post("/networks/resolve", s.handle(s.resolveNetworks))
		r.Get("/service-offerings/available", s.handle(s.availableOfferings))
	})
	r.Group(func(r chi.Router) {
		r.Use(s.require(auth.Operator))
		r.Post("/network-mappings", s.handle(s.createLegacyMapping))
		r.Delete("/network-mappings/{vm}/{source_network}", s.deleteVMMapping)
		r.Post("/network-mappings/context/{context_id}", s.upsertContextMappings)
		r.Put("/network-mappings/context/{context_id}", s.replaceContextMappings)
		r.Delete("/network-mappings/context/{context_id}", s.deleteContextMappings)
		r.Post("/network-mappings/context/{context_id}/{source_network}", s.handle(s.putSourceMapping))
		r.Put("/network-mappings/context/{context_id}/{source_network}", s.handle(s.putSourceMapping))
		r.Delete("/network-mappings/context/{context_id}/{source_network}", s.deleteSourceMapping)
	})
}

// openAPI serves the OpenAPI document (no token needed).
func (s *Server) openAPI(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-cache")
	_, _ = w.Write(OpenAPIDocument())
}
