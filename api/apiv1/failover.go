package apiv1

import (
	"bytes"
	"encoding/json"
	"slices"
	"strings"
	"time"
)

// FailoverType is the kind of failover: test or live.
type FailoverType string

// Failover types.
const (
	FailoverTest FailoverType = "test"
	FailoverLive FailoverType = "live"
)

// Options are the operator's choices for one failover. Nil pointers take
// the failover type's defaults.
type Options struct {
	PowerOffSource   *bool `json:"power_off_source,omitempty"`
	PerformFinalSync *bool `json:"perform_final_sync,omitempty"`
	SkipValidation   bool  `json:"skip_validation,omitempty"`
	SkipVirtio       bool  `json:"skip_virtio,omitempty"`
	// AllowNonIsolatedNetwork lets a failover that leaves the source
	// running put its VM on a network that is not isolated from
	// production (audited; needs keep_macs false, and the admin role).
	AllowNonIsolatedNetwork bool `json:"allow_non_isolated_network,omitempty"`
	// AcceptRPO lets a live failover run although the VM's RPO exceeds
	// its target, or is unknown: the operator accepts losing the writes
	// since the oldest replica's last sync (audited, with the RPO).
	AcceptRPO bool `json:"accept_rpo,omitempty"`
	// NetworkStrategy is production, isolated or custom; custom needs
	// NetworkMappings.
	NetworkStrategy string `json:"network_strategy,omitempty"`
	// NetworkMappings are the request's own mappings (custom strategy).
	// A list of choices, or (the existing dashboard's form) an object
	// {source network name: destination network id}.
	NetworkMappings NetworkChoices `json:"network_mappings,omitempty"`
	// KeepMACs keeps the source NICs' MAC addresses. Defaults to true.
	KeepMACs *bool `json:"keep_macs,omitempty"`
	// ShutdownTimeout is how long a graceful guest shutdown may take before
	// a hard power-off. Defaults to 5m.
	ShutdownTimeout string `json:"shutdown_timeout,omitempty"`
}

// NetworkChoice maps one source network to a CloudStack network.
type NetworkChoice struct {
	SourceNetworkName      string `json:"source_network_name"`
	DestinationNetworkID   string `json:"destination_network_id"`
	DestinationNetworkName string `json:"destination_network_name,omitempty"`
}

// NetworkChoices are a request's network choices. In JSON, a list of
// choices, or an object {source network name: destination network id},
// sorted by source network name.
type NetworkChoices []NetworkChoice

// UnmarshalJSON reads either form.
func (n *NetworkChoices) UnmarshalJSON(b []byte) error {
	if t := bytes.TrimSpace(b); len(t) > 0 && t[0] == '{' {
		var m map[string]string
		if err := json.Unmarshal(b, &m); err != nil {
			return err
		}
		out := make(NetworkChoices, 0, len(m))
		for src, dst := range m {
			out = append(out, NetworkChoice{SourceNetworkName: src, DestinationNetworkID: dst})
		}
		slices.SortFunc(out, func(a, b NetworkChoice) int { return strings.Compare(a.SourceNetworkName, b.SourceNetworkName) })
		*n = out
		return nil
	}
	var l []NetworkChoice
	if err := json.Unmarshal(b, &l); err != nil {
		return err
	}
	*n = l
	return nil
}

// FailoverRequest starts a failover (POST /failover/unified) or is
// checked (POST /failover/preflight/validate).
type FailoverRequest struct {
	ContextID string `json:"context_id,omitempty"`
	VMName    string `json:"vm_name,omitempty"`
	// VMwareVMID names the VM by its VMware instance UUID (the existing
	// dashboard's form).
	VMwareVMID   string       `json:"vmware_vm_id,omitempty"`
	FailoverType FailoverType `json:"failover_type"`
	// VMNaming is the destination's naming: exact (the VM's name) or
	// suffixed (name-<type>-<time>). Defaults to exact for a live
	// failover, suffixed for a test one.
	VMNaming string `json:"vm_naming,omitempty"`
	Options
	// DryRun returns the plan and runs nothing.
	DryRun bool `json:"dry_run,omitempty"`
	// Confirm approves a failover that changes production (a live one):
	// it must be the VM's name.
	Confirm string `json:"confirm,omitempty"`
	// TestDuration time-boxes a test failover (for example "30m"): it is
	// rolled back by itself that long after it completed.
	TestDuration string `json:"test_duration,omitempty"`
}

// RollbackRequest rolls back the latest failover of a VM
// (POST /failover/rollback).
type RollbackRequest struct {
	ContextID string `json:"context_id,omitempty"`
	VMName    string `json:"vm_name,omitempty"`
	// VMID (a VM name or context id) and VMwareVMID (its VMware instance
	// UUID) name the VM as the existing dashboard does.
	VMID       string `json:"vm_id,omitempty"`
	VMwareVMID string `json:"vmware_vm_id,omitempty"`
	// FailoverType, when given, must be the type of the failover rolled
	// back.
	FailoverType  FailoverType `json:"failover_type,omitempty"`
	PowerOnSource *bool        `json:"power_on_source,omitempty"`
	// WaitForTools: see RollbackOptions. Defaults to true for a live
	// failover.
	WaitForTools *bool  `json:"wait_for_tools,omitempty"`
	ForceCleanup bool   `json:"force_cleanup,omitempty"`
	Reason       string `json:"reason,omitempty"`
	DryRun       bool   `json:"dry_run,omitempty"`
	// Confirm approves a rollback that changes production (of a live
	// failover) or forces a cleanup: the VM's name.
	Confirm string `json:"confirm,omitempty"`
}

// CommitRequest commits a completed live failover
// (POST /failover/{job_id}/commit).
type CommitRequest struct {
	// FailoverJobID is the live failover's job (from the path).
	FailoverJobID string `json:"-"`
	// Confirm approves the commit, which destroys the rollback points:
	// the VM's name.
	Confirm string `json:"confirm,omitempty"`
	// DryRun returns the plan and runs nothing.
	DryRun bool `json:"dry_run,omitempty"`
}

// RollbackOptions are a rollback's resolved options.
type RollbackOptions struct {
	// PowerOnSource powers the source VM on at the end. Defaults to true
	// for a live failover, false for a test failover.
	PowerOnSource bool `json:"power_on_source"`
	// ForceCleanup stops the destination VM forcibly and carries on past
	// resources that are already gone.
	ForceCleanup bool `json:"force_cleanup"`
	// WaitForTools waits, after the source's power-on, until VMware Tools
	// run in it (when it has them). Defaults to true for a live failover.
	WaitForTools bool `json:"wait_for_tools"`
	// Reason is the operator's free text.
	Reason string `json:"reason,omitempty"`
}

// Plan is what a failover, rollback or commit would do: shown for a dry
// run, with a started job, and with a 428 when an approval is missing.
type Plan struct {
	Operation     string           `json:"operation"`
	ContextID     string           `json:"context_id"`
	VMName        string           `json:"vm_name"`
	Config        *FailoverConfig  `json:"config,omitempty"`
	Rollback      *RollbackOptions `json:"rollback_options,omitempty"`
	FailoverJobID string           `json:"failover_job_id,omitempty"`
	Preflight     *PreflightReport `json:"preflight,omitempty"`
	// SkippedChecks are the pre-flight checks skip_validation skips (the
	// hard ones always count).
	SkippedChecks []string   `json:"skipped_checks,omitempty"`
	Steps         []PlanStep `json:"steps"`
	// Effects are what the operation does to production or the way back;
	// Needs is the role and approval they call for.
	Effects Effects  `json:"effects"`
	Needs   Approval `json:"needs"`
	// ApprovalRequired: the request must carry "confirm": "<vm name>";
	// Approval says why.
	ApprovalRequired bool   `json:"approval_required"`
	Approval         string `json:"approval,omitempty"`
}

// PlanStep is a step of a Plan. Its JSON names are capitalized (Name,
// SkipReason), unlike PlannedStep's: that is the plan's format since v1.
type PlanStep struct {
	Name       string `json:"Name"`
	SkipReason string `json:"SkipReason"`
}

// Effects are what an operation does to production or the way back.
type Effects struct {
	// TouchesSource: it powers off, syncs from, or powers on the source VM.
	TouchesSource bool `json:"touches_source,omitempty"`
	// ProductionNetwork: it puts a VM on a production network.
	ProductionNetwork bool `json:"production_network,omitempty"`
	// DestroysProduction: it destroys the VM that serves production (the
	// destination of a live failover).
	DestroysProduction bool `json:"destroys_production,omitempty"`
	// DestroysRollbackPoint: it deletes the snapshots a rollback needs.
	DestroysRollbackPoint bool `json:"destroys_rollback_point,omitempty"`
	// ForcesCleanup: it goes past errors, leaving what it cannot clean.
	ForcesCleanup bool `json:"forces_cleanup,omitempty"`
}

// Approval is the role and approval an operation needs.
type Approval struct {
	// Role is the least role that may run it: operator or admin.
	Role string `json:"role"`
	// Confirm: the request must carry "confirm": "<vm name>".
	Confirm bool `json:"confirm"`
	// Effects are why.
	Effects []string `json:"effects,omitempty"`
}

// NICPlan is one NIC of the destination VM.
type NICPlan struct {
	SourceNetworkName      string `json:"source_network_name"`
	DestinationNetworkID   string `json:"destination_network_id"`
	DestinationNetworkName string `json:"destination_network_name,omitempty"`
	MAC                    string `json:"mac_address,omitempty"`
	// Isolation is the pre-flight's verdict, for a failover that leaves
	// the source running: "isolated", or why the network is not.
	Isolation string `json:"isolation,omitempty"`
}

// FailoverConfig is the resolved configuration of one failover.
type FailoverConfig struct {
	ContextID         string       `json:"context_id"`
	VMwareVMID        string       `json:"vmware_vm_id"`
	VMName            string       `json:"vm_name"`
	JobID             string       `json:"job_id"`
	ExternalJobID     string       `json:"external_job_id"`
	FailoverType      FailoverType `json:"failover_type"`
	NamingStrategy    string       `json:"naming_strategy"`
	DestinationVMName string       `json:"destination_vm_name"`
	// DestinationHostName is the VM's CloudStack name, made of
	// DestinationVMName; DestinationVMName goes in its display name.
	DestinationHostName string    `json:"destination_hostname"`
	SnapshotType        string    `json:"snapshot_type"`
	NetworkStrategy     string    `json:"network_strategy"`
	NICs                []NICPlan `json:"nics"`
	PowerOffSource      bool      `json:"power_off_source"`
	PerformFinalSync    bool      `json:"perform_final_sync"`
	SkipValidation      bool      `json:"skip_validation"`
	SkipVirtio          bool      `json:"skip_virtio"`
	// AllowNonIsolatedNetwork: see Options.
	AllowNonIsolatedNetwork bool `json:"allow_non_isolated_network,omitempty"`
	// AcceptRPO: see Options.
	AcceptRPO       bool      `json:"accept_rpo,omitempty"`
	RollbackEnabled bool      `json:"rollback_enabled"`
	KeepMACs        bool      `json:"keep_macs"`
	ShutdownTimeout Duration  `json:"shutdown_timeout"`
	OSType          string    `json:"os_type"`
	Firmware        string    `json:"firmware"`
	CPUCount        int       `json:"cpu_count"`
	MemoryMB        int       `json:"memory_mb"`
	RequestedAt     time.Time `json:"requested_at"`
}

// Duration is a time.Duration that reads and writes JSON as "5m0s".
type Duration time.Duration

// MarshalText implements encoding.TextMarshaler.
func (d Duration) MarshalText() ([]byte, error) { return []byte(time.Duration(d).String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	*d = Duration(v)
	return err
}

// CheckStatus is the outcome of one pre-flight check.
type CheckStatus string

// Check outcomes.
const (
	CheckPass CheckStatus = "pass"
	CheckWarn CheckStatus = "warn"
	CheckFail CheckStatus = "fail"
)

// Check is one pre-flight check with a human message.
type Check struct {
	Name    string      `json:"name"`
	Status  CheckStatus `json:"status"`
	Message string      `json:"message"`
	// Hard: a guard that keeps the VM recoverable; skip_validation does
	// not skip it.
	Hard bool `json:"hard,omitempty"`
}

// PreflightReport is a pre-flight report.
type PreflightReport struct {
	Passed bool    `json:"passed"`
	Checks []Check `json:"checks"`
}

// OptionInfo describes one operator option of a failover or rollback: its
// JSON name, type, default and what it does.
type OptionInfo struct {
	Name        string `json:"name"`
	Type        string `json:"type"`
	Default     any    `json:"default"`
	Allowed     []any  `json:"allowed,omitempty"`
	Description string `json:"description"`
}

// PlannedStep is a step a failover or rollback would run, as the
// operator's routes show it.
type PlannedStep struct {
	Name       string `json:"name"`
	SkipReason string `json:"skip_reason,omitempty"`
}

// PreflightConfig is what a failover of a VM would use by default
// (GET /failover/preflight/config/{failover_type}/{vm}).
type PreflightConfig struct {
	ContextID        string           `json:"context_id"`
	VMName           string           `json:"vm_name"`
	FailoverType     FailoverType     `json:"failover_type"`
	ContextStatus    ContextStatus    `json:"context_status"`
	Defaults         *FailoverConfig  `json:"defaults"`
	Options          []OptionInfo     `json:"options"`
	Networks         []NICPlan        `json:"networks"`
	Steps            []PlannedStep    `json:"steps"`
	Preflight        *PreflightReport `json:"preflight"`
	ApprovalRequired bool             `json:"approval_required"`
}

// Validation is the verdict on a proposed failover
// (POST /failover/preflight/validate).
type Validation struct {
	Valid            bool             `json:"valid"`
	ContextID        string           `json:"context_id"`
	VMName           string           `json:"vm_name"`
	Config           *FailoverConfig  `json:"config"`
	Preflight        *PreflightReport `json:"preflight"`
	Steps            []PlannedStep    `json:"steps"`
	ApprovalRequired bool             `json:"approval_required"`
	Approval         string           `json:"approval,omitempty"`
}

// ReadinessReport is a VM's pre-flight report
// (GET /failover/{vm}/readiness).
type ReadinessReport struct {
	ContextID     string           `json:"context_id"`
	VMName        string           `json:"vm_name"`
	FailoverType  FailoverType     `json:"failover_type"`
	ContextStatus ContextStatus    `json:"context_status"`
	Ready         bool             `json:"ready"`
	Preflight     *PreflightReport `json:"preflight"`
}

// RollbackDecision is what the operator may decide about a VM's latest
// failover of one type (GET /failover/rollback/decision/{failover_type}/{vm}).
type RollbackDecision struct {
	ContextID        string        `json:"context_id"`
	VMName           string        `json:"vm_name"`
	FailoverType     FailoverType  `json:"failover_type"`
	ContextStatus    ContextStatus `json:"context_status"`
	Failover         *FailoverJob  `json:"failover,omitempty"`
	CanRollback      bool          `json:"can_rollback"`
	CanRetry         bool          `json:"can_retry"`
	CanCommit        bool          `json:"can_commit"`
	Reason           string        `json:"reason,omitempty"`
	ApprovalRequired bool          `json:"approval_required"`
	Approval         string        `json:"approval,omitempty"`
	Options          []OptionInfo  `json:"options"`
	Steps            []PlannedStep `json:"steps"`
}
