package cloudstack

import (
	"fmt"
	"time"
)

// Async job statuses (framework/jobs JobInfo.Status: IN_PROGRESS,
// SUCCEEDED, FAILED, CANCELLED).
const (
	jobPending   = 0
	jobSucceeded = 1
	jobFailed    = 2
	jobCancelled = 3
)

// job is an async job. Guarded by Sim.mu.
type job struct {
	id           string
	cmd          string
	instanceType string
	instanceID   string
	status       int
	resultCode   int
	result       map[string]any
	created      time.Time
	completed    time.Time
}

// jobOp is the work of an async job in three phases.
type jobOp struct {
	// begin runs under s.mu when the job starts: state checks and the
	// transition to an intermediate state.
	begin func() *apiError
	// work runs without the lock (file copies); may be nil.
	work func() *apiError
	// finish runs under s.mu after the job duration; it returns the job
	// result (exactly one key).
	finish func() map[string]any
	// abort runs under s.mu when work failed or the job was cancelled;
	// may be nil.
	abort func()
}

// startJob registers an async job and runs op in the background. Callers
// hold s.mu. It returns the immediate answer {"id":…,"jobid":…}.
func (s *Sim) startJob(cmd, instanceType, instanceID string, op jobOp) map[string]any {
	j := &job{id: newID(), cmd: cmd, instanceType: instanceType, instanceID: instanceID, created: time.Now()}
	s.jobs[j.id] = j
	s.jobsWG.Add(1)
	go s.runJob(j, op)
	return map[string]any{"id": instanceID, "jobid": j.id}
}

func (s *Sim) runJob(j *job, op jobOp) {
	defer s.jobsWG.Done()
	s.mu.Lock()
	err := op.begin()
	s.mu.Unlock()
	if err == nil && op.work != nil {
		err = op.work()
		if err != nil && op.abort != nil {
			s.mu.Lock()
			op.abort()
			s.mu.Unlock()
		}
	}
	if err != nil {
		s.mu.Lock()
		if j.status == jobPending {
			s.failJob(j, err)
		}
		s.mu.Unlock()
		return
	}
	s.mu.Lock()
	d := s.jobDuration
	s.mu.Unlock()
	s.sleep(d)
	s.mu.Lock()
	defer s.mu.Unlock()
	if j.status == jobCancelled {
		if op.abort != nil {
			op.abort()
		}
		return
	}
	j.result = op.finish()
	j.status = jobSucceeded
	j.completed = time.Now()
}

// sleep waits d or until the sim closes; it reports whether d elapsed.
func (s *Sim) sleep(d time.Duration) bool {
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-s.closed:
		return false
	}
}

// failJob completes j as failed. The result is an ExceptionResponse with
// errorcode and errortext only: ApiAsyncJobDispatcher.runJob sets no
// cserrorcode, and jobresultcode is the same code. Callers hold s.mu.
func (s *Sim) failJob(j *job, e *apiError) {
	j.status = jobFailed
	s.refusals = append(s.refusals, Refusal{Command: j.cmd, Code: e.code, Text: e.text})
	j.resultCode = e.code
	j.result = map[string]any{"errorcode": e.code, "errortext": e.text}
	j.completed = time.Now()
}

// CancelJob cancels a pending async job: queryAsyncJobResult then answers
// jobstatus 3 (JobInfo.Status.CANCELLED) and the job's effect is undone
// where the sim can (its intermediate state is rolled back). The real
// result text of a cancelled job was not found in the source; the sim
// answers errorcode 530 "Job was cancelled".
func (s *Sim) CancelJob(jobID string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	j, ok := s.jobs[jobID]
	if !ok {
		return fmt.Errorf("job %s not found", jobID)
	}
	if j.status != jobPending {
		return fmt.Errorf("job %s is not pending (status %d)", jobID, j.status)
	}
	j.status = jobCancelled
	j.resultCode = CodeInternal
	j.result = map[string]any{"errorcode": CodeInternal, "errortext": "Job was cancelled"}
	j.completed = time.Now()
	return nil
}

func (s *Sim) queryAsyncJobResult(r request) (map[string]any, *apiError) {
	id, aerr := r.require("jobid")
	if aerr != nil {
		return nil, aerr
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	j, ok := s.jobs[id]
	if !ok {
		return nil, noEntity(r.cmd, "jobid", id)
	}
	out := map[string]any{
		"accountid":       s.cfg.Account,
		"userid":          s.cfg.Account,
		"cmd":             "org.apache.cloudstack.api.command.user." + j.cmd,
		"jobid":           j.id,
		"jobstatus":       j.status,
		"jobprocstatus":   0,
		"jobresultcode":   j.resultCode,
		"jobinstancetype": j.instanceType,
		"jobinstanceid":   j.instanceID,
		"created":         j.created.Format(timeFormat),
	}
	if j.status != jobPending {
		out["jobresulttype"] = "object"
		out["jobresult"] = j.result
		out["completed"] = j.completed.Format(timeFormat)
	}
	return out, nil
}

// SetJobDuration changes how long async jobs started from now on run.
func (s *Sim) SetJobDuration(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.jobDuration = d
}
