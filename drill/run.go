package drill

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ossea/unifiedfailover/errs"
	"github.com/ossea/unifiedfailover/queue"
	"github.com/ossea/unifiedfailover/store"
)

// JobType is the job type of a drill run.
const JobType = "drill"

// Triggers of a run.
const (
	TriggerSchedule = "schedule"
	TriggerManual   = "manual"
)

// Actor is the actor of the failovers and rollbacks a schedule's drills
// start: "drill:<schedule name>".
func Actor(scheduleName string) string { return "drill:" + scheduleName }

// jobParams are a drill job's params.
type jobParams struct {
	RunID string `json:"run_id"`
}

// RunOfJob reads the run of a drill job (its params name it).
func RunOfJob(ctx context.Context, st *store.Store, job *store.Job) (*store.DrillRun, error) {
	var p jobParams
	if err := json.Unmarshal(job.Params, &p); err != nil || p.RunID == "" {
		return nil, errs.New(errs.Internal, "drill job %s has no run id in its params", job.ID)
	}
	return st.GetDrillRun(ctx, p.RunID)
}

var unsafeID = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

// StartRun creates the run of a schedule's tick (once: a run is unique on
// schedule and tick) and starts its drill job (once: the run records its
// job in the job's creating transaction). Calling it again for the same
// tick returns the same run; started says whether this call started the
// job.
func StartRun(ctx context.Context, st *store.Store, r *queue.Runner, sc *store.DrillSchedule, tick time.Time,
	trigger, actor string) (run *store.DrillRun, started bool, err error) {
	names := map[string]string{}
	for _, c := range sc.ContextIDs {
		if vm, err := st.GetContext(ctx, c); err == nil {
			names[c] = vm.VMName
		}
	}
	run, _, err = st.CreateDrillRun(ctx, store.NewDrillRun{Schedule: sc, Tick: tick, Trigger: trigger, Actor: actor, VMNames: names})
	if err != nil {
		return nil, false, err
	}
	if run.JobID != "" || !run.Status.Active() {
		return run, false, nil
	}
	params, _ := json.Marshal(jobParams{RunID: run.ID})
	ext := fmt.Sprintf("drill-%s-%d-%s", unsafeID.ReplaceAllString(sc.Name, "-"), run.Tick.Unix(), run.ID[:8])
	_, err = r.Start(ctx, store.NewJob{Type: JobType, ExternalID: ext, Queue: queue.QueueLow, Actor: actor, Params: params},
		func(tx pgx.Tx, job *store.Job) error { return store.SetDrillRunJob(ctx, tx, run.ID, job.ID) })
	if err != nil && !errs.Is(err, errs.Conflict) && !errs.Is(err, errs.AlreadyExists) {
		return run, false, err
	}
	started = err == nil
	run, err = st.GetDrillRun(ctx, run.ID)
	return run, started, err
}
