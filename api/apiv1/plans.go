package apiv1

import "time"

// PlanSpec is a recovery plan as an operator writes it (the body of
// POST /plans and PUT /plans/{id}): ordered waves of VM contexts, run
// wave by wave, members of a wave in dependency and declaration order.
type PlanSpec struct {
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
	// MaxParallelVMs bounds the members in flight at once. Defaults to 10.
	MaxParallelVMs int `json:"max_parallel_vms,omitempty"`
	// TargetRTOSeconds is the plan's RTO target (run start to the last
	// critical member READY); 0 means none.
	TargetRTOSeconds int `json:"target_rto_seconds,omitempty"`
	// CommitPolicy says what a live run does once every wave is done.
	// Defaults to {action: none}.
	CommitPolicy *CommitPolicy `json:"commit_policy,omitempty"`
	// TestTTL is how long a test run's copies stay up before they are
	// cleaned up automatically (a Go duration); empty means until an
	// operator rolls the run back.
	TestTTL string `json:"test_ttl,omitempty"`
	Waves   []Wave `json:"waves"`
}

// Commit policy actions.
const (
	CommitNone     = "none"
	CommitCommit   = "commit"
	CommitRollback = "rollback"
)

// CommitPolicy is a live run's action (CommitNone, CommitCommit,
// CommitRollback) After a duration once every wave is done.
type CommitPolicy struct {
	Action string `json:"action"`
	After  string `json:"after,omitempty"`
}

// Wave failure policies.
const (
	WaveHalt     = "halt"
	WaveContinue = "continue"
)

// Wave is one wave of a plan: it starts once the wave before it is done.
type Wave struct {
	Name string `json:"name,omitempty"`
	// OnFailure is WaveHalt (default) or WaveContinue: what a critical
	// member's failure does to the run.
	OnFailure string `json:"on_failure,omitempty"`
	// PreSteps run before the wave's first member starts, PostSteps after
	// its last member is READY, FAILED or SKIPPED.
	PreSteps  []Hook   `json:"pre_steps,omitempty"`
	PostSteps []Hook   `json:"post_steps,omitempty"`
	Members   []Member `json:"members"`
}

// Member start modes.
const (
	StartPowerOn  = "power_on"
	StartLeaveOff = "leave_off"
)

// Member is one VM of a wave.
type Member struct {
	// ID names the member in the plan (dependencies, retry, skip).
	// Defaults to VM.
	ID string `json:"id,omitempty"`
	// VM is the VM context: its id or its VM name.
	VM string `json:"vm"`
	// Optional makes the member's failure a warning; a member is critical
	// by default.
	Optional bool `json:"optional,omitempty"`
	// DependsOn are members of the same wave that must be READY first
	// (hard) or are waited for, their failure only warning (soft).
	DependsOn []Dependency `json:"depends_on,omitempty"`
	// Readiness says when the member is READY. Defaults to {type: running}.
	Readiness *ReadinessCheck `json:"readiness,omitempty"`
	// PrePowerOn hooks run before the VM is started; PostReady hooks once
	// it is READY.
	PrePowerOn []Hook `json:"pre_power_on,omitempty"`
	PostReady  []Hook `json:"post_ready,omitempty"`
	// Start is StartPowerOn (default) or StartLeaveOff.
	Start string `json:"start,omitempty"`
}

// Dependency is a member another depends on; Soft when its failure only
// warns.
type Dependency struct {
	Member string `json:"member"`
	Soft   bool   `json:"soft,omitempty"`
}

// Readiness check types.
const (
	ReadyRunning = "running"
	ReadyTCP     = "tcp"
	ReadyHTTP    = "http"
	ReadyScript  = "script"
)

// ReadinessCheck is a member's readiness check.
type ReadinessCheck struct {
	// Type is ReadyRunning (CloudStack reports the VM Running), ReadyTCP
	// (Address, host:port, accepts a connection), ReadyHTTP (URL answers
	// ExpectStatus, default 200) or ReadyScript (Command exits 0).
	Type         string   `json:"type"`
	Address      string   `json:"address,omitempty"`
	URL          string   `json:"url,omitempty"`
	ExpectStatus int      `json:"expect_status,omitempty"`
	Command      []string `json:"command,omitempty"`
	// Timeout defaults to 10m; PostReadyDelay to 0.
	Timeout        string `json:"timeout,omitempty"`
	PostReadyDelay string `json:"post_ready_delay,omitempty"`
}

// Hook types and the modes a hook runs in.
const (
	HookScript   = "script"
	HookWebhook  = "webhook"
	ModeTest     = "test"
	ModeLive     = "live"
	ModeRollback = "rollback"
)

// Hook is a command (HookScript) or an HTTP POST (HookWebhook) run at a
// point of a plan run. It receives the run's context as JSON, never a
// secret.
type Hook struct {
	Name    string   `json:"name,omitempty"`
	Type    string   `json:"type"`
	Command []string `json:"command,omitempty"`
	URL     string   `json:"url,omitempty"`
	// Timeout defaults to 5m.
	Timeout string `json:"timeout,omitempty"`
	// Critical: the hook's failure fails its member (a pre-power-on hook
	// always does).
	Critical bool `json:"critical,omitempty"`
	// Modes are the run modes it runs in (ModeTest, ModeLive,
	// ModeRollback). Defaults to all.
	Modes []string `json:"modes,omitempty"`
}

// RecoveryPlan is a stored recovery plan (GET /plans/{id}); Version grows with
// each update, and its ETag is "v<Version>".
type RecoveryPlan struct {
	PlanSpec
	ID        string    `json:"id"`
	Version   int       `json:"version"`
	CreatedBy string    `json:"created_by"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// PlanList is every plan (GET /plans).
type PlanList struct {
	Plans []RecoveryPlan `json:"plans"`
}

// PlanIssue is one blocker or warning of a plan's validation: the field
// (waves[1].members[2].depends_on[0]), the members it names, and why.
type PlanIssue struct {
	Field   string   `json:"field"`
	Members []string `json:"members,omitempty"`
	Message string   `json:"message"`
}

// PlanValidation is a plan's validation (POST /plans/{id}/validate): a
// plan with a blocker cannot run.
type PlanValidation struct {
	Valid    bool        `json:"valid"`
	Blockers []PlanIssue `json:"blockers"`
	Warnings []PlanIssue `json:"warnings"`
}

// PlanValidateRequest is the optional body of POST /plans/{id}/validate:
// the run mode to validate for (ModeTest or ModeLive); empty validates
// for both.
type PlanValidateRequest struct {
	Mode string `json:"mode,omitempty"`
}
