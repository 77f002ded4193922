package ui

import (
	"net/http"
	"net/url"

	"github.com/ossea/unifiedfailover/api/apiv1"
)

type jobListData struct {
	Status, Type string
	Jobs         []apiv1.Job
	VMNames      map[string]string
}

// jobList is the failover jobs, newest first, filtered by ?status= and
// ?type= as the API filters them.
func (c *Console) jobList(w http.ResponseWriter, r *http.Request) {
	s := sessionOf(r)
	d := jobListData{Status: r.URL.Query().Get("status"), Type: r.URL.Query().Get("type")}
	q := url.Values{"limit": {"200"}}
	if d.Status != "" {
		q.Set("status", d.Status)
	}
	if d.Type != "" {
		q.Set("type", d.Type)
	}
	var list apiv1.JobList
	if err := c.call(r.Context(), s, http.MethodGet, "/failover/jobs?"+q.Encode(), nil, &list); err != nil {
		c.failErr(w, r, err)
		return
	}
	d.Jobs = list.Jobs
	var vms apiv1.ContextList
	if err := c.call(r.Context(), s, http.MethodGet, "/contexts", nil, &vms); err != nil {
		c.failErr(w, r, err)
		return
	}
	d.VMNames = map[string]string{}
	for _, vm := range vms.Contexts {
		d.VMNames[vm.ContextID] = vm.VMName
	}
	c.render(w, r, http.StatusOK, "jobs", view{Title: "Jobs", Nav: "jobs", Data: d})
}

// jobData is a job's page and its live part.
type jobData struct {
	Job      apiv1.FailoverStatus
	VMName   string
	Events   []apiv1.Event
	Decision *apiv1.RollbackDecision
	// Live: the job is active, so its live part polls.
	Live bool
	// ForThisJob: the rollback decision is about this job's failover.
	CanRollback, CanCommit, CanRetry, CanCancel bool
}

func (c *Console) loadJob(r *http.Request) (*jobData, error) {
	s := sessionOf(r)
	id := url.PathEscape(r.PathValue("id"))
	d := &jobData{}
	if err := c.call(r.Context(), s, http.MethodGet, "/failover/"+id+"/status", nil, &d.Job); err != nil {
		return nil, err
	}
	var ev apiv1.EventList
	if err := c.call(r.Context(), s, http.MethodGet, "/jobs/"+id+"/events", nil, &ev); err != nil {
		return nil, err
	}
	d.Events = ev.Events
	j := d.Job.Job
	d.Live = j.Status.Active()
	d.CanCancel = d.Live
	d.CanRetry = j.Status == apiv1.JobFailed
	if j.ContextID != "" {
		var vm apiv1.ContextDetail
		if err := c.call(r.Context(), s, http.MethodGet, "/contexts/"+url.PathEscape(j.ContextID), nil, &vm); err == nil {
			d.VMName = vm.VMName
		}
	}
	if j.Type == "failover" && !d.Live && j.FailoverType != "" && j.ContextID != "" {
		var dec apiv1.RollbackDecision
		path := "/failover/rollback/decision/" + url.PathEscape(j.FailoverType) + "/" + url.PathEscape(j.ContextID)
		if err := c.call(r.Context(), s, http.MethodGet, path, nil, &dec); err == nil &&
			dec.Failover != nil && dec.Failover.JobID == j.ID {
			d.Decision = &dec
			d.CanRollback, d.CanCommit = dec.CanRollback, dec.CanCommit
			d.CanRetry = d.CanRetry && dec.CanRetry
		}
	}
	return d, nil
}

// jobPage is a job: its steps, events, errors and the actions it allows.
func (c *Console) jobPage(w http.ResponseWriter, r *http.Request) {
	d, err := c.loadJob(r)
	if err != nil {
		c.failErr(w, r, err)
		return
	}
	c.render(w, r, http.StatusOK, "job", view{Title: "Job " + shortID(d.Job.ID), Nav: "jobs", Data: d})
}

// jobLive is the job page's live part, which htmx polls every second
// while the job is active (the part it answers then stops polling).
func (c *Console) jobLive(w http.ResponseWriter, r *http.Request) {
	d, err := c.loadJob(r)
	if err != nil {
		c.failErr(w, r, err)
		return
	}
	c.render(w, r, http.StatusOK, "job-live", view{Data: d})
}

// jobAction runs an action on a job as the API allows it: rollback (of a
// failover; confirm is the typed name where the API needs it), commit,
// cancel or retry. It then shows the job it started, or the same job.
func (c *Console) jobAction(w http.ResponseWriter, r *http.Request) {
	s := sessionOf(r)
	id := r.PathValue("id")
	esc := url.PathEscape(id)
	confirm := r.PostFormValue("confirm")
	var started apiv1.Started
	var err error
	switch r.PathValue("action") {
	case "rollback":
		var st apiv1.FailoverStatus
		if err = c.call(r.Context(), s, http.MethodGet, "/failover/"+esc+"/status", nil, &st); err != nil {
			break
		}
		err = c.call(r.Context(), s, http.MethodPost, "/failover/rollback", apiv1.RollbackRequest{ContextID: st.ContextID,
			FailoverType: apiv1.FailoverType(st.FailoverType), Confirm: confirm, Reason: r.PostFormValue("reason")}, &started)
	case "commit":
		err = c.call(r.Context(), s, http.MethodPost, "/failover/"+esc+"/commit", apiv1.CommitRequest{Confirm: confirm}, &started)
	case "cancel":
		err = c.call(r.Context(), s, http.MethodPost, "/failover/"+esc+"/cancel", apiv1.CancelRequest{Reason: r.PostFormValue("reason")}, nil)
		started.JobID = id
	case "retry":
		err = c.call(r.Context(), s, http.MethodPost, "/failover/"+esc+"/retry", nil, &started)
	default:
		c.fail(w, r, http.StatusNotFound, "no action "+r.PathValue("action"))
		return
	}
	if err != nil {
		c.failErr(w, r, err)
		return
	}
	if started.JobID == "" {
		started.JobID = id
	}
	http.Redirect(w, r, Path+"/jobs/"+url.PathEscape(started.JobID), http.StatusSeeOther)
}
