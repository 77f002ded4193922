package main

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ossea/unifiedfailover/client"
	"github.com/ossea/unifiedfailover/failover"
)

type memRow struct {
	jobs              int
	idleRSS, rss, hwm int64 // KiB
}

// memory starts f.inflight test failovers on one worker that runs as many
// steps at once, holds every one of them inside vm-creation (CloudStack
// deploys slowed to a minute), and reads the worker's memory from /proc.
func (e *env) memory(ctx context.Context, f flags) (memRow, error) {
	n := f.inflight
	st, err := e.startStack(ctx, 1, []string{"FAILOVER_WORKER_CONCURRENCY=" + strconv.Itoa(n)})
	if err != nil {
		return memRow{}, err
	}
	defer st.Stop()
	pid := st.Workers()[0]
	time.Sleep(2 * time.Second)
	idle, _, err := procMem(pid)
	if err != nil {
		return memRow{}, err
	}
	e.lab.CloudStack.SetLatency("deployVirtualMachine", 2*time.Minute)
	defer e.lab.CloudStack.ClearFaults()
	api := client.New(st.APIURL, e.token)
	// The orchestration phase left the first VMs rolled back (ready); all
	// others were never failed over.
	var wg sync.WaitGroup
	errc := make(chan error, n)
	for i := range n {
		wg.Go(func() {
			if _, err := api.Failover(ctx, failover.FailoverRequest{ContextID: e.contexts[i], FailoverType: failover.Test}); err != nil {
				errc <- err
			}
		})
	}
	wg.Wait()
	close(errc)
	if err := <-errc; err != nil {
		return memRow{}, fmt.Errorf("starting %d failovers: %w", n, err)
	}
	conn, err := e.conn(ctx)
	if err != nil {
		return memRow{}, err
	}
	defer conn.Close(ctx)
	for deadline := time.Now().Add(3 * time.Minute); ; time.Sleep(200 * time.Millisecond) {
		var running int
		if err := conn.QueryRow(ctx, `SELECT count(*) FROM job_steps WHERE name = 'vm-creation' AND status = 'running'`).Scan(&running); err != nil {
			return memRow{}, err
		}
		if running >= n {
			break
		}
		if time.Now().After(deadline) {
			return memRow{}, fmt.Errorf("only %d of %d jobs reached vm-creation", running, n)
		}
	}
	time.Sleep(time.Second)
	rss, hwm, err := procMem(pid)
	if err != nil {
		return memRow{}, err
	}
	return memRow{jobs: n, idleRSS: idle, rss: rss, hwm: hwm}, nil
}

// procMem reads VmRSS and VmHWM (KiB) of a process.
func procMem(pid int) (rss, hwm int64, err error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0, fmt.Errorf("reading the worker's memory: %w", err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		fs := strings.Fields(line)
		if len(fs) < 2 {
			continue
		}
		v, _ := strconv.ParseInt(fs[1], 10, 64)
		switch fs[0] {
		case "VmRSS:":
			rss = v
		case "VmHWM:":
			hwm = v
		}
	}
	return rss, hwm, nil
}

func printMemory(f flags, m memRow) {
	fmt.Printf("WORKER MEMORY: one worker (FAILOVER_WORKER_CONCURRENCY=%d), %d test failovers in flight, each inside vm-creation\n", f.inflight, m.jobs)
	fmt.Printf("  idle RSS %.1f MiB; with %d jobs in flight RSS %.1f MiB, peak (VmHWM) %.1f MiB; %.0f KiB per job in flight\n\n",
		float64(m.idleRSS)/1024, m.jobs, float64(m.rss)/1024, float64(m.hwm)/1024, float64(m.rss-m.idleRSS)/float64(max(m.jobs, 1)))
}
