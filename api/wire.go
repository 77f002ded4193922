package api

import (
	"time"

	"github.com/ossea/unifiedfailover/api/apiv1"
	"github.com/ossea/unifiedfailover/drill"
	"github.com/ossea/unifiedfailover/failover"
	"github.com/ossea/unifiedfailover/store"
)

// This file is where store rows and domain values become the API's wire
// types (apiv1): the API never writes a store struct itself. A nil slice
// stays nil (null in JSON), an empty one empty, as the rows have them.

// each converts a slice, keeping nil nil.
func each[S, D any](in []S, f func(S) D) []D {
	if in == nil {
		return nil
	}
	out := make([]D, len(in))
	for i := range in {
		out[i] = f(in[i])
	}
	return out
}

func jobOut(j *store.Job) apiv1.Job {
	return apiv1.Job{ID: j.ID, ExternalID: j.ExternalID, Type: j.Type, FailoverType: j.FailoverType, ContextID: j.ContextID,
		ParentID: j.ParentID, Queue: j.Queue, Status: j.Status, RunNo: j.RunNo, CurrentStep: j.CurrentStep, Error: j.Error,
		Actor: j.Actor, CreatedAt: j.CreatedAt, StartedAt: j.StartedAt, EndedAt: j.EndedAt, UpdatedAt: j.UpdatedAt,
		Params: j.Params, Steps: each(j.Steps, stepOut), ProgressPercent: j.Percent()}
}

func jobsOut(js []*store.Job) []apiv1.Job {
	out := make([]apiv1.Job, 0, len(js))
	for _, j := range js {
		out = append(out, jobOut(j))
	}
	return out
}

func stepOut(s store.Step) apiv1.Step {
	out := apiv1.Step{Seq: s.Seq, Name: s.Name, Status: s.Status, Attempts: s.Attempts, StartedAt: s.StartedAt,
		EndedAt: s.EndedAt, Error: s.Error, ErrorClass: s.ErrorClass, SkipReason: s.SkipReason, ExternalMS: s.ExternalMS}
	if p := s.Progress; p != nil {
		out.Progress = &apiv1.Progress{BytesDone: p.BytesDone, BytesTotal: p.BytesTotal, RateBps: p.RateBps, UpdatedAt: p.UpdatedAt}
	}
	return out
}

func eventOut(e store.Event) apiv1.Event {
	return apiv1.Event{ID: e.ID, JobID: e.JobID, ExternalJobID: e.ExternalJobID, Step: e.Step, Level: e.Level,
		Message: e.Message, Attrs: e.Attrs, CreatedAt: e.CreatedAt}
}

// contextOut converts a context with its replication health now (RPO,
// target, state: store.ReplicationOf, against the server's default
// target).
func (s *Server) contextOut(c *store.VMContext) apiv1.VMContext {
	rep := c.Replication(time.Now(), s.cfg.RPOTarget)
	return apiv1.VMContext{ContextID: c.ContextID, VMName: c.VMName, VMwareVMID: c.VMwareVMID, VCenterHost: c.VCenterHost,
		Datacenter: c.Datacenter, CPUCount: c.CPUCount, MemoryMB: c.MemoryMB, OSType: c.OSType, Firmware: c.Firmware,
		CurrentStatus: c.CurrentStatus, LastStatusChange: c.LastStatusChange, CreatedAt: c.CreatedAt,
		Disks: each(c.Disks, diskOut), NICs: each(c.NICs, nicOut), RPOSeconds: rep.RPOSeconds(),
		RPOTargetSeconds: int64(rep.Target / time.Second), ReplicationState: rep.State}
}

// contextPtr is contextOut of a context that may be nil.
func (s *Server) contextPtr(c *store.VMContext) *apiv1.VMContext {
	if c == nil {
		return nil
	}
	out := s.contextOut(c)
	return &out
}

func inventoryOut(en failover.InventoryEntry) apiv1.InventoryVM {
	vm := en.VM
	out := apiv1.InventoryVM{VMwareVMID: vm.UUID, Name: vm.Name, InventoryPath: vm.Path, Folder: vm.Folder,
		PowerState: vm.PowerState, OSType: vm.OSFamily, CBT: apiv1.CBTState{Enabled: vm.CBTEnabled},
		Disks: make([]apiv1.InventoryDisk, 0, len(vm.Disks)), NICs: make([]apiv1.InventoryNIC, 0, len(vm.NICs))}
	if !vm.CBTEnabled {
		out.CBT.Hint = failover.CBTHint(vm.Name)
	}
	if c := en.Context; c != nil {
		out.Protected, out.ContextID, out.ContextStatus = true, c.ContextID, c.CurrentStatus
	}
	for _, d := range vm.Disks {
		m := en.Replicas[d.Key]
		out.Disks = append(out.Disks, apiv1.InventoryDisk{DiskKey: d.Key, DiskNumber: d.Order + 1, Label: d.Label,
			SizeBytes: d.CapacityBytes, Replica: apiv1.InventoryReplica{VolumeID: m.VolumeID, VolumeName: m.VolumeName,
				FoundBy: m.FoundBy, Problem: m.Problem}})
	}
	for _, n := range vm.NICs {
		out.NICs = append(out.NICs, apiv1.InventoryNIC{NICKey: n.Key, NetworkName: n.NetworkName, MAC: n.MAC, AdapterType: n.AdapterType})
	}
	return out
}

func diskOut(d store.Disk) apiv1.Disk {
	return apiv1.Disk{DiskKey: d.DiskKey, UnitOrder: d.UnitOrder, Label: d.Label, SizeBytes: d.SizeBytes, VolumeID: d.VolumeID,
		SourceNBDURI: d.SourceNBDURI, ReplicaNBDURI: d.ReplicaNBDURI, ChangeID: d.ChangeID, ApplianceDeviceID: d.ApplianceDeviceID,
		LastSyncedAt: d.LastSyncedAt}
}

func nicOut(n store.SourceNIC) apiv1.SourceNIC {
	return apiv1.SourceNIC{NICKey: n.NICKey, Order: n.Order, NetworkName: n.NetworkName, MAC: n.MAC, AdapterType: n.AdapterType}
}

func workerOut(w store.Worker) apiv1.Worker {
	caps := map[string]apiv1.WorkerCapability{}
	for name, c := range w.Capabilities {
		caps[name] = c
	}
	return apiv1.Worker{ID: w.ID, Hostname: w.Hostname, PID: w.PID, Version: w.Version, StartedAt: w.StartedAt,
		HeartbeatInterval: apiv1.Duration(w.HeartbeatInterval), HeartbeatAt: w.HeartbeatAt, Capabilities: caps}
}

func mappingOut(m store.NetworkMapping) apiv1.NetworkMapping {
	return apiv1.NetworkMapping{ID: m.ID, ContextID: m.ContextID, SourceNetworkName: m.SourceNetworkName,
		DestinationNetworkID: m.DestinationNetworkID, DestinationNetworkName: m.DestinationNetworkName,
		MappingType: m.MappingType, CreatedAt: m.CreatedAt, UpdatedAt: m.UpdatedAt}
}

// mappingsOut converts mappings; nil becomes an empty list.
func mappingsOut(ms []store.NetworkMapping) []apiv1.NetworkMapping {
	if ms == nil {
		return []apiv1.NetworkMapping{}
	}
	return each(ms, mappingOut)
}

func decisionOut(d store.Decision) apiv1.Decision {
	return apiv1.Decision{ID: d.ID, Decision: d.Decision, Actor: d.Actor, ContextID: d.ContextID, JobID: d.JobID,
		ExternalJobID: d.ExternalJobID, Choice: d.Choice, CreatedAt: d.CreatedAt}
}

func failoverJobOut(f *store.FailoverJob) *apiv1.FailoverJob {
	if f == nil {
		return nil
	}
	return &apiv1.FailoverJob{JobID: f.JobID, ExternalJobID: f.ExternalJobID, ContextID: f.ContextID, VMID: f.VMID,
		FailoverType: f.FailoverType, Status: f.Status, Config: f.Config, DestinationVMID: f.DestinationVMID,
		SnapshotIDs: f.SnapshotIDs, TemplateVolumeID: f.TemplateVolumeID, SourceVMSpec: f.SourceVMSpec,
		Leftovers: each(f.Leftovers, func(l store.Leftover) apiv1.Leftover {
			return apiv1.Leftover{Kind: l.Kind, ID: l.ID, Step: l.Step, Error: l.Error}
		}), CreatedAt: f.CreatedAt, UpdatedAt: f.UpdatedAt, CompletedAt: f.CompletedAt}
}

func drillOut(d *store.DrillSchedule, next *time.Time, last *store.DrillRun) apiv1.Drill {
	out := apiv1.Drill{ID: d.ID, Name: d.Name, ContextIDs: d.ContextIDs, Cron: d.Cron, Timezone: d.Timezone,
		HoldSeconds: d.HoldSeconds, MaxParallel: d.MaxParallel, Enabled: d.Enabled, CreatedBy: d.CreatedBy,
		CreatedAt: d.CreatedAt, UpdatedAt: d.UpdatedAt, Hold: (time.Duration(d.HoldSeconds) * time.Second).String(),
		NextRunAt: next}
	if last != nil {
		info := runInfoOut(last)
		out.LastRun = &info
	}
	return out
}

func runInfoOut(r *store.DrillRun) apiv1.DrillRunInfo {
	return apiv1.DrillRunInfo{ID: r.ID, ScheduleID: r.ScheduleID, ScheduleName: r.ScheduleName, Tick: r.Tick, Status: r.Status,
		Trigger: r.Trigger, JobID: r.JobID, Error: r.Error, StartedAt: r.StartedAt, EndedAt: r.EndedAt}
}

// drillRunOut is a run with its VMs and, when not nil, its report.
func drillRunOut(r *store.DrillRun, rep *drill.Report) apiv1.DrillRun {
	return apiv1.DrillRun{ID: r.ID, ScheduleID: r.ScheduleID, ScheduleName: r.ScheduleName, Tick: r.Tick, Status: r.Status,
		JobID: r.JobID, HoldSeconds: r.HoldSeconds, MaxParallel: r.MaxParallel, Trigger: r.Trigger, Actor: r.Actor,
		Error: r.Error, StartedAt: r.StartedAt, EndedAt: r.EndedAt, HoldUntil: r.HoldUntil, CreatedAt: r.CreatedAt,
		VMs: each(r.VMs, func(v store.DrillRunVM) apiv1.DrillRunVM {
			return apiv1.DrillRunVM{ContextID: v.ContextID, Seq: v.Seq, VMName: v.VMName, State: v.State, Outcome: v.Outcome,
				SkipReason: v.SkipReason, Error: v.Error, FailoverIntentAt: v.FailoverIntentAt, FailoverJobID: v.FailoverJobID,
				DestinationVMID: v.DestinationVMID, DestinationState: v.DestinationState, RTOSeconds: v.RTOSeconds,
				RollbackIntentAt: v.RollbackIntentAt, RollbackJobID: v.RollbackJobID, UpdatedAt: v.UpdatedAt}
		}), Report: rep}
}

func configOut(c *failover.Config) *apiv1.FailoverConfig {
	if c == nil {
		return nil
	}
	out := apiv1.FailoverConfig(*c)
	return &out
}

func reportOut(r *failover.Report) *apiv1.PreflightReport {
	if r == nil {
		return nil
	}
	return &apiv1.PreflightReport{Passed: r.Passed, Checks: r.Checks}
}

func planOut(p *failover.Plan) *apiv1.Plan {
	if p == nil {
		return nil
	}
	return &apiv1.Plan{Operation: p.Operation, ContextID: p.ContextID, VMName: p.VMName, Config: configOut(p.Config),
		Rollback: p.Rollback, FailoverJobID: p.FailoverJobID, Preflight: reportOut(p.Preflight), SkippedChecks: p.SkippedChecks,
		Steps: each(p.Steps, func(s store.PlannedStep) apiv1.PlanStep {
			return apiv1.PlanStep{Name: s.Name, SkipReason: s.SkipReason}
		}), Effects: apiv1.Effects(p.Effects),
		Needs:            apiv1.Approval{Role: string(p.Needs.Role), Confirm: p.Needs.Confirm, Effects: p.Needs.Effects},
		ApprovalRequired: p.ApprovalRequired, Approval: p.Approval}
}

// plannedSteps are a plan's steps as the operator's routes show them.
func plannedSteps(ps []store.PlannedStep) []apiv1.PlannedStep {
	out := make([]apiv1.PlannedStep, 0, len(ps))
	for _, p := range ps {
		out = append(out, apiv1.PlannedStep{Name: p.Name, SkipReason: p.SkipReason})
	}
	return out
}

func (s *Server) refreshOut(r *failover.RefreshReport) apiv1.RefreshReport {
	return apiv1.RefreshReport{Context: s.contextPtr(r.Context), Changes: r.Changes, DisksWithoutReplica: r.DisksWithoutReplica}
}
