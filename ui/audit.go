package ui

import (
	"encoding/json"
	"net/http"
	"net/url"

	"github.com/ossea/unifiedfailover/api/apiv1"
)

type auditRow struct {
	apiv1.Decision
	ChoiceJSON string
}

type auditData struct {
	Actor, Decision, JobID string
	Rows                   []auditRow
}

// audit is the decision audit, newest first, filtered by ?actor=,
// ?decision= and ?job_id= as the API filters it.
func (c *Console) audit(w http.ResponseWriter, r *http.Request) {
	qs := r.URL.Query()
	d := auditData{Actor: qs.Get("actor"), Decision: qs.Get("decision"), JobID: qs.Get("job_id")}
	q := url.Values{"limit": {"200"}}
	for k, v := range map[string]string{"actor": d.Actor, "decision": d.Decision, "job_id": d.JobID} {
		if v != "" {
			q.Set(k, v)
		}
	}
	var list apiv1.AuditList
	if err := c.call(r.Context(), sessionOf(r), http.MethodGet, "/audit?"+q.Encode(), nil, &list); err != nil {
		c.failErr(w, r, err)
		return
	}
	for _, dec := range list.Decisions {
		raw, _ := json.Marshal(dec.Choice)
		d.Rows = append(d.Rows, auditRow{Decision: dec, ChoiceJSON: string(raw)})
	}
	c.render(w, r, http.StatusOK, "audit", view{Title: "Decision audit", Nav: "audit", Data: d})
}
