package store_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ossea/unifiedfailover/errs"
	"github.com/ossea/unifiedfailover/store"
	"github.com/ossea/unifiedfailover/testsvc"
)

type bundle struct {
	ctx   context.Context
	store *store.Store
	url   string
}

func setup(t *testing.T) *bundle {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	url := testsvc.PostgresURL(t)
	st, err := store.Open(ctx, url)
	if err != nil {
		t.Fatalf("opening store: %v", err)
	}
	t.Cleanup(st.Close)
	return &bundle{ctx: ctx, store: st, url: url}
}

func newContext(t *testing.T, b *bundle, name string) *store.VMContext {
	t.Helper()
	c := &store.VMContext{
		ContextID: "ctx-" + name, VMName: name, VMwareVMID: "uuid-" + name, CPUCount: 2, MemoryMB: 2048,
		OSType: "linux", Firmware: "bios", CurrentStatus: store.StatusReadyForFailover,
		Disks: []store.Disk{{DiskKey: 2000, UnitOrder: 0, SizeBytes: 1 << 20, VolumeID: "vol-" + name}},
		NICs:  []store.SourceNIC{{NICKey: 4000, Order: 0, NetworkName: "VM Network", MAC: "00:50:56:00:00:01"}},
	}
	if err := b.store.CreateContext(b.ctx, c); err != nil {
		t.Fatalf("creating context: %v", err)
	}
	return c
}

// newJob creates a job with its planned steps and no other row.
func newJob(t *testing.T, b *bundle, nj store.NewJob) *store.Job {
	t.Helper()
	job, err := b.store.CreateJob(b.ctx, nj, nil)
	if err != nil {
		t.Fatalf("creating %s job: %v", nj.Type, err)
	}
	return job
}

// newFailoverJob creates a test failover job of context c with one step
// "a", as the engine does: the job and its failover row in one transaction.
func newFailoverJob(t *testing.T, b *bundle, c *store.VMContext, externalID string) *store.Job {
	t.Helper()
	job, err := b.store.CreateJob(b.ctx, store.NewJob{Type: "failover", ExternalID: externalID, ContextID: c.ContextID, Queue: "low",
		Steps: []store.PlannedStep{{Name: "a"}}}, func(tx pgx.Tx, j *store.Job) error {
		return store.InsertFailoverJob(b.ctx, tx, &store.FailoverJob{JobID: j.ID, ExternalJobID: j.ExternalID, ContextID: c.ContextID,
			VMID: c.VMwareVMID, FailoverType: "test", Config: []byte(`{"failover_type":"test"}`)})
	})
	if err != nil {
		t.Fatalf("creating failover job: %v", err)
	}
	return job
}

func TestOpenMigratesConcurrently(t *testing.T) {
	t.Parallel()
	url := testsvc.PostgresURL(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var wg sync.WaitGroup
	errc := make(chan error, 4)
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			st, err := store.Open(ctx, url)
			if err == nil {
				st.Close()
			}
			errc <- err
		}()
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		if err != nil {
			t.Fatalf("concurrent open: %v", err)
		}
	}
}

func TestContextRegisteredTwiceIsAlreadyExists(t *testing.T) {
	t.Parallel()
	b := setup(t)
	c := newContext(t, b, "vm1")
	dup := *c
	dup.ContextID = "ctx-other"
	err := b.store.CreateContext(b.ctx, &dup)
	if !errs.Is(err, errs.AlreadyExists) {
		t.Fatalf("second registration: got %v, want AlreadyExists", err)
	}
	var e *errs.Error
	if !asErr(err, &e) || e.Details["context_id"] != c.ContextID {
		t.Fatalf("AlreadyExists should name context %s, got %#v", c.ContextID, e)
	}
	got, err := b.store.ResolveContext(b.ctx, "vm1")
	if err != nil || got.ContextID != c.ContextID || len(got.Disks) != 1 || len(got.NICs) != 1 {
		t.Fatalf("resolve by name: %+v, %v", got, err)
	}
}

// TestReplicaVolumeBelongsToOneContext: a second VM registered over
// another VM's replica volume is refused by the database, naming who
// holds it, and nothing of it is stored.
func TestReplicaVolumeBelongsToOneContext(t *testing.T) {
	t.Parallel()
	b := setup(t)
	c := newContext(t, b, "vm1")
	other := &store.VMContext{ContextID: "ctx-vm2", VMName: "vm2", VMwareVMID: "uuid-vm2", CPUCount: 1, MemoryMB: 1024,
		OSType: "linux", Firmware: "bios", CurrentStatus: store.StatusReadyForFailover,
		Disks: []store.Disk{{DiskKey: 2000, SizeBytes: 1 << 20, VolumeID: "vol-vm2"},
			{DiskKey: 2001, UnitOrder: 1, SizeBytes: 1 << 20, VolumeID: c.Disks[0].VolumeID}}}
	err := b.store.CreateContext(b.ctx, other)
	var e *errs.Error
	if !errs.Is(err, errs.AlreadyExists) || !asErr(err, &e) || e.Details["context_id"] != c.ContextID ||
		!strings.Contains(err.Error(), c.Disks[0].VolumeID) {
		t.Fatalf("registering over vm1's replica: %v, want AlreadyExists naming %s", err, c.ContextID)
	}
	if _, err := b.store.GetContext(b.ctx, "ctx-vm2"); !errs.Is(err, errs.NotFound) {
		t.Fatalf("the refused context was stored: %v", err)
	}
	// One VM naming one volume for two disks.
	other.Disks[1].VolumeID = "vol-vm2"
	if err := b.store.CreateContext(b.ctx, other); !errs.Is(err, errs.InvalidArgument) {
		t.Fatalf("two disks on one volume: %v, want InvalidArgument", err)
	}
	other.Disks[1].VolumeID = "vol-vm2-b"
	if err := b.store.CreateContext(b.ctx, other); err != nil {
		t.Fatalf("distinct volumes: %v", err)
	}
}

func TestDeletingContextCascadesToMappings(t *testing.T) {
	t.Parallel()
	b := setup(t)
	c := newContext(t, b, "vm1")
	_, err := b.store.UpsertMappings(b.ctx, []store.NetworkMapping{
		{ContextID: c.ContextID, SourceNetworkName: "VM Network", DestinationNetworkID: "net-1", MappingType: store.MappingTest},
		{ContextID: c.ContextID, SourceNetworkName: "VM Network", DestinationNetworkID: "net-2", MappingType: store.MappingLive},
	})
	if err != nil {
		t.Fatal(err)
	}
	// Upsert of the same (context, network, type) replaces, never duplicates.
	if _, err := b.store.UpsertMapping(b.ctx, store.NetworkMapping{ContextID: c.ContextID,
		SourceNetworkName: "VM Network", DestinationNetworkID: "net-3", MappingType: store.MappingTest}); err != nil {
		t.Fatal(err)
	}
	ms, _ := b.store.ListMappings(b.ctx, c.ContextID, store.MappingTest)
	if len(ms) != 1 || ms[0].DestinationNetworkID != "net-3" {
		t.Fatalf("test mappings after upsert: %+v", ms)
	}
	if err := b.store.DeleteContext(b.ctx, c.ContextID); err != nil {
		t.Fatal(err)
	}
	ms, _ = b.store.ListMappings(b.ctx, c.ContextID, "")
	if len(ms) != 0 {
		t.Fatalf("mappings survived their context: %+v", ms)
	}
}

// BeginStep begins a step only when the job is active on the task's run
// and the step is the one named and not done; the job it returns is the job
// as a fresh read sees it.
func TestBeginStepReturnsTheJobAsStoredAndRefusesStaleTasks(t *testing.T) {
	t.Parallel()
	b := setup(t)
	c := newContext(t, b, "vm1")
	job := newJob(t, b, store.NewJob{Type: "probe", ContextID: c.ContextID, Queue: "low",
		Steps: []store.PlannedStep{{Name: "a"}, {Name: "b"}}})
	for _, tc := range []struct {
		name string
		seq  int
		run  int
		step string
	}{
		{"another run", 0, job.RunNo + 1, "a"},
		{"another step's name", 0, job.RunNo, "b"},
		{"no such seq", 7, job.RunNo, "a"},
	} {
		got, begun, err := b.store.BeginStep(b.ctx, job.ID, tc.seq, tc.run, tc.step)
		if err != nil || begun || got.Status != store.JobPending || got.Steps[0].Attempts != 0 {
			t.Fatalf("%s: begun %v, %+v, %v", tc.name, begun, got, err)
		}
	}
	got, begun, err := b.store.BeginStep(b.ctx, job.ID, 0, job.RunNo, "a")
	if err != nil || !begun {
		t.Fatalf("begin: %v %v", begun, err)
	}
	fresh, err := b.store.GetJob(b.ctx, job.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != store.JobRunning || got.CurrentStep != "a" || got.StartedAt == nil ||
		!got.StartedAt.Equal(*fresh.StartedAt) || !got.UpdatedAt.Equal(fresh.UpdatedAt) || got.Status != fresh.Status ||
		got.CurrentStep != fresh.CurrentStep {
		t.Fatalf("returned job %+v, stored %+v", got, fresh)
	}
	gs, fs := got.Steps[0], fresh.Steps[0]
	if gs.Status != store.StepRunning || gs.Status != fs.Status || gs.Attempts != 1 || fs.Attempts != 1 ||
		gs.StartedAt == nil || !gs.StartedAt.Equal(*fs.StartedAt) || gs.EndedAt != nil {
		t.Fatalf("returned step %+v, stored %+v", gs, fs)
	}
	// A second delivery of the same task counts a second attempt and keeps
	// the first start time.
	again, begun, err := b.store.BeginStep(b.ctx, job.ID, 0, job.RunNo, "a")
	if err != nil || !begun || again.Steps[0].Attempts != 2 || !again.Steps[0].StartedAt.Equal(*gs.StartedAt) {
		t.Fatalf("second begin: %v %+v %v", begun, again.Steps[0], err)
	}
	if err := b.store.CompleteStep(b.ctx, job.ID, 0, 0); err != nil {
		t.Fatal(err)
	}
	done, begun, err := b.store.BeginStep(b.ctx, job.ID, 0, job.RunNo, "a")
	if err != nil || begun || done.Steps[0].Status != store.StepCompleted || done.Steps[0].Attempts != 2 {
		t.Fatalf("a done step began again: %v %+v %v", begun, done.Steps[0], err)
	}
	if _, err := b.store.EndJob(b.ctx, job.ID, store.JobFailed, "stopped"); err != nil {
		t.Fatal(err)
	}
	ended, begun, err := b.store.BeginStep(b.ctx, job.ID, 1, job.RunNo, "b")
	if err != nil || begun || ended.Status != store.JobFailed || ended.Steps[1].Status != store.StepPending {
		t.Fatalf("a step of an ended job began: %v %+v %v", begun, ended, err)
	}
	for _, id := range []string{"not-a-uuid", "6f0c1c4e-0000-4000-8000-000000000000"} {
		if _, _, err := b.store.BeginStep(b.ctx, id, 0, 0, "a"); !errs.Is(err, errs.NotFound) {
			t.Fatalf("BeginStep(%s): %v", id, err)
		}
	}
}

func TestBulkUpsertIsAllOrNothing(t *testing.T) {
	t.Parallel()
	b := setup(t)
	c := newContext(t, b, "vm1")
	_, err := b.store.UpsertMappings(b.ctx, []store.NetworkMapping{
		{ContextID: c.ContextID, SourceNetworkName: "a", DestinationNetworkID: "net-1", MappingType: store.MappingTest},
		{ContextID: "ctx-missing", SourceNetworkName: "b", DestinationNetworkID: "net-1", MappingType: store.MappingTest},
	})
	if !errs.Is(err, errs.NotFound) {
		t.Fatalf("bulk with unknown context: %v", err)
	}
	if ms, _ := b.store.ListMappings(b.ctx, c.ContextID, ""); len(ms) != 0 {
		t.Fatalf("half a bulk upsert was stored: %+v", ms)
	}
}

func TestJobLookupByEitherIDAndProgress(t *testing.T) {
	t.Parallel()
	b := setup(t)
	c := newContext(t, b, "vm1")
	job := newJob(t, b, store.NewJob{Type: "probe", ExternalID: "probe-vm1-1", ContextID: c.ContextID,
		Queue: "low", Steps: []store.PlannedStep{{Name: "a"}, {Name: "b", SkipReason: "not needed"}, {Name: "c"}, {Name: "d"}}})
	for _, id := range []string{job.ID, "probe-vm1-1"} {
		got, err := b.store.GetJob(b.ctx, id)
		if err != nil || got.ID != job.ID {
			t.Fatalf("GetJob(%s): %+v %v", id, got, err)
		}
	}
	if _, err := b.store.GetJob(b.ctx, "nope"); !errs.Is(err, errs.NotFound) {
		t.Fatalf("unknown job: %v", err)
	}
	if got, _ := b.store.GetJob(b.ctx, job.ID); got.Percent() != 25 || got.Steps[1].Status != store.StepSkipped {
		t.Fatalf("skipped step should count as done: %v%% %+v", got.Percent(), got.Steps)
	}
	if _, begun, err := b.store.BeginStep(b.ctx, job.ID, 0, job.RunNo, "a"); err != nil || !begun {
		t.Fatal(begun, err)
	}
	if err := b.store.CompleteStep(b.ctx, job.ID, 0, 0); err != nil {
		t.Fatal(err)
	}
	got, _ := b.store.GetJob(b.ctx, job.ID)
	if got.Percent() != 50 || got.Steps[0].Attempts != 1 || got.Steps[0].StartedAt == nil || got.Steps[0].EndedAt == nil {
		t.Fatalf("after one step: %v%% %+v", got.Percent(), got.Steps[0])
	}
	if err := b.store.AddEvent(b.ctx, store.Event{JobID: job.ID, ExternalJobID: job.ExternalID, Step: "a", Message: "hello",
		Attrs: map[string]any{"n": 1}}); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{job.ID, job.ExternalID} {
		evs, err := b.store.ListEvents(b.ctx, id, 0, 0)
		if err != nil || len(evs) != 1 || evs[0].ExternalJobID != job.ExternalID || evs[0].Message != "hello" {
			t.Fatalf("events by %s: %+v %v", id, evs, err)
		}
	}
}

func TestOneActiveJobPerContext(t *testing.T) {
	t.Parallel()
	b := setup(t)
	c := newContext(t, b, "vm1")
	var wg sync.WaitGroup
	type result struct {
		job *store.Job
		err error
	}
	results := make(chan result, 20)
	for i := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			j, err := b.store.CreateJob(b.ctx, store.NewJob{Type: "probe", ExternalID: fmt.Sprintf("p-%d", i),
				ContextID: c.ContextID, Queue: "low", Steps: []store.PlannedStep{{Name: "a"}}}, nil)
			results <- result{j, err}
		}()
	}
	wg.Wait()
	close(results)
	var winner *store.Job
	var conflicts []error
	for r := range results {
		switch {
		case r.err == nil && winner == nil:
			winner = r.job
		case r.err == nil:
			t.Fatalf("two active jobs for one context: %s and %s", winner.ID, r.job.ID)
		default:
			conflicts = append(conflicts, r.err)
		}
	}
	if winner == nil || len(conflicts) != 19 {
		t.Fatalf("want 1 job and 19 conflicts, got %v and %d", winner, len(conflicts))
	}
	for _, err := range conflicts {
		var e *errs.Error
		if !errs.Is(err, errs.Conflict) || !asErr(err, &e) || e.Details["active_job_id"] != winner.ID {
			t.Fatalf("conflict should name the active job %s: %v", winner.ID, err)
		}
	}
	if _, err := b.store.EndJob(b.ctx, winner.ID, store.JobCompleted, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := b.store.CreateJob(b.ctx, store.NewJob{Type: "probe", ContextID: c.ContextID, Queue: "low",
		Steps: []store.PlannedStep{{Name: "a"}}}, nil); err != nil {
		t.Fatalf("after the job ended a new one should be accepted: %v", err)
	}
}

func TestDecisionsAudit(t *testing.T) {
	t.Parallel()
	b := setup(t)
	c := newContext(t, b, "vm1")
	if err := b.store.RecordDecision(b.ctx, nil, store.Decision{Decision: "approval", Actor: "alice",
		ContextID: c.ContextID, Choice: map[string]any{"confirm": "vm1"}}); err != nil {
		t.Fatal(err)
	}
	ds, err := b.store.ListAudit(b.ctx, store.AuditFilter{ContextID: c.ContextID})
	if err != nil || len(ds) != 1 || ds[0].Actor != "alice" || ds[0].Choice["confirm"] != "vm1" {
		t.Fatalf("decisions: %+v %v", ds, err)
	}
}

func TestOpenCreatesAMissingDatabase(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	name := fmt.Sprintf("failover_created_%d", time.Now().UnixNano())
	url := "postgres://postgres@127.0.0.1:5432/" + name + "?sslmode=disable"
	t.Cleanup(func() {
		conn, err := pgx.Connect(context.Background(), "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable")
		if err == nil {
			_, _ = conn.Exec(context.Background(), "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
			conn.Close(context.Background())
		}
	})
	st, err := store.Open(ctx, url)
	if err != nil {
		t.Fatalf("opening a store on a database that does not exist: %v", err)
	}
	defer st.Close()
	if _, err := st.ListContexts(ctx); err != nil {
		t.Fatalf("the new database has no schema: %v", err)
	}
}

// A step's starting state comes back with its begin, in one round trip:
// the failover the job is or belongs to and its context with disks and
// NICs, as the single-purpose reads give them.
func TestBeginStepReadsTheFailoverAndContext(t *testing.T) {
	t.Parallel()
	b := setup(t)
	c := newContext(t, b, "vm1")
	job := newFailoverJob(t, b, c, "")
	begin := func(j *store.Job, name string) (*store.FailoverJob, *store.VMContext, error) {
		t.Helper()
		reads, result := store.FailoverOfJob(j.ID)
		if _, begun, err := b.store.BeginStep(b.ctx, j.ID, 0, j.RunNo, name, reads...); err != nil || !begun {
			t.Fatalf("begin: %v %v", begun, err)
		}
		return result()
	}
	gotFO, gotVM, err := begin(job, "a")
	if err != nil {
		t.Fatal(err)
	}
	wantFO, err := b.store.GetFailoverJob(b.ctx, job.ID)
	if err != nil {
		t.Fatal(err)
	}
	wantVM, err := b.store.GetContext(b.ctx, c.ContextID)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprintf("%+v", gotFO) != fmt.Sprintf("%+v", wantFO) || fmt.Sprintf("%+v", gotVM) != fmt.Sprintf("%+v", wantVM) {
		t.Fatalf("one-trip read differs:\n%+v\n%+v\nfrom separate reads:\n%+v\n%+v", gotFO, gotVM, wantFO, wantVM)
	}
	if len(gotVM.Disks) != 1 || gotVM.Disks[0].VolumeID != "vol-vm1" || len(gotVM.NICs) != 1 || gotVM.NICs[0].MAC != "00:50:56:00:00:01" {
		t.Fatalf("context children: %+v %+v", gotVM.Disks, gotVM.NICs)
	}
	if err := b.store.SetFailoverAndContextStatus(b.ctx, job.ID, store.FailoverCompleted, c.ContextID, store.StatusFailedOverTest); err != nil {
		t.Fatal(err)
	}
	if _, err := b.store.EndJob(b.ctx, job.ID, store.JobCompleted, ""); err != nil {
		t.Fatal(err)
	}
	// A rollback's steps read the failover it undoes.
	rb := newJob(t, b, store.NewJob{Type: "rollback", ContextID: c.ContextID, ParentID: job.ID, Queue: "low",
		Steps: []store.PlannedStep{{Name: "r"}}})
	gotFO, gotVM, err = begin(rb, "r")
	if err != nil || gotFO.JobID != job.ID || gotFO.Status != store.FailoverCompleted || gotFO.CompletedAt == nil ||
		gotVM.CurrentStatus != store.StatusFailedOverTest {
		t.Fatalf("rollback's read: %+v %+v %v", gotFO, gotVM, err)
	}
	if err := b.store.SetFailoverAndContextStatus(b.ctx, job.ID, store.FailoverRolledBack, "ctx-missing", store.StatusReadyForFailover); !errs.Is(err, errs.NotFound) {
		t.Fatalf("unknown context: %v", err)
	}
	// A job of no failover begins; its result says NotFound.
	other := newJob(t, b, store.NewJob{Type: "probe", Queue: "low", Steps: []store.PlannedStep{{Name: "a"}}})
	if _, _, err := begin(other, "a"); !errs.Is(err, errs.NotFound) {
		t.Fatalf("job of no failover: %v", err)
	}
}

// A job's status read gives the failover a failover job made, and for a
// rollback the failover it undoes; a job of no failover gets none.
func TestJobWithFailoverFindsOwnOrParentFailover(t *testing.T) {
	t.Parallel()
	b := setup(t)
	c := newContext(t, b, "vm1")
	fo := newFailoverJob(t, b, c, "fo-vm1")
	if _, err := b.store.EndJob(b.ctx, fo.ID, store.JobCompleted, ""); err != nil {
		t.Fatal(err)
	}
	rb := newJob(t, b, store.NewJob{Type: "rollback", ContextID: c.ContextID, ParentID: fo.ID, Queue: "low",
		Steps: []store.PlannedStep{{Name: "a"}}})
	if _, err := b.store.EndJob(b.ctx, rb.ID, store.JobCompleted, ""); err != nil {
		t.Fatal(err)
	}
	other := newJob(t, b, store.NewJob{Type: "probe", ContextID: c.ContextID, Queue: "low",
		Steps: []store.PlannedStep{{Name: "a"}, {Name: "b", SkipReason: "no"}}})
	for _, tc := range []struct{ id, wantJob, wantFO string }{
		{fo.ID, fo.ID, fo.ID}, {"fo-vm1", fo.ID, fo.ID}, {rb.ID, rb.ID, fo.ID}, {rb.ExternalID, rb.ID, fo.ID}, {other.ID, other.ID, ""},
	} {
		job, f, err := b.store.GetJobWithFailover(b.ctx, tc.id)
		if err != nil || job.ID != tc.wantJob || (f == nil) != (tc.wantFO == "") || (f != nil && f.JobID != tc.wantFO) {
			t.Fatalf("GetJobWithFailover(%s): %+v %+v %v", tc.id, job, f, err)
		}
	}
	job, _, err := b.store.GetJobWithFailover(b.ctx, other.ID)
	if err != nil || len(job.Steps) != 2 || job.Steps[1].Status != store.StepSkipped || job.Steps[1].SkipReason != "no" ||
		job.Steps[0].Status != store.StepPending {
		t.Fatalf("planned steps as stored: %+v %v", job, err)
	}
	if _, _, err := b.store.GetJobWithFailover(b.ctx, "nope"); !errs.Is(err, errs.NotFound) {
		t.Fatalf("unknown job: %v", err)
	}
}

// A change and the event that records it commit together: both, or
// neither when the event cannot be stored.
func TestChangeAndItsEventCommitTogether(t *testing.T) {
	t.Parallel()
	b := setup(t)
	c := newContext(t, b, "vm1")
	job := newFailoverJob(t, b, c, "")
	ev := store.Event{JobID: job.ID, ExternalJobID: job.ExternalID, Step: "snapshot", Message: "replica snapshotted",
		Attrs: map[string]any{"volume_id": "vol-vm1"}}
	if err := b.store.SetSnapshotID(b.ctx, job.ID, "vol-vm1", "snap-1", ev); err != nil {
		t.Fatal(err)
	}
	fo, _ := b.store.GetFailoverJob(b.ctx, job.ID)
	evs, _ := b.store.ListEvents(b.ctx, job.ID, 0, 0)
	if fo.SnapshotIDs["vol-vm1"] != "snap-1" || len(evs) != 1 || evs[0].Message != "replica snapshotted" ||
		evs[0].Level != "info" || evs[0].Attrs["volume_id"] != "vol-vm1" {
		t.Fatalf("after the change: %+v %+v", fo.SnapshotIDs, evs)
	}
	// An event of a job that does not exist cannot be stored: the change
	// it describes is not stored either.
	bad := ev
	bad.JobID = "6f0c1c4e-0000-4000-8000-000000000000"
	if err := b.store.SetDestinationVM(b.ctx, job.ID, "vm-1", bad); err == nil {
		t.Fatal("a change with an event that cannot be stored succeeded")
	}
	if err := b.store.SetSnapshotID(b.ctx, job.ID, "vol-vm1", "", bad); err == nil {
		t.Fatal("a change with an event that cannot be stored succeeded")
	}
	fo, _ = b.store.GetFailoverJob(b.ctx, job.ID)
	if fo.DestinationVMID != "" || fo.SnapshotIDs["vol-vm1"] != "snap-1" {
		t.Fatalf("a change whose event failed was kept: %+v", fo)
	}
}

// WaitJobEnd returns when the job ends, woken by Postgres (well before its
// own look every 5 s), or when the wait is over with the job still active.
func TestWaitJobEndWakesOnTheEnd(t *testing.T) {
	t.Parallel()
	b := setup(t)
	c := newContext(t, b, "vm1")
	job := newJob(t, b, store.NewJob{Type: "probe", ExternalID: "probe-wait", ContextID: c.ContextID, Queue: "low",
		Steps: []store.PlannedStep{{Name: "a"}}})
	began := time.Now()
	if err := b.store.WaitJobEnd(b.ctx, job.ID, 200*time.Millisecond); err != nil || time.Since(began) < 200*time.Millisecond {
		t.Fatalf("wait on an active job: %v after %s", err, time.Since(began))
	}
	done := make(chan time.Time, 2)
	for _, id := range []string{job.ID, job.ExternalID} {
		go func() {
			if err := b.store.WaitJobEnd(b.ctx, id, 30*time.Second); err != nil {
				t.Error(err)
			}
			done <- time.Now()
		}()
	}
	time.Sleep(300 * time.Millisecond) // both are waiting
	ended := time.Now()
	if _, _, err := b.store.BeginStep(b.ctx, job.ID, 0, job.RunNo, "a"); err != nil {
		t.Fatal(err)
	}
	if err := b.store.FailStep(b.ctx, job.ID, 0, "boom", "permanent", 0); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if lag := (<-done).Sub(ended); lag > 2*time.Second {
			t.Fatalf("woke %s after the job ended", lag)
		}
	}
	// An ended job: no wait at all.
	began = time.Now()
	if err := b.store.WaitJobEnd(b.ctx, job.ID, 30*time.Second); err != nil || time.Since(began) > time.Second {
		t.Fatalf("wait on an ended job: %v after %s", err, time.Since(began))
	}
	if err := b.store.WaitJobEnd(b.ctx, "nope", time.Second); !errs.Is(err, errs.NotFound) {
		t.Fatalf("unknown job: %v", err)
	}
}

// TestPruneJobsKeepsTheWayBackAndTheAudit: the logs of jobs that ended
// before the cutoff go, except a failover that can still be rolled back
// or committed; the decision audit stays.
func TestPruneJobsKeepsTheWayBackAndTheAudit(t *testing.T) {
	t.Parallel()
	b := setup(t)
	c := newContext(t, b, "vm1")
	exec := func(sql string, args ...any) {
		t.Helper()
		if _, err := b.store.Pool().Exec(b.ctx, sql, args...); err != nil {
			t.Fatal(err)
		}
	}
	old := time.Now().Add(-100 * 24 * time.Hour)
	end := func(j *store.Job, status string, at time.Time) {
		exec(`UPDATE job_tracking SET status = $2, ended_at = $3 WHERE id = $1`, j.ID, status, at)
	}
	oldProbe := newJob(t, b, store.NewJob{Type: "probe", ExternalID: "probe-old", Queue: "low", Steps: []store.PlannedStep{{Name: "a"}}})
	end(oldProbe, "completed", old)
	recent := newJob(t, b, store.NewJob{Type: "probe", ExternalID: "probe-new", Queue: "low", Steps: []store.PlannedStep{{Name: "a"}}})
	end(recent, "completed", time.Now())
	running := newJob(t, b, store.NewJob{Type: "probe", ExternalID: "probe-running", Queue: "low", Steps: []store.PlannedStep{{Name: "a"}}})
	exec(`UPDATE job_tracking SET created_at = $2 WHERE id = $1`, running.ID, old)
	failedOver := newFailoverJob(t, b, c, "fo-still-failed-over")
	end(failedOver, "completed", old)
	exec(`UPDATE failover_jobs SET status = 'completed' WHERE job_id = $1`, failedOver.ID)
	rolledBack := newFailoverJob(t, b, c, "fo-rolled-back")
	end(rolledBack, "completed", old)
	exec(`UPDATE failover_jobs SET status = 'rolled_back' WHERE job_id = $1`, rolledBack.ID)
	if err := b.store.RecordDecision(b.ctx, nil, store.Decision{Decision: "failover-options", Actor: "ada", ContextID: c.ContextID,
		JobID: rolledBack.ID, ExternalJobID: rolledBack.ExternalID}); err != nil {
		t.Fatal(err)
	}

	n, err := b.store.PruneJobs(b.ctx, time.Now().Add(-90*24*time.Hour))
	if err != nil || n != 2 {
		t.Fatalf("PruneJobs = %d, %v; want the old probe and the rolled-back failover", n, err)
	}
	for _, j := range []*store.Job{oldProbe, rolledBack} {
		if _, err := b.store.GetJob(b.ctx, j.ID); !errs.Is(err, errs.NotFound) {
			t.Errorf("%s was not pruned: %v", j.ExternalID, err)
		}
	}
	for _, j := range []*store.Job{recent, running, failedOver} {
		if _, err := b.store.GetJob(b.ctx, j.ID); err != nil {
			t.Errorf("%s was pruned: %v", j.ExternalID, err)
		}
	}
	var audit int
	if err := b.store.Pool().QueryRow(b.ctx, `SELECT count(*) FROM decision_audit WHERE job_id = $1`, rolledBack.ID).Scan(&audit); err != nil || audit != 1 {
		t.Fatalf("the pruned job's decision: %d rows, %v; the audit is never pruned", audit, err)
	}
}

// A request planned while the VM's other job was active, and inserted just
// after that job ended and moved the context's status on, is refused: the
// unique index no longer stops it, the status check does.
func TestCreateJobRefusesAContextWhoseStatusMovedOn(t *testing.T) {
	t.Parallel()
	b := setup(t)
	c := newContext(t, b, "vm1")
	first := newJob(t, b, store.NewJob{Type: "failover", ContextID: c.ContextID, Queue: "low",
		ContextStatus: store.StatusReadyForFailover, Steps: []store.PlannedStep{{Name: "a"}}})
	// The first failover finishes: its context moves on, then it ends.
	if err := b.store.SetContextStatus(b.ctx, c.ContextID, store.StatusFailedOverTest); err != nil {
		t.Fatal(err)
	}
	if _, err := b.store.EndJob(b.ctx, first.ID, store.JobCompleted, ""); err != nil {
		t.Fatal(err)
	}
	_, err := b.store.CreateJob(b.ctx, store.NewJob{Type: "failover", ContextID: c.ContextID, Queue: "low",
		ContextStatus: store.StatusReadyForFailover, Steps: []store.PlannedStep{{Name: "a"}}}, nil)
	var e *errs.Error
	if !errs.Is(err, errs.Conflict) || !asErr(err, &e) || e.Details["current_status"] != string(store.StatusFailedOverTest) {
		t.Fatalf("a job planned under ready_for_failover, now failed_over_test: %v, want Conflict naming the status", err)
	}
	if jobs, err := b.store.ListJobs(b.ctx, store.JobFilter{ContextID: c.ContextID}); err != nil || len(jobs) != 1 {
		t.Fatalf("jobs of the context: %d (%v), want only the first", len(jobs), err)
	}
	// Planned under the status it has, a job is created.
	if _, err := b.store.CreateJob(b.ctx, store.NewJob{Type: "rollback", ContextID: c.ContextID, Queue: "low",
		ContextStatus: store.StatusFailedOverTest, Steps: []store.PlannedStep{{Name: "a"}}}, nil); err != nil {
		t.Fatalf("planned under the current status: %v", err)
	}
}
