package recovery

import (
	"context"

	"github.com/ossea/unifiedfailover/api/apiv1"
	"github.com/ossea/unifiedfailover/store"
)

// Report builds a run's report from what Postgres recorded: per member
// each step of its jobs with its duration, its RTO (run start to READY),
// the plan RTO (run start to the last critical member READY), the verdict
// against the target, the warnings and the operator's choices.
func (r *Runs) Report(ctx context.Context, runID string) (*apiv1.PlanRunReport, error) {
	run, err := r.cfg.Store.GetPlanRun(ctx, runID)
	if err != nil {
		return nil, err
	}
	events, err := r.cfg.Store.PlanRunEvents(ctx, runID)
	if err != nil {
		return nil, err
	}
	rep := &apiv1.PlanRunReport{RunID: run.ID, PlanName: run.PlanName, PlanVersion: run.PlanVersion, Mode: run.Mode,
		Status: run.Status, StartedAt: run.StartedAt, EndedAt: run.EndedAt, TargetRTOSeconds: run.Spec.TargetRTOSeconds,
		Members: []apiv1.PlanRunMemberReport{}, Warnings: []apiv1.PlanRunEvent{}, Choices: []apiv1.PlanRunEvent{}}
	var planRTO float64
	allCriticalReady, critical := true, 0
	for _, m := range run.Members {
		mr := apiv1.PlanRunMemberReport{ID: m.ID, Wave: m.Wave, VMName: m.VMName, Optional: m.Optional, State: m.State,
			Reason: m.Reason, Steps: []apiv1.PlanRunStepTime{}}
		if m.ReadyAt != nil {
			v := m.ReadyAt.Sub(run.StartedAt).Seconds()
			mr.RTOSeconds = &v
		}
		if !m.Optional {
			critical++
			if mr.RTOSeconds == nil {
				allCriticalReady = false
			} else {
				planRTO = max(planRTO, *mr.RTOSeconds)
			}
		}
		for _, id := range []string{m.JobID, m.RollbackJobID} {
			if id == "" {
				continue
			}
			j, err := r.cfg.Store.GetJob(ctx, id)
			if err != nil {
				return nil, err
			}
			mr.Steps = append(mr.Steps, stepTimes(j)...)
		}
		rep.Members = append(rep.Members, mr)
	}
	if allCriticalReady && critical > 0 {
		rep.PlanRTOSeconds = &planRTO
		if rep.TargetRTOSeconds > 0 {
			passed := planRTO <= float64(rep.TargetRTOSeconds)
			rep.Passed = &passed
		}
	}
	for _, e := range events {
		switch {
		case e.Actor != "":
			rep.Choices = append(rep.Choices, e)
		case e.Level == "warn":
			rep.Warnings = append(rep.Warnings, e)
		}
	}
	return rep, nil
}

func stepTimes(j *store.Job) []apiv1.PlanRunStepTime {
	out := make([]apiv1.PlanRunStepTime, 0, len(j.Steps))
	for _, s := range j.Steps {
		st := apiv1.PlanRunStepTime{Job: j.Type, Name: s.Name, Status: string(s.Status)}
		if s.StartedAt != nil && s.EndedAt != nil {
			v := s.EndedAt.Sub(*s.StartedAt).Seconds()
			st.Seconds = &v
		}
		out = append(out, st)
	}
	return out
}
