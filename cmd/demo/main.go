// Command demo runs the product end to end on this machine: it starts the
// api and two workers as real processes against Postgres and Redis, pushes
// a job through them, shows each step as it happens, prints a summary and
// stops everything it started.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ossea/unifiedfailover/client"
	"github.com/ossea/unifiedfailover/stack"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "demo failed:", err)
		os.Exit(1)
	}
}

func run() error {
	binDir := flag.String("bin", "", "directory of the product binaries (default: next to this one)")
	flag.Parse()
	if *binDir == "" {
		exe, err := os.Executable()
		if err != nil {
			return err
		}
		*binDir = filepath.Dir(exe)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	defer cancel()

	schema := fmt.Sprintf("demo_%d", time.Now().Unix())
	dbURL := "postgres://postgres@127.0.0.1:5432/failover_demo?sslmode=disable&search_path=" + schema
	defer dropSchema(schema)
	logDir, err := os.MkdirTemp("", "failover-demo-")
	if err != nil {
		return err
	}
	fmt.Printf("== starting api and 2 workers (logs in %s)\n", logDir)
	st, err := stack.Start(ctx, stack.Options{BinDir: *binDir, Workers: 2, LogDir: logDir,
		Env: []string{"FAILOVER_DATABASE_URL=" + dbURL, "FAILOVER_REDIS_DB=9", "FAILOVER_LOG_LEVEL=info"}})
	if err != nil {
		return err
	}
	defer func() {
		fmt.Println("== stopping everything the demo started")
		st.Stop()
	}()
	api := client.New(st.APIURL, "")
	return probe(ctx, api)
}

// probe pushes the three-step probe chain through api → Redis → worker →
// Postgres and prints its steps.
func probe(ctx context.Context, api *client.Client) error {
	fmt.Println("== probe: a three-step chain through api → Redis → worker → Postgres")
	started, err := api.StartProbe(ctx, "")
	if err != nil {
		return err
	}
	fmt.Printf("   job %s (%s) accepted\n", started.JobID, started.ExternalJobID)
	job, err := api.WaitJob(ctx, started.JobID, 50*time.Millisecond, printSteps)
	if err != nil {
		return err
	}
	return summary(job)
}

var shown = map[string]string{}

func printSteps(j *client.Job) {
	for _, s := range j.Steps {
		key := j.ID + "/" + s.Name
		if shown[key] == string(s.Status) {
			continue
		}
		shown[key] = string(s.Status)
		fmt.Printf("   %-20s %-10s attempts=%d %s\n", s.Name, s.Status, s.Attempts, s.Error)
	}
}

func summary(j *client.Job) error {
	fmt.Printf("== %s job %s: %s, %.0f%% of steps done\n", j.Type, j.ExternalID, j.Status, j.ProgressPercent)
	for _, s := range j.Steps {
		d := ""
		if s.StartedAt != nil && s.EndedAt != nil {
			d = s.EndedAt.Sub(*s.StartedAt).Round(time.Millisecond).String()
		}
		fmt.Printf("   %-20s %-10s %8s attempts=%d\n", s.Name, s.Status, d, s.Attempts)
	}
	if j.Status != "completed" {
		return fmt.Errorf("job %s ended %s: %s", j.ExternalID, j.Status, j.Error)
	}
	return nil
}

func dropSchema(schema string) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, "postgres://postgres@127.0.0.1:5432/failover_demo?sslmode=disable")
	if err != nil {
		return
	}
	defer conn.Close(ctx)
	_, _ = conn.Exec(ctx, "DROP SCHEMA IF EXISTS "+pgx.Identifier{schema}.Sanitize()+" CASCADE")
}
