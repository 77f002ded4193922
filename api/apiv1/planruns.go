package apiv1

import "time"

// Plan run statuses. A run is unfinished while running, halted or
// rolling_back: a plan has at most one unfinished run.
const (
	RunRunning     = "running"
	RunHalted      = "halted"
	RunCompleted   = "completed"
	RunFailed      = "failed"
	RunCancelled   = "cancelled"
	RunRollingBack = "rolling_back"
	RunRolledBack  = "rolled_back"
)

// Plan run member states. A member in flight is starting, failing_over or
// checking; READY, FAILED and SKIPPED end its wave's part.
const (
	MemberPending     = "pending"
	MemberStarting    = "starting"
	MemberFailingOver = "failing_over"
	MemberChecking    = "checking"
	MemberReady       = "ready"
	MemberFailed      = "failed"
	MemberSkipped     = "skipped"
	MemberRollingBack = "rolling_back"
	MemberRolledBack  = "rolled_back"
)

// Reasons a member failed or was skipped.
const (
	ReasonReadinessTimeout = "readiness_timeout"
	ReasonDependencyFailed = "dependency failed"
)

// StartPlanRunRequest is the body of POST /plans/{id}/runs: the mode
// (ModeTest or ModeLive) and, for a live run, confirm set to the plan's
// name.
type StartPlanRunRequest struct {
	Mode    string `json:"mode"`
	Confirm string `json:"confirm,omitempty"`
}

// PlanRunMembersRequest is the body of POST /plan-runs/{id}/retry and
// /skip: the member ids.
type PlanRunMembersRequest struct {
	Members []string `json:"members"`
}

// PlanRunMember is one member of a run: its state, why, the jobs the run
// made for it, and when each phase began and ended.
type PlanRunMember struct {
	ID            string     `json:"id"`
	Wave          int        `json:"wave"`
	Order         int        `json:"order"`
	ContextID     string     `json:"context_id"`
	VMName        string     `json:"vm_name,omitempty"`
	Optional      bool       `json:"optional,omitempty"`
	State         string     `json:"state"`
	Reason        string     `json:"reason,omitempty"`
	Warning       string     `json:"warning,omitempty"`
	Waived        bool       `json:"waived,omitempty"`
	JobID         string     `json:"job_id,omitempty"`
	RollbackJobID string     `json:"rollback_job_id,omitempty"`
	Attempts      int        `json:"attempts"`
	StartedAt     *time.Time `json:"started_at,omitempty"`
	JobDoneAt     *time.Time `json:"job_done_at,omitempty"`
	CheckedAt     *time.Time `json:"checked_at,omitempty"`
	ReadyAt       *time.Time `json:"ready_at,omitempty"`
	EndedAt       *time.Time `json:"ended_at,omitempty"`
	// RollbackStartedAt is when the run began this member's rollback.
	RollbackStartedAt *time.Time `json:"rollback_started_at,omitempty"`
}

// PlanRun is a run of a plan (GET /plan-runs/{id}), pinned to the plan
// version it started with.
type PlanRun struct {
	ID          string     `json:"id"`
	PlanID      string     `json:"plan_id"`
	PlanName    string     `json:"plan_name"`
	PlanVersion int        `json:"plan_version"`
	Mode        string     `json:"mode"`
	Status      string     `json:"status"`
	Reason      string     `json:"reason,omitempty"`
	CreatedBy   string     `json:"created_by"`
	StartedAt   time.Time  `json:"started_at"`
	UpdatedAt   time.Time  `json:"updated_at"`
	EndedAt     *time.Time `json:"ended_at,omitempty"`
	// RollbackAt is when a test run's copies are rolled back by
	// themselves (the plan's test_ttl after the run's end); a manual
	// rollback, or any other change of the run's status, cancels it.
	RollbackAt *time.Time      `json:"rollback_at,omitempty"`
	Spec       PlanSpec        `json:"spec"`
	Members    []PlanRunMember `json:"members"`
}

// PlanRunEvent is one entry of a run's log; Actor is set on an operator's
// choice.
type PlanRunEvent struct {
	ID       int64          `json:"id"`
	At       time.Time      `json:"at"`
	Level    string         `json:"level"`
	MemberID string         `json:"member_id,omitempty"`
	Actor    string         `json:"actor,omitempty"`
	Message  string         `json:"message"`
	Attrs    map[string]any `json:"attrs,omitempty"`
}

// PlanRunEvents is a run's log (GET /plan-runs/{id}/events).
type PlanRunEvents struct {
	Events []PlanRunEvent `json:"events"`
}

// PlanRunStepTime is one step of a member's job in the report; Seconds is
// nil while the step has not both begun and ended.
type PlanRunStepTime struct {
	Job     string   `json:"job"`
	Name    string   `json:"name"`
	Status  string   `json:"status"`
	Seconds *float64 `json:"seconds,omitempty"`
}

// PlanRunMemberReport is a member in the report: RTOSeconds is run start
// to READY (nil when it never was).
type PlanRunMemberReport struct {
	ID         string            `json:"id"`
	Wave       int               `json:"wave"`
	VMName     string            `json:"vm_name,omitempty"`
	Optional   bool              `json:"optional,omitempty"`
	State      string            `json:"state"`
	Reason     string            `json:"reason,omitempty"`
	RTOSeconds *float64          `json:"rto_seconds,omitempty"`
	Steps      []PlanRunStepTime `json:"steps"`
}

// PlanRunReport is a run's report (GET /plan-runs/{id}/report). PlanRTO is
// run start to the last critical member READY (nil while a critical
// member is not READY); Passed compares it with TargetRTOSeconds (nil
// without a target or a plan RTO).
type PlanRunReport struct {
	RunID            string                `json:"run_id"`
	PlanName         string                `json:"plan_name"`
	PlanVersion      int                   `json:"plan_version"`
	Mode             string                `json:"mode"`
	Status           string                `json:"status"`
	StartedAt        time.Time             `json:"started_at"`
	EndedAt          *time.Time            `json:"ended_at,omitempty"`
	PlanRTOSeconds   *float64              `json:"plan_rto_seconds,omitempty"`
	TargetRTOSeconds int                   `json:"target_rto_seconds,omitempty"`
	Passed           *bool                 `json:"passed,omitempty"`
	Members          []PlanRunMemberReport `json:"members"`
	Warnings         []PlanRunEvent        `json:"warnings"`
	Choices          []PlanRunEvent        `json:"choices"`
}
