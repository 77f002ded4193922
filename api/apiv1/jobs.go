package apiv1

import (
	"encoding/json"
	"time"
)

// JobStatus is the execution status of a job.
type JobStatus string

// Job statuses. Pending and running jobs are active: a VM has at most one
// active job.
const (
	JobPending   JobStatus = "pending"
	JobRunning   JobStatus = "running"
	JobCompleted JobStatus = "completed"
	JobFailed    JobStatus = "failed"
	JobCancelled JobStatus = "cancelled"
)

// Active reports whether a job in this status holds its VM's lock.
func (s JobStatus) Active() bool { return s == JobPending || s == JobRunning }

// StepStatus is the status of one planned step of a job.
type StepStatus string

// Step statuses.
const (
	StepPending   StepStatus = "pending"
	StepRunning   StepStatus = "running"
	StepRetrying  StepStatus = "retrying"
	StepCompleted StepStatus = "completed"
	StepFailed    StepStatus = "failed"
	StepSkipped   StepStatus = "skipped"
)

// Done reports whether the step needs no more work.
func (s StepStatus) Done() bool { return s == StepCompleted || s == StepSkipped }

// Job is a job as the API shows it: the job, its steps and its progress
// (GET /jobs/{job_id}, and in lists).
type Job struct {
	ID           string     `json:"job_id"`
	ExternalID   string     `json:"external_job_id"`
	Type         string     `json:"job_type"`
	FailoverType string     `json:"failover_type,omitempty"`
	ContextID    string     `json:"context_id,omitempty"`
	ParentID     string     `json:"parent_job_id,omitempty"`
	Queue        string     `json:"queue"`
	Status       JobStatus  `json:"status"`
	RunNo        int        `json:"run_no"`
	CurrentStep  string     `json:"current_step,omitempty"`
	Error        string     `json:"error,omitempty"`
	Actor        string     `json:"actor,omitempty"`
	CreatedAt    time.Time  `json:"created_at"`
	StartedAt    *time.Time `json:"started_at,omitempty"`
	EndedAt      *time.Time `json:"ended_at,omitempty"`
	UpdatedAt    time.Time  `json:"updated_at"`
	// Params are the job's own parameters (for example a rollback's
	// options).
	Params json.RawMessage `json:"params,omitempty"`
	Steps  []Step          `json:"steps"`
	// ProgressPercent is the share of planned steps that are done
	// (completed or skipped), 0 to 100.
	ProgressPercent float64 `json:"progress_percent"`
}

// Step returns the step named name, or nil.
func (j *Job) Step(name string) *Step {
	for i := range j.Steps {
		if j.Steps[i].Name == name {
			return &j.Steps[i]
		}
	}
	return nil
}

// Step is one planned step of a job.
type Step struct {
	Seq        int        `json:"seq"`
	Name       string     `json:"name"`
	Status     StepStatus `json:"status"`
	Attempts   int        `json:"attempts"`
	StartedAt  *time.Time `json:"started_at,omitempty"`
	EndedAt    *time.Time `json:"ended_at,omitempty"`
	Error      string     `json:"error,omitempty"`
	ErrorClass string     `json:"error_class,omitempty"`
	SkipReason string     `json:"skip_reason,omitempty"`
	Progress   *Progress  `json:"progress,omitempty"`
	// ExternalMS is the time the step's attempts spent in outside calls
	// (vCenter, CloudStack, NBD, commands), in milliseconds.
	ExternalMS float64 `json:"external_ms"`
}

// Progress is the byte progress of a long step such as final sync.
type Progress struct {
	BytesDone  int64     `json:"bytes_done"`
	BytesTotal int64     `json:"bytes_total"`
	RateBps    float64   `json:"bytes_per_second"`
	UpdatedAt  time.Time `json:"updated_at"`
}

// Page is where a page of a listing is.
type Page struct {
	Limit  int `json:"limit"`
	Offset int `json:"offset"`
	// NextOffset is where the next page starts; absent on the last page.
	NextOffset *int `json:"next_offset,omitempty"`
}

// JobList is a page of jobs (GET /failover/jobs).
type JobList struct {
	Jobs []Job `json:"jobs"`
	Page
}

// Event is one structured event of a job.
type Event struct {
	ID            int64          `json:"id"`
	JobID         string         `json:"job_id"`
	ExternalJobID string         `json:"external_job_id"`
	Step          string         `json:"step,omitempty"`
	Level         string         `json:"level"`
	Message       string         `json:"message"`
	Attrs         map[string]any `json:"attrs,omitempty"`
	CreatedAt     time.Time      `json:"created_at"`
}

// EventList is a job's events (GET /jobs/{job_id}/events).
type EventList struct {
	Events []Event `json:"events"`
}

// ProbeRequest is the optional body of POST /probe.
type ProbeRequest struct {
	ContextID string `json:"context_id"`
}

// Started is the answer to a request that started a job (202), with the
// plan of a failover, rollback or commit.
type Started struct {
	JobID         string    `json:"job_id"`
	ExternalJobID string    `json:"external_job_id"`
	Status        JobStatus `json:"status"`
	Plan          *Plan     `json:"plan,omitempty"`
}

// ProbeStarted is the answer to POST /probe: Started without a plan, its
// members in the order the probe has always given them (alphabetical).
type ProbeStarted struct {
	ExternalJobID string    `json:"external_job_id"`
	JobID         string    `json:"job_id"`
	Status        JobStatus `json:"status"`
}

// DryRun is the answer to a dry run: the plan, nothing started.
type DryRun struct {
	DryRun bool  `json:"dry_run"`
	Plan   *Plan `json:"plan"`
}

// CancelRequest is the optional body of POST /failover/{job_id}/cancel.
type CancelRequest struct {
	// Reason goes into the audit; at most 4096 bytes.
	Reason string `json:"reason,omitempty"`
}

// FailoverStatus is a job with, for a failover, what it made
// (GET /failover/{job_id}/status).
type FailoverStatus struct {
	Job
	Failover *FailoverJob `json:"failover,omitempty"`
}

// FailoverState is the lifecycle status of a failover: its job's
// outcome, then what the operator decided (rolled back or committed).
type FailoverState string

// Failover statuses.
const (
	FailoverPending    FailoverState = "pending"
	FailoverRunning    FailoverState = "running"
	FailoverCompleted  FailoverState = "completed"
	FailoverFailed     FailoverState = "failed"
	FailoverRolledBack FailoverState = "rolled_back"
	FailoverCommitted  FailoverState = "committed"
)

// FailoverJob is one failover: its resolved config and what it made.
type FailoverJob struct {
	JobID           string            `json:"job_id"`
	ExternalJobID   string            `json:"external_job_id"`
	ContextID       string            `json:"vm_context_id"`
	VMID            string            `json:"vm_id"`
	FailoverType    string            `json:"job_type"`
	Status          FailoverState     `json:"status"`
	Config          json.RawMessage   `json:"config"`
	DestinationVMID string            `json:"destination_vm_id,omitempty"`
	SnapshotIDs     map[string]string `json:"snapshot_ids"`
	// TemplateVolumeID is the ROOT volume CloudStack made from the
	// template for the destination VM.
	TemplateVolumeID string          `json:"template_volume_id,omitempty"`
	SourceVMSpec     json.RawMessage `json:"source_vm_spec,omitempty"`
	// Leftovers are what the last (forced) rollback could not clean.
	Leftovers   []Leftover `json:"leftovers,omitempty"`
	CreatedAt   time.Time  `json:"created_at"`
	UpdatedAt   time.Time  `json:"updated_at"`
	CompletedAt *time.Time `json:"completed_at,omitempty"`
}

// Leftover is one resource a forced cleanup could not clean.
type Leftover struct {
	// Kind is vm, volume, snapshot, template-volume or source-vm.
	Kind string `json:"kind"`
	// ID is its CloudStack id (the VMware UUID for the source VM).
	ID    string `json:"id"`
	Step  string `json:"step"`
	Error string `json:"error"`
}
