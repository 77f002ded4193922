package testsvc_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ossea/unifiedfailover/testsvc"
)

func TestPrivatePostgresRestartsWithItsData(t *testing.T) {
	t.Parallel()
	pg := testsvc.StartPostgres(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	admin := "postgres://postgres@127.0.0.1:" + strconv.Itoa(pg.Port) + "/postgres?sslmode=disable"
	exec := func(sql string) {
		t.Helper()
		conn, err := pgx.Connect(ctx, admin)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, sql); err != nil {
			t.Fatal(err)
		}
	}
	exec(`CREATE TABLE kept (v int); INSERT INTO kept VALUES (42)`)
	if err := pg.Stop(); err != nil {
		t.Fatal(err)
	}
	if pg.Running() {
		t.Fatal("postgres still answers after Stop")
	}
	if err := pg.Start(); err != nil {
		t.Fatal(err)
	}
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var v int
	if err := conn.QueryRow(ctx, `SELECT v FROM kept`).Scan(&v); err != nil || v != 42 {
		t.Fatalf("after a restart: %d, %v; want 42", v, err)
	}
}
