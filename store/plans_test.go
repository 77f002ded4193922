package store

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ossea/unifiedfailover/testsvc"
)

// TestFrequentStatementsKeepIndexPlans checks the plan Postgres caches for
// each statement a step, a status read or the sweeper runs: a generic plan, made on
// empty tables no one has ANALYZEd. pgx prepares every statement, and
// Postgres switches a prepared statement to its generic plan after five
// runs and keeps it; where autovacuum is off nothing ANALYZEs the tables,
// so a sequential scan planned while a table is empty stays as it grows.
// Each must find its rows by index whatever the statistics say.
func TestFrequentStatementsKeepIndexPlans(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	st, err := Open(ctx, testsvc.PostgresURL(t))
	if err != nil {
		t.Fatalf("opening store: %v", err)
	}
	defer st.Close()

	const id = "00000000-0000-4000-8000-000000000001"
	type stmt struct {
		name string
		sql  string
		args []any
	}
	var stmts []stmt
	batch := func(name string, b *pgx.Batch) {
		for i, q := range b.QueuedQueries {
			stmts = append(stmts, stmt{fmt.Sprintf("%s #%d", name, i+1), q.SQL, q.Arguments})
		}
	}
	b := &pgx.Batch{}
	queueJob(b, byIDOrExternal, idArgs(id)...)
	batch("job and steps by UUID or external id (GetJob, status)", b)
	b = &pgx.Batch{}
	queueJob(b, byIDOrExternal, idArgs("ext-1")...)
	batch("job and steps by external id", b)
	b = &pgx.Batch{}
	queueJob(b, `j.id = $1`, id)
	batch("job and steps read by BeginStep", b)
	reads, _ := FailoverOfJob(id)
	for i, r := range reads {
		stmts = append(stmts, stmt{fmt.Sprintf("FailoverOfJob read #%d", i+1), r.SQL, r.Args})
	}
	stmts = append(stmts,
		stmt{"BeginStep's begin", beginStepSQL, []any{id, 1, 0, "a"}},
		stmt{"job status (WaitJobEnd)", jobStatusSQL, idArgs(id)},
		stmt{"the sweeper's stale active jobs", staleJobsSQL, []any{30.0, 100}})

	conn, err := st.pool.Acquire(ctx)
	if err != nil {
		t.Fatalf("acquiring a connection: %v", err)
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, `SET plan_cache_mode = force_generic_plan`); err != nil {
		t.Fatalf("forcing generic plans: %v", err)
	}
	defer conn.Exec(context.Background(), `RESET plan_cache_mode`) //nolint:errcheck // best effort on a pooled connection
	for _, s := range stmts {
		plan, err := genericPlan(ctx, conn.Conn(), s.sql, s.args)
		if err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		if strings.Contains(plan, "Seq Scan") {
			t.Errorf("%s: the cached plan scans a whole table:\n%s", s.name, plan)
		}
	}
}

// genericPlan prepares sql by name and explains its execution with args
// rendered as literals, on a connection forcing generic plans.
func genericPlan(ctx context.Context, conn *pgx.Conn, sql string, args []any) (string, error) {
	if _, err := conn.Exec(ctx, `PREPARE plan_probe AS `+sql); err != nil {
		return "", fmt.Errorf("preparing: %w", err)
	}
	defer conn.Exec(context.Background(), `DEALLOCATE plan_probe`) //nolint:errcheck // the connection goes with the test
	lits := make([]string, len(args))
	for i, a := range args {
		switch v := a.(type) {
		case nil:
			lits[i] = "NULL"
		case string:
			lits[i] = "'" + strings.ReplaceAll(v, "'", "''") + "'"
		case int, float64:
			lits[i] = fmt.Sprint(v)
		default:
			return "", fmt.Errorf("argument %d: type %T has no literal here", i+1, a)
		}
	}
	rows, err := conn.Query(ctx, `EXPLAIN EXECUTE plan_probe(`+strings.Join(lits, ", ")+`)`, pgx.QueryExecModeSimpleProtocol)
	if err != nil {
		return "", fmt.Errorf("explaining: %w", err)
	}
	lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return "", fmt.Errorf("explaining: %w", err)
	}
	return strings.Join(lines, "\n"), nil
}

// TestStepUpdatesAreHOT checks that a step's updates of its job's row and
// its own row are HOT (heap-only: no index entries written, the old row
// version pruned on its page without a vacuum). A column a step changes
// that is in an index, updated_at once was, makes each such update write
// into every index of the table.
func TestStepUpdatesAreHOT(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	// One connection: the backend that updates is the one whose statistics
	// are flushed and read.
	st, err := Open(ctx, testsvc.PostgresURL(t)+"&pool_max_conns=1")
	if err != nil {
		t.Fatalf("opening store: %v", err)
	}
	defer st.Close()
	names := []string{"a", "b", "c", "d", "e"}
	var planned []PlannedStep
	for _, n := range names {
		planned = append(planned, PlannedStep{Name: n})
	}
	job, err := st.CreateJob(ctx, NewJob{Type: "probe", Queue: "low", Steps: planned}, nil)
	if err != nil {
		t.Fatalf("creating job: %v", err)
	}
	for seq, n := range names {
		if _, begun, err := st.BeginStep(ctx, job.ID, seq, job.RunNo, n); err != nil || !begun {
			t.Fatalf("beginning step %s: begun %v, %v", n, begun, err)
		}
		if err := st.CompleteStep(ctx, job.ID, seq, time.Millisecond); err != nil {
			t.Fatalf("completing step %s: %v", n, err)
		}
	}
	if _, err := st.pool.Exec(ctx, `SELECT pg_stat_force_next_flush()`); err != nil {
		t.Fatalf("flushing statistics: %v", err)
	}
	for _, tc := range []struct {
		table   string
		nonHOT  int64 // updates that change an indexed column
		atLeast int64
	}{
		{"job_tracking", 1, int64(len(names))}, // pending to running
		{"job_steps", 0, 2 * int64(len(names))},
	} {
		var upd, hot int64
		err := st.pool.QueryRow(ctx, `SELECT n_tup_upd, n_tup_hot_upd FROM pg_stat_user_tables
			WHERE schemaname = current_schema() AND relname = $1`, tc.table).Scan(&upd, &hot)
		if err != nil {
			t.Fatalf("reading statistics of %s: %v", tc.table, err)
		}
		if upd < tc.atLeast || upd-hot > tc.nonHOT {
			t.Errorf("%s: %d updates, %d of them HOT; want at least %d, at most %d not HOT", tc.table, upd, hot, tc.atLeast, tc.nonHOT)
		}
	}
}
