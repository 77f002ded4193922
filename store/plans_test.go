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

// TestKeyLookupsKeepIndexPlans checks the plan Postgres caches for each
// statement a step or a status read runs by key: a generic plan, made on
// empty tables no one has ANALYZEd. pgx prepares every statement, and
// Postgres switches a prepared statement to its generic plan after five
// runs and keeps it; where autovacuum is off nothing ANALYZEs the tables,
// so a sequential scan planned while a table is empty stays as it grows.
// A lookup by key must find its rows by index whatever the statistics say.
func TestKeyLookupsKeepIndexPlans(t *testing.T) {
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
		stmt{"job status (WaitJobEnd)", jobStatusSQL, idArgs(id)})

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
		case int:
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
