package store

import (
	"context"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ossea/unifiedfailover/errs"
)

// jobWaiter wakes callers waiting for jobs to end, from the notifications
// a trigger on job_tracking sends on channel job_ended (migration 00005).
// It holds one listening connection, opened when the first caller waits
// and kept (reconnecting after errors) until the store closes.
type jobWaiter struct {
	cfg *pgx.ConnConfig

	mu      sync.Mutex
	ctx     context.Context // ends when the store closes
	started bool
	waiters map[string]map[chan struct{}]struct{}
}

func newJobWaiter(ctx context.Context, cfg *pgx.ConnConfig) *jobWaiter {
	return &jobWaiter{cfg: cfg, ctx: ctx, waiters: map[string]map[chan struct{}]struct{}{}}
}

// subscribe returns a channel that receives when job id may have ended.
func (w *jobWaiter) subscribe(id string) chan struct{} {
	ch := make(chan struct{}, 1)
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.waiters[id] == nil {
		w.waiters[id] = map[chan struct{}]struct{}{}
	}
	w.waiters[id][ch] = struct{}{}
	if !w.started {
		w.started = true
		go w.listen()
	}
	return ch
}

func (w *jobWaiter) unsubscribe(id string, ch chan struct{}) {
	w.mu.Lock()
	defer w.mu.Unlock()
	delete(w.waiters[id], ch)
	if len(w.waiters[id]) == 0 {
		delete(w.waiters, id)
	}
}

// wake signals the waiters of id, or of every job when id is "".
func (w *jobWaiter) wake(id string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for job, chs := range w.waiters {
		if id != "" && job != id {
			continue
		}
		for ch := range chs {
			select {
			case ch <- struct{}{}:
			default:
			}
		}
	}
}

// listen keeps a connection listening on job_ended. Each time it
// (re)starts listening it wakes every waiter, so a job that ended while
// nobody listened is seen by their next read.
func (w *jobWaiter) listen() {
	for w.ctx.Err() == nil {
		ctx, cancel := context.WithTimeout(w.ctx, 10*time.Second)
		conn, err := pgx.ConnectConfig(ctx, w.cfg)
		if err == nil {
			if _, err = conn.Exec(ctx, "LISTEN job_ended"); err != nil {
				_ = conn.Close(ctx)
			}
		}
		cancel()
		if err == nil {
			w.wake("")
			for {
				n, err := conn.WaitForNotification(w.ctx)
				if err != nil {
					break
				}
				w.wake(n.Payload)
			}
			cctx, ccancel := context.WithTimeout(context.WithoutCancel(w.ctx), 5*time.Second)
			_ = conn.Close(cctx)
			ccancel()
		}
		w.wake("")
		select {
		case <-w.ctx.Done():
		case <-time.After(time.Second):
		}
	}
}

// WaitJobEnd waits until a job (by UUID or external id) is no longer
// pending or running, at most wait; it returns nil then, and at the end of
// wait whatever the job's status. A Postgres notification wakes it when
// the job ends; it also looks again every few seconds, so a lost
// notification costs at most that. NotFound when there is no such job.
func (s *Store) WaitJobEnd(ctx context.Context, id string, wait time.Duration) error {
	jobID, status, err := s.jobStatus(ctx, id)
	if err != nil || !status.Active() || wait <= 0 {
		return err
	}
	ch := s.waiter.subscribe(jobID)
	defer s.waiter.unsubscribe(jobID, ch)
	deadline := time.NewTimer(wait)
	defer deadline.Stop()
	const recheck = 5 * time.Second
	for {
		// Read after subscribing: an end between the first read and the
		// subscription is not missed.
		if _, status, err = s.jobStatus(ctx, jobID); err != nil {
			return err
		}
		if !status.Active() {
			return nil
		}
		select {
		case <-ch:
		case <-time.After(recheck):
		case <-deadline.C:
			return nil
		case <-ctx.Done():
			return errs.Wrap(errs.Unavailable, ctx.Err(), "waiting for job %s", jobID)
		}
	}
}

// jobStatusSQL reads a job's UUID and status by UUID ($1) or external id ($2).
const jobStatusSQL = `SELECT j.id::text, j.status FROM job_tracking j WHERE ` + byIDOrExternal

// jobStatus returns the UUID and status of a job (by UUID or external id).
func (s *Store) jobStatus(ctx context.Context, id string) (string, JobStatus, error) {
	var jobID string
	var status JobStatus
	err := s.pool.QueryRow(ctx, jobStatusSQL, idArgs(id)...).Scan(&jobID, &status)
	if errs.Is(classify(err, ""), errs.NotFound) {
		return "", "", errs.New(errs.NotFound, "no job %q", id)
	}
	return jobID, status, classify(err, "reading status of job %q", id)
}
