package ui

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/ossea/unifiedfailover/api/apiv1"
	"github.com/ossea/unifiedfailover/auth"
)

// vmRow is one row of the protected VMs' table.
type vmRow struct {
	apiv1.VMContext
	LastJob *apiv1.Job
}

type vmListData struct {
	Query, Status string
	Statuses      []apiv1.ContextStatus
	Rows          []vmRow
	Total         int
}

var contextStatuses = []apiv1.ContextStatus{apiv1.StatusDiscovered, apiv1.StatusReplicating, apiv1.StatusReadyForFailover,
	apiv1.StatusFailedOverTest, apiv1.StatusFailedOverLive, apiv1.StatusCompleted, apiv1.StatusFailed, apiv1.StatusCleanupRequired}

// vmList is the protected VMs' table, filtered by ?q= (part of the name,
// any case) and ?status=.
func (c *Console) vmList(w http.ResponseWriter, r *http.Request) {
	s := sessionOf(r)
	var list apiv1.ContextList
	if err := c.call(r.Context(), s, http.MethodGet, "/contexts", nil, &list); err != nil {
		c.failErr(w, r, err)
		return
	}
	var jobs apiv1.JobList
	if err := c.call(r.Context(), s, http.MethodGet, "/failover/jobs?limit=500", nil, &jobs); err != nil {
		c.failErr(w, r, err)
		return
	}
	last := map[string]*apiv1.Job{}
	for i := range jobs.Jobs {
		j := &jobs.Jobs[i]
		if p := last[j.ContextID]; p == nil || j.CreatedAt.After(p.CreatedAt) {
			last[j.ContextID] = j
		}
	}
	d := vmListData{Query: r.URL.Query().Get("q"), Status: r.URL.Query().Get("status"), Statuses: contextStatuses, Total: len(list.Contexts)}
	q := strings.ToLower(strings.TrimSpace(d.Query))
	for _, vm := range list.Contexts {
		if q != "" && !strings.Contains(strings.ToLower(vm.VMName), q) {
			continue
		}
		if d.Status != "" && string(vm.CurrentStatus) != d.Status {
			continue
		}
		d.Rows = append(d.Rows, vmRow{VMContext: vm, LastJob: last[vm.ContextID]})
	}
	c.render(w, r, http.StatusOK, "vms", view{Title: "Protected VMs", Nav: "vms", Data: d})
}

type vmDetailData struct {
	VM apiv1.ContextDetail
	// Rows and Networks are the mapping editor's (for operators).
	Rows           []mappingRow
	Networks       []apiv1.Network
	NetworksError  string
	Readiness      *apiv1.ReadinessReport
	ReadinessError string
}

// vmDetail is one VM: disks, NICs, mappings, its pre-flight report (the
// engine's, for a test failover) and its last jobs, with the forms that
// start a failover.
func (c *Console) vmDetail(w http.ResponseWriter, r *http.Request) {
	s := sessionOf(r)
	id := pathEscape(r.PathValue("id"))
	var d vmDetailData
	if err := c.call(r.Context(), s, http.MethodGet, "/contexts/"+id, nil, &d.VM); err != nil {
		c.failErr(w, r, err)
		return
	}
	if s.who.Role.Allows(auth.Operator) {
		d.Rows = mappingRows(d.VM)
		var nets apiv1.NetworkList
		if err := c.call(r.Context(), s, http.MethodGet, "/networks/available", nil, &nets); err != nil {
			d.NetworksError = err.Error()
		}
		d.Networks = nets.Networks
	}
	var rep apiv1.ReadinessReport
	if err := c.call(r.Context(), s, http.MethodGet, "/failover/"+id+"/readiness?failover_type=test", nil, &rep); err != nil {
		d.ReadinessError = err.Error()
	} else {
		d.Readiness = &rep
	}
	c.render(w, r, http.StatusOK, "vm", view{Title: d.VM.VMName, Nav: "vms", Data: d})
}

// startFailover starts a test or live failover of the VM; a live one
// carries the typed name as the API's confirm.
func (c *Console) startFailover(w http.ResponseWriter, r *http.Request) {
	typ := apiv1.FailoverType(r.PostFormValue("failover_type"))
	if typ != "test" && typ != "live" {
		c.fail(w, r, http.StatusBadRequest, "failover_type must be test or live")
		return
	}
	req := apiv1.FailoverRequest{ContextID: r.PathValue("id"), FailoverType: typ, Confirm: r.PostFormValue("confirm"),
		TestDuration: strings.TrimSpace(r.PostFormValue("test_duration"))}
	req.AcceptRPO = r.PostFormValue("accept_rpo") == "on"
	var started apiv1.Started
	if err := c.call(r.Context(), sessionOf(r), http.MethodPost, "/failover/unified", req, &started); err != nil {
		c.failErr(w, r, err)
		return
	}
	http.Redirect(w, r, Path+"/jobs/"+url.PathEscape(started.JobID), http.StatusSeeOther)
}
