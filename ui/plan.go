package ui

import (
	"net/http"

	"github.com/ossea/unifiedfailover/api/apiv1"
)

type planData struct {
	VM   apiv1.ContextDetail
	Type apiv1.FailoverType
	Plan *apiv1.Plan
}

// plan shows what a failover of the VM would do, resolved by the API's
// dry run (configuration, pre-flight checks, steps, effects and the
// approval they need), with the form that starts it. Nothing runs.
func (c *Console) plan(w http.ResponseWriter, r *http.Request) {
	s := sessionOf(r)
	typ := apiv1.FailoverType(r.URL.Query().Get("failover_type"))
	if typ != "test" && typ != "live" {
		c.fail(w, r, http.StatusBadRequest, "failover_type must be test or live")
		return
	}
	d := planData{Type: typ}
	id := r.PathValue("id")
	if err := c.call(r.Context(), s, http.MethodGet, "/contexts/"+pathEscape(id), nil, &d.VM); err != nil {
		c.failErr(w, r, err)
		return
	}
	var dry apiv1.DryRun
	if err := c.call(r.Context(), s, http.MethodPost, "/failover/unified", apiv1.FailoverRequest{ContextID: id, FailoverType: typ, DryRun: true}, &dry); err != nil {
		c.failErr(w, r, err)
		return
	}
	d.Plan = dry.Plan
	c.render(w, r, http.StatusOK, "plan", view{Title: string(typ) + " failover of " + d.VM.VMName, Nav: "vms", Data: d})
}
