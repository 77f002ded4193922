package store_test

import (
	"context"
	"fmt"
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
	job, err := b.store.CreateJob(b.ctx, store.NewJob{Type: "probe", ExternalID: "probe-vm1-1", ContextID: c.ContextID,
		Queue: "low", Steps: []store.PlannedStep{{Name: "a"}, {Name: "b", SkipReason: "not needed"}, {Name: "c"}, {Name: "d"}}}, nil)
	if err != nil {
		t.Fatal(err)
	}
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
	if _, err := b.store.BeginStep(b.ctx, job.ID, 0); err != nil {
		t.Fatal(err)
	}
	if err := b.store.CompleteStep(b.ctx, job.ID, 0); err != nil {
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
