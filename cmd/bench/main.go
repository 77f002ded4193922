// Command bench measures what the orchestration adds to the cost of a
// failover, against bare baselines, in one run:
//
//   - orchestration: M test failover + rollback cycles over K lab VMs (no
//     added simulator latency) with 1, 2 and 4 worker processes: cycles/s
//     and, per step, the orchestration's own time (step wall time minus
//     the time spent in vCenter, CloudStack, NBD and commands, which the
//     product records per step as job_steps.external_ms); against a bare
//     asynq chain of as many no-op steps per cycle, each writing one row to
//     Postgres;
//   - API: requests/s and latency of GET /api/v1/failover/{id}/status and
//     of a dry-run failover request at a fixed concurrency, against a bare
//     chi handler doing one indexed query;
//   - worker memory with 100 jobs in flight.
//
// It starts everything itself: the lab in process, a private redis-server,
// a Postgres schema of its own (dropped at the end) and the product's api
// and worker processes (built beforehand; see make bench).
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/pprof"
	"strconv"
	"strings"
	"time"
)

type flags struct {
	bin         string
	dbBase      string
	cycles      int
	vms         int
	workers     []int
	concurrency int
	requests    int
	inflight    int
	skipAPI     bool
	skipMemory  bool
	skipOrch    bool
	sweep       []int
	wrkFor      time.Duration
}

func main() {
	var f flags
	var workers string
	flag.StringVar(&f.bin, "bin", "bin", "directory holding the api and worker binaries")
	flag.StringVar(&f.dbBase, "db", envOr("FAILOVER_TEST_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/failover_test?sslmode=disable"),
		"database the benchmark makes its own schema in")
	flag.IntVar(&f.cycles, "cycles", 48, "M: failover+rollback cycles per worker count")
	flag.IntVar(&f.vms, "vms", 8, "K: lab VMs the cycles run over (K cycles at a time)")
	flag.StringVar(&workers, "workers", "1,2,4", "worker process counts to measure")
	flag.IntVar(&f.concurrency, "concurrency", 200, "concurrent API requests")
	flag.IntVar(&f.requests, "requests", 6000, "API requests per endpoint")
	flag.IntVar(&f.inflight, "inflight", 100, "jobs in flight for the worker memory figure")
	flag.DurationVar(&f.wrkFor, "wrk-duration", 5*time.Second, "how long wrk loads each endpoint (whole seconds; when wrk is installed)")
	var sweep, cpuProfile string
	flag.StringVar(&cpuProfile, "cpuprofile", "", "write the bench process's CPU profile (lab simulators, driver, baselines) to this file")
	flag.StringVar(&sweep, "sweep", "1,2,4", "also measure the orchestration with 1 worker at these numbers of VMs at a time (12 cycles per VM; \"\" skips)")
	flag.BoolVar(&f.skipOrch, "skip-orchestration", false, "skip the orchestration figures")
	flag.BoolVar(&f.skipAPI, "skip-api", false, "skip the API figures")
	flag.BoolVar(&f.skipMemory, "skip-memory", false, "skip the worker memory figure")
	flag.Parse()
	for _, w := range strings.Split(workers, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(w))
		if err != nil || n < 1 {
			fatal(fmt.Errorf("-workers: %q is not a positive number", w))
		}
		f.workers = append(f.workers, n)
	}
	for _, k := range strings.Split(sweep, ",") {
		if strings.TrimSpace(k) == "" {
			continue
		}
		n, err := strconv.Atoi(strings.TrimSpace(k))
		if err != nil || n < 1 {
			fatal(fmt.Errorf("-sweep: %q is not a positive number", k))
		}
		f.sweep = append(f.sweep, n)
	}
	if f.vms < 1 || f.cycles < f.vms || f.concurrency < 1 || f.requests < f.concurrency {
		fatal(fmt.Errorf("need cycles ≥ vms ≥ 1 and requests ≥ concurrency ≥ 1"))
	}
	if cpuProfile != "" {
		fh, err := os.Create(cpuProfile)
		if err != nil {
			fatal(err)
		}
		if err := pprof.StartCPUProfile(fh); err != nil {
			fatal(err)
		}
		defer func() { pprof.StopCPUProfile(); fh.Close() }()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 45*time.Minute)
	defer cancel()
	if err := run(ctx, f); err != nil {
		fatal(err)
	}
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "bench:", err)
	os.Exit(1)
}

func run(ctx context.Context, f flags) error {
	for _, b := range []string{"api", "worker"} {
		if _, err := os.Stat(filepath.Join(f.bin, b)); err != nil {
			return fmt.Errorf("no %s binary in %s (make bench builds them): %w", b, f.bin, err)
		}
	}
	slog.SetDefault(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))
	env, err := startEnv(ctx, f)
	if err != nil {
		return err
	}
	defer env.close()
	fmt.Printf("machine: %d CPUs, load average at start %s; lab: %d VMs, CloudStack async jobs %s, no added latency\n\n",
		numCPU(), loadAvg(), len(env.lab.VMs), labJobDuration)

	if !f.skipOrch {
		var rows []orchRow
		for _, n := range f.workers {
			row, err := env.orchestration(ctx, f, n)
			if err != nil {
				return fmt.Errorf("orchestration with %d workers: %w", n, err)
			}
			base, err := env.baseline(ctx, f, n, row.stepsPerCycle)
			if err != nil {
				return fmt.Errorf("baseline with %d workers: %w", n, err)
			}
			row.baseline = base
			rows = append(rows, row)
			fmt.Fprintf(os.Stderr, "bench: %d workers done\n", n)
		}
		printOrchestration(f, rows)
		var sweep []orchRow
		for _, k := range f.sweep {
			fk := f
			fk.vms, fk.cycles = k, 12*k
			row, err := env.orchestration(ctx, fk, 1)
			if err != nil {
				return fmt.Errorf("orchestration with %d VMs at a time: %w", k, err)
			}
			if row.baseline, err = env.baseline(ctx, fk, 1, row.stepsPerCycle); err != nil {
				return fmt.Errorf("baseline with %d chains at a time: %w", k, err)
			}
			sweep = append(sweep, row)
			fmt.Fprintf(os.Stderr, "bench: %d VMs at a time done\n", k)
		}
		printSweep(f, sweep)
	}
	if !f.skipAPI {
		rows, err := env.api(ctx, f)
		if err != nil {
			return fmt.Errorf("api: %w", err)
		}
		printAPI(f, rows)
	}
	if !f.skipMemory {
		m, err := env.memory(ctx, f)
		if err != nil {
			return fmt.Errorf("worker memory: %w", err)
		}
		printMemory(f, m)
	}
	fmt.Printf("load average at end %s\n", loadAvg())
	return nil
}

func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	fs := strings.Fields(string(b))
	if len(fs) < 3 {
		return "?"
	}
	return strings.Join(fs[:3], " ")
}

func numCPU() int {
	out, err := exec.Command("nproc").Output()
	if err != nil {
		return 0
	}
	n, _ := strconv.Atoi(strings.TrimSpace(string(out)))
	return n
}
