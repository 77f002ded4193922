package apiv1

import "time"

// DrillRunStatus is the status of a drill run; it ends passed or failed.
type DrillRunStatus string

// Drill run statuses.
const (
	DrillPending DrillRunStatus = "pending"
	DrillRunning DrillRunStatus = "running"
	DrillPassed  DrillRunStatus = "passed"
	DrillFailed  DrillRunStatus = "failed"
)

// Active reports whether the run has not ended.
func (s DrillRunStatus) Active() bool { return s == DrillPending || s == DrillRunning }

// DrillVMState is where one VM of a drill run is.
type DrillVMState string

// Drill VM states.
const (
	DrillVMPending        DrillVMState = "pending"
	DrillVMSkipped        DrillVMState = "skipped"
	DrillVMFailingOver    DrillVMState = "failing-over"
	DrillVMFailedOver     DrillVMState = "failed-over"
	DrillVMFailoverFailed DrillVMState = "failover-failed"
	DrillVMRollingBack    DrillVMState = "rolling-back"
	DrillVMRolledBack     DrillVMState = "rolled-back"
	DrillVMRollbackFailed DrillVMState = "rollback-failed"
)

// DrillSpec is a drill schedule as the API takes it (POST /drills,
// PUT /drills/{id}).
type DrillSpec struct {
	Name       string   `json:"name"`
	ContextIDs []string `json:"context_ids"`
	// Cron is a 5-field cron expression (minute hour day-of-month month
	// day-of-week), read in Timezone.
	Cron string `json:"cron"`
	// Timezone is an IANA time zone name. Defaults to UTC.
	Timezone string `json:"timezone,omitempty"`
	// Hold is how long the test copies run before the rollback, for
	// example "10m". Defaults to 0.
	Hold string `json:"hold,omitempty"`
	// MaxParallel is how many VMs fail over (and roll back) at once.
	// Defaults to 1.
	MaxParallel int `json:"max_parallel,omitempty"`
	// Enabled defaults to true.
	Enabled *bool `json:"enabled,omitempty"`
}

// Drill is a drill schedule as the API shows it, with its next tick and
// last run.
type Drill struct {
	ID          string    `json:"id"`
	Name        string    `json:"name"`
	ContextIDs  []string  `json:"context_ids"`
	Cron        string    `json:"cron"`
	Timezone    string    `json:"timezone"`
	HoldSeconds int       `json:"hold_seconds"`
	MaxParallel int       `json:"max_parallel"`
	Enabled     bool      `json:"enabled"`
	CreatedBy   string    `json:"created_by,omitempty"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
	// Hold is HoldSeconds as a duration ("10m0s").
	Hold      string        `json:"hold"`
	NextRunAt *time.Time    `json:"next_run_at,omitempty"`
	LastRun   *DrillRunInfo `json:"last_run,omitempty"`
}

// DrillList is every drill schedule (GET /drills).
type DrillList struct {
	Drills []Drill `json:"drills"`
}

// DrillRunInfo is a drill run without its VMs.
type DrillRunInfo struct {
	ID           string         `json:"id"`
	ScheduleID   string         `json:"schedule_id,omitempty"`
	ScheduleName string         `json:"schedule_name"`
	Tick         time.Time      `json:"tick"`
	Status       DrillRunStatus `json:"status"`
	// Trigger is schedule or manual.
	Trigger   string     `json:"trigger"`
	JobID     string     `json:"job_id,omitempty"`
	Error     string     `json:"error,omitempty"`
	StartedAt *time.Time `json:"started_at,omitempty"`
	EndedAt   *time.Time `json:"ended_at,omitempty"`
}

// DrillRunList is a schedule's runs, newest first (GET /drills/{id}/runs).
type DrillRunList struct {
	Runs []DrillRunInfo `json:"runs"`
}

// DrillRun is one run of a drill (one tick of a schedule, or a manual
// run) with its VMs, and its report when read by id.
type DrillRun struct {
	ID           string         `json:"id"`
	ScheduleID   string         `json:"schedule_id,omitempty"`
	ScheduleName string         `json:"schedule_name"`
	Tick         time.Time      `json:"tick"`
	Status       DrillRunStatus `json:"status"`
	JobID        string         `json:"job_id,omitempty"`
	HoldSeconds  int            `json:"hold_seconds"`
	MaxParallel  int            `json:"max_parallel"`
	Trigger      string         `json:"trigger"`
	Actor        string         `json:"actor,omitempty"`
	Error        string         `json:"error,omitempty"`
	StartedAt    *time.Time     `json:"started_at,omitempty"`
	EndedAt      *time.Time     `json:"ended_at,omitempty"`
	HoldUntil    *time.Time     `json:"hold_until,omitempty"`
	CreatedAt    time.Time      `json:"created_at"`
	VMs          []DrillRunVM   `json:"vms"`
	// Report is the run's report (as written when it ended, or as it
	// stands while it runs); absent in the answer that starts a run.
	Report *DrillReport `json:"report,omitempty"`
}

// DrillRunVM is one VM of a drill run.
type DrillRunVM struct {
	ContextID        string       `json:"context_id"`
	Seq              int          `json:"seq"`
	VMName           string       `json:"vm_name"`
	State            DrillVMState `json:"state"`
	Outcome          string       `json:"outcome,omitempty"`
	SkipReason       string       `json:"skip_reason,omitempty"`
	Error            string       `json:"error,omitempty"`
	FailoverIntentAt *time.Time   `json:"failover_intent_at,omitempty"`
	FailoverJobID    string       `json:"failover_job_id,omitempty"`
	DestinationVMID  string       `json:"destination_vm_id,omitempty"`
	DestinationState string       `json:"destination_state,omitempty"`
	RTOSeconds       *float64     `json:"rto_seconds,omitempty"`
	RollbackIntentAt *time.Time   `json:"rollback_intent_at,omitempty"`
	RollbackJobID    string       `json:"rollback_job_id,omitempty"`
	UpdatedAt        time.Time    `json:"updated_at"`
}

// DrillReport is a drill run's report: per VM each step's duration, the
// RTO, outcome and errors; per run pass/fail and totals.
type DrillReport struct {
	RunID        string          `json:"run_id"`
	ScheduleID   string          `json:"schedule_id,omitempty"`
	ScheduleName string          `json:"schedule_name"`
	Tick         time.Time       `json:"tick"`
	Trigger      string          `json:"trigger"`
	Status       DrillRunStatus  `json:"status"`
	Error        string          `json:"error,omitempty"`
	StartedAt    *time.Time      `json:"started_at,omitempty"`
	EndedAt      *time.Time      `json:"ended_at,omitempty"`
	HoldSeconds  int             `json:"hold_seconds"`
	MaxParallel  int             `json:"max_parallel"`
	Totals       DrillTotals     `json:"totals"`
	VMs          []DrillVMReport `json:"vms"`
}

// DrillTotals sums a run up.
type DrillTotals struct {
	VMs           int      `json:"vms"`
	Passed        int      `json:"passed"`
	Failed        int      `json:"failed"`
	Skipped       int      `json:"skipped"`
	RTOAvgSeconds *float64 `json:"rto_avg_seconds,omitempty"`
	RTOMaxSeconds *float64 `json:"rto_max_seconds,omitempty"`
}

// DrillVMReport is one VM of a run's report.
type DrillVMReport struct {
	ContextID             string            `json:"context_id"`
	VMName                string            `json:"vm_name"`
	State                 string            `json:"state"`
	Outcome               string            `json:"outcome"`
	SkipReason            string            `json:"skip_reason,omitempty"`
	Error                 string            `json:"error,omitempty"`
	RTOSeconds            *float64          `json:"rto_seconds,omitempty"`
	DestinationVMID       string            `json:"destination_vm_id,omitempty"`
	FailoverJobID         string            `json:"failover_job_id,omitempty"`
	FailoverExternalJobID string            `json:"failover_external_job_id,omitempty"`
	RollbackJobID         string            `json:"rollback_job_id,omitempty"`
	RollbackExternalJobID string            `json:"rollback_external_job_id,omitempty"`
	Steps                 []DrillStepReport `json:"steps"`
}

// DrillStepReport is one step of a VM's failover or rollback (or the
// drill's hold between them).
type DrillStepReport struct {
	Job             string     `json:"job"`
	Name            string     `json:"name"`
	Status          string     `json:"status"`
	StartedAt       *time.Time `json:"started_at,omitempty"`
	EndedAt         *time.Time `json:"ended_at,omitempty"`
	DurationSeconds float64    `json:"duration_seconds"`
	Error           string     `json:"error,omitempty"`
	SkipReason      string     `json:"skip_reason,omitempty"`
}
