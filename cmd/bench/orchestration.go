package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hibiken/asynq"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/ossea/unifiedfailover/client"
	"github.com/ossea/unifiedfailover/failover"
	"github.com/ossea/unifiedfailover/queue"
	"github.com/ossea/unifiedfailover/store"
)

// orchRow is the result for one worker count.
type orchRow struct {
	workers       int
	cycles        int
	wall          time.Duration
	stepsPerCycle float64
	steps         int
	// Per step (executed, not skipped): orchestration ms = wall - external.
	orchP50, orchP99 float64
	wallP50, extP50  float64
	extShare         float64 // share of all step time spent outside
	chainGapP50      float64 // ms between a step's end and the next step's start
	baseline         baseRow
	failed           int
	byStep           []stepRow
	workerCPU        time.Duration // user+system time of the workers during the measured cycles
}

// stepRow is the figures of one step name.
type stepRow struct {
	name            string
	n               int
	orchP50, extP50 float64
}

type baseRow struct {
	cycles int
	steps  int
	wall   time.Duration
}

func (r orchRow) cyclesPerSec() float64 { return float64(r.cycles) / r.wall.Seconds() }
func (b baseRow) cyclesPerSec() float64 { return float64(b.cycles) / b.wall.Seconds() }

// pollEvery is how often the driver asks the API whether a job ended.
const pollEvery = 50 * time.Millisecond

// orchestration runs f.cycles failover+rollback cycles over f.vms VMs with n
// workers and reads the steps' figures from Postgres.
func (e *env) orchestration(ctx context.Context, f flags, n int) (orchRow, error) {
	st, err := e.startStack(ctx, n, nil)
	if err != nil {
		return orchRow{}, err
	}
	defer st.Stop()
	api := client.New(st.APIURL, e.token)
	cycle := func(i int) ([]string, error) {
		var ids []string
		ctxID := e.contexts[i]
		fo, err := api.Failover(ctx, failover.FailoverRequest{ContextID: ctxID, FailoverType: failover.Test})
		if err != nil {
			return nil, fmt.Errorf("failover of %s: %w", ctxID, err)
		}
		ids = append(ids, fo.JobID)
		if j, err := api.WaitJob(ctx, fo.JobID, pollEvery, nil); err != nil || j.Status != store.JobCompleted {
			return ids, fmt.Errorf("failover %s: %v (%v)", fo.JobID, err, jobStatus(j))
		}
		rb, err := api.Rollback(ctx, failover.RollbackRequest{ContextID: ctxID})
		if err != nil {
			return ids, fmt.Errorf("rollback of %s: %w", ctxID, err)
		}
		ids = append(ids, rb.JobID)
		if j, err := api.WaitJob(ctx, rb.JobID, pollEvery, nil); err != nil || j.Status != store.JobCompleted {
			return ids, fmt.Errorf("rollback %s: %v (%v)", rb.JobID, err, jobStatus(j))
		}
		return ids, nil
	}
	// Warm-up: one cycle per VM, not counted.
	if err := runCycles(f.vms, f.vms, cycle, nil); err != nil {
		return orchRow{}, fmt.Errorf("warm-up: %w", err)
	}
	var mu sync.Mutex
	var jobs []string
	cpu0 := cpuTime(st.Workers())
	began := time.Now()
	err = runCycles(f.cycles, f.vms, cycle, func(ids []string) {
		mu.Lock()
		jobs = append(jobs, ids...)
		mu.Unlock()
	})
	wall := time.Since(began)
	cpu := cpuTime(st.Workers()) - cpu0
	if err != nil {
		return orchRow{}, err
	}
	row := orchRow{workers: n, cycles: f.cycles, wall: wall, workerCPU: cpu}
	return row, e.stepFigures(ctx, jobs, &row)
}

func jobStatus(j *client.Job) string {
	if j == nil {
		return "no job"
	}
	return fmt.Sprintf("%s at %s: %s", j.Status, j.CurrentStep, j.Error)
}

// cpuTime sums the user and system CPU time of processes from
// /proc/<pid>/stat (fields 14 and 15, in clock ticks of 10 ms).
func cpuTime(pids []int) time.Duration {
	var ticks int64
	for _, pid := range pids {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			continue
		}
		s := string(b)
		i := strings.LastIndexByte(s, ')') // the command name may hold spaces
		if i < 0 {
			continue
		}
		fs := strings.Fields(s[i+1:])
		if len(fs) < 13 {
			continue
		}
		u, _ := strconv.ParseInt(fs[11], 10, 64)
		k, _ := strconv.ParseInt(fs[12], 10, 64)
		ticks += u + k
	}
	return time.Duration(ticks) * 10 * time.Millisecond
}

// runCycles runs total cycles, at most par at a time, cycle i%par on VM
// i%par (so one VM never has two cycles at once).
func runCycles(total, par int, cycle func(vm int) ([]string, error), done func([]string)) error {
	var next atomic.Int64
	var wg sync.WaitGroup
	errc := make(chan error, par)
	for w := range par {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= total {
					return
				}
				ids, err := cycle(w)
				if done != nil {
					done(ids)
				}
				if err != nil {
					errc <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errc)
	return <-errc
}

// stepFigures reads the executed steps of jobs and fills row.
func (e *env) stepFigures(ctx context.Context, jobs []string, row *orchRow) error {
	conn, err := e.conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, `SELECT s.job_id::text, s.seq, j.job_type || ':' || s.name, EXTRACT(EPOCH FROM s.started_at) * 1000, EXTRACT(EPOCH FROM s.ended_at) * 1000,
			s.external_ms, s.attempts
		FROM job_steps s JOIN job_tracking j ON j.id = s.job_id WHERE s.job_id = ANY($1::uuid[]) AND s.status = 'completed' ORDER BY s.job_id, s.seq`, jobs)
	if err != nil {
		return fmt.Errorf("reading steps: %w", err)
	}
	defer rows.Close()
	var orch, wall, ext, gaps []float64
	var sumWall, sumExt float64
	lastJob, lastEnd := "", 0.0
	byName := map[string][2][]float64{}
	var names []string
	for rows.Next() {
		var job, name string
		var seq, attempts int
		var start, end, external float64
		if err := rows.Scan(&job, &seq, &name, &start, &end, &external, &attempts); err != nil {
			return err
		}
		v, seen := byName[name]
		if !seen {
			names = append(names, name)
		}
		byName[name] = [2][]float64{append(v[0], end-start-external), append(v[1], external)}
		if attempts > 1 {
			row.failed++
		}
		w := end - start
		orch = append(orch, w-external)
		wall = append(wall, w)
		ext = append(ext, external)
		sumWall += w
		sumExt += external
		if job == lastJob {
			gaps = append(gaps, start-lastEnd)
		}
		lastJob, lastEnd = job, end
	}
	if err := rows.Err(); err != nil {
		return err
	}
	for _, name := range names {
		v := byName[name]
		row.byStep = append(row.byStep, stepRow{name: name, n: len(v[0]), orchP50: pct(v[0], 50), extP50: pct(v[1], 50)})
	}
	row.steps = len(orch)
	row.stepsPerCycle = float64(len(orch)) / float64(row.cycles)
	row.orchP50, row.orchP99 = pct(orch, 50), pct(orch, 99)
	row.wallP50, row.extP50 = pct(wall, 50), pct(ext, 50)
	row.chainGapP50 = pct(gaps, 50)
	if sumWall > 0 {
		row.extShare = sumExt / sumWall
	}
	return nil
}

// pct is the p-th percentile (nearest rank) of xs.
func pct(xs []float64, p float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	i := int(p/100*float64(len(s))+0.5) - 1
	return s[min(max(i, 0), len(s)-1)]
}

// baseline runs the same number of cycles as bare asynq chains of
// round(stepsPerCycle) no-op steps, each inserting one row into Postgres
// and enqueueing the next step (task id chain:seq), on n asynq servers
// configured as the product's workers are, f.vms chains at a time.
func (e *env) baseline(ctx context.Context, f flags, n int, stepsPerCycle float64) (baseRow, error) {
	steps := max(int(stepsPerCycle+0.5), 1)
	pool, err := pgxpool.New(ctx, e.dbURL)
	if err != nil {
		return baseRow{}, err
	}
	defer pool.Close()
	if _, err := pool.Exec(ctx, `CREATE TABLE IF NOT EXISTS bench_baseline (chain text NOT NULL, seq int NOT NULL,
		at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (chain, seq))`); err != nil {
		return baseRow{}, fmt.Errorf("creating the baseline table: %w", err)
	}
	redisOpt := queue.RedisConfig{Addr: e.redisAddr}.ConnOpt()
	cl := asynq.NewClient(redisOpt)
	defer cl.Close()
	var mu sync.Mutex
	waiters := map[string]chan struct{}{}
	type payload struct {
		Chain string `json:"chain"`
		Seq   int    `json:"seq"`
	}
	enqueue := func(ctx context.Context, p payload) error {
		b, _ := json.Marshal(p)
		_, err := cl.EnqueueContext(ctx, asynq.NewTask("baseline:step", b), asynq.Queue(queue.QueueDefault),
			asynq.TaskID(fmt.Sprintf("%s:%d", p.Chain, p.Seq)), asynq.MaxRetry(5), asynq.Timeout(time.Minute))
		return err
	}
	handler := asynq.HandlerFunc(func(ctx context.Context, t *asynq.Task) error {
		var p payload
		if err := json.Unmarshal(t.Payload(), &p); err != nil {
			return err
		}
		if _, err := pool.Exec(ctx, `INSERT INTO bench_baseline (chain, seq) VALUES ($1, $2) ON CONFLICT DO NOTHING`, p.Chain, p.Seq); err != nil {
			return err
		}
		if p.Seq+1 < steps {
			return enqueue(ctx, payload{Chain: p.Chain, Seq: p.Seq + 1})
		}
		mu.Lock()
		ch := waiters[p.Chain]
		delete(waiters, p.Chain)
		mu.Unlock()
		if ch != nil {
			close(ch)
		}
		return nil
	})
	cfg := queue.ServerConfig{}.WithDefaults()
	var servers []*asynq.Server
	for range n {
		srv := asynq.NewServer(redisOpt, asynq.Config{Concurrency: cfg.Concurrency, Queues: queue.Priorities,
			TaskCheckInterval: cfg.PollInterval, DelayedTaskCheckInterval: cfg.DelayedCheckInterval,
			ShutdownTimeout: 5 * time.Second, LogLevel: asynq.ErrorLevel})
		if err := srv.Start(handler); err != nil {
			return baseRow{}, err
		}
		servers = append(servers, srv)
	}
	defer func() {
		for _, s := range servers {
			s.Shutdown()
		}
	}()
	var serial atomic.Int64
	chain := func(int) ([]string, error) {
		id := fmt.Sprintf("base-%d-%d-%d", n, time.Now().UnixNano(), serial.Add(1))
		ch := make(chan struct{})
		mu.Lock()
		waiters[id] = ch
		mu.Unlock()
		if err := enqueue(ctx, payload{Chain: id}); err != nil {
			return nil, err
		}
		select {
		case <-ch:
			return nil, nil
		case <-time.After(2 * time.Minute):
			return nil, fmt.Errorf("baseline chain %s did not finish", id)
		}
	}
	if err := runCycles(f.vms, f.vms, chain, nil); err != nil { // warm-up
		return baseRow{}, err
	}
	began := time.Now()
	if err := runCycles(f.cycles, f.vms, chain, nil); err != nil {
		return baseRow{}, err
	}
	return baseRow{cycles: f.cycles, steps: steps, wall: time.Since(began)}, nil
}

func printOrchestration(f flags, rows []orchRow) {
	fmt.Printf("ORCHESTRATION: %d test failover + rollback cycles over %d VMs (%d at a time), per worker count\n", f.cycles, f.vms, f.vms)
	fmt.Printf("  per executed step: orch = step wall time − time in vCenter/CloudStack/NBD calls (job_steps.external_ms)\n")
	fmt.Printf("%-8s %9s %10s %10s %10s %10s %10s %9s %10s %12s %8s\n", "workers", "cycles/s", "steps/cyc",
		"orch p50", "orch p99", "wall p50", "ext p50", "ext share", "gap p50", "baseline c/s", "ratio")
	for _, r := range rows {
		fmt.Printf("%-8d %9.2f %10.1f %8.2fms %8.2fms %8.2fms %8.2fms %8.0f%% %8.2fms %12.2f %8.2f\n", r.workers, r.cyclesPerSec(),
			r.stepsPerCycle, r.orchP50, r.orchP99, r.wallP50, r.extP50, r.extShare*100, r.chainGapP50,
			r.baseline.cyclesPerSec(), r.cyclesPerSec()/r.baseline.cyclesPerSec())
		if r.failed > 0 {
			fmt.Fprintf(os.Stderr, "bench: %d workers: %d steps needed more than one attempt\n", r.workers, r.failed)
		}
	}
	fmt.Printf("  baseline: bare asynq chains of %d no-op steps (one INSERT each, next step enqueued by the handler), same servers' settings\n",
		rows[0].baseline.steps)
	fmt.Printf("  gap: from a step's end to the next step's start (enqueue + queue pick-up + the next task's bookkeeping)\n")
	fmt.Printf("  worker CPU (user+system, all workers) per executed step:")
	for _, r := range rows {
		fmt.Printf(" %d workers %.1f ms;", r.workers, float64(r.workerCPU)/float64(time.Millisecond)/float64(max(r.steps, 1)))
	}
	fmt.Println()
	fmt.Printf("  by step, %d workers (orch p50 / ext p50):", rows[0].workers)
	for i, s := range rows[0].byStep {
		if i%3 == 0 {
			fmt.Printf("\n   ")
		}
		fmt.Printf(" %-31s %6.1f/%6.1fms", s.name, s.orchP50, s.extP50)
	}
	fmt.Printf("\n\n")
}

// printSweep prints the orchestration with one worker by how many VMs run
// cycles at a time (the table above is at -vms).
func printSweep(f flags, rows []orchRow) {
	if len(rows) == 0 {
		return
	}
	fmt.Printf("BY CONCURRENCY: 1 worker, 12 cycles per VM, K VMs (and K baseline chains) at a time\n")
	fmt.Printf("%-8s %9s %10s %10s %10s %10s %12s %8s\n", "K", "cycles/s", "orch p50", "orch p99", "ext p50", "gap p50", "baseline c/s", "ratio")
	for _, r := range rows {
		fmt.Printf("%-8d %9.2f %8.2fms %8.2fms %8.2fms %8.2fms %12.2f %8.2f\n", r.cycles/12, r.cyclesPerSec(), r.orchP50, r.orchP99,
			r.extP50, r.chainGapP50, r.baseline.cyclesPerSec(), r.cyclesPerSec()/r.baseline.cyclesPerSec())
	}
	fmt.Println()
}
