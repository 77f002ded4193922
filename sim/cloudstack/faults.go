package cloudstack

import (
	"math/rand/v2"
	"time"
)

// faults holds injected failures and latency. Guarded by Sim.mu.
type faults struct {
	next    map[string][]injected // command (lower case) or "*" → queued failures
	latency map[string]time.Duration
	rate    map[string]rateFault
	hang    map[string]bool
	held    map[string]chan struct{} // closed by the Hold's release
}

type injected struct {
	status int
	text   string
}

type rateFault struct {
	p      float64
	status int
}

func newFaults() faults {
	return faults{
		next:    map[string][]injected{},
		latency: map[string]time.Duration{},
		rate:    map[string]rateFault{},
		hang:    map[string]bool{},
		held:    map[string]chan struct{}{},
	}
}

// FailNext makes the next n requests for command ("*" for any) fail with
// HTTP status and a CloudStack error body carrying text. status 0 means 530.
func (s *Sim) FailNext(command string, n int, status int, text string) {
	if status == 0 {
		status = 530
	}
	if text == "" {
		text = "Internal error executing command, please contact your system administrator"
	}
	key := normCmd(command)
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		s.faults.next[key] = append(s.faults.next[key], injected{status: status, text: text})
	}
}

// SetLatency delays every request for command ("*" for any) by d before it
// is answered. d 0 removes the latency.
func (s *Sim) SetLatency(command string, d time.Duration) {
	key := normCmd(command)
	s.mu.Lock()
	defer s.mu.Unlock()
	if d <= 0 {
		delete(s.faults.latency, key)
		return
	}
	s.faults.latency[key] = d
}

// SetFaultRate makes each request for command ("*" for any) fail with
// probability p and HTTP status (503 when 0). p 0 removes the fault.
func (s *Sim) SetFaultRate(command string, p float64, status int) {
	if status == 0 {
		status = 503
	}
	key := normCmd(command)
	s.mu.Lock()
	defer s.mu.Unlock()
	if p <= 0 {
		delete(s.faults.rate, key)
		return
	}
	s.faults.rate[key] = rateFault{p: p, status: status}
}

// SetHang makes requests for command ("*" for any) block until the client
// gives up (its timeout or cancellation) or the sim is closed.
func (s *Sim) SetHang(command string, on bool) {
	key := normCmd(command)
	s.mu.Lock()
	defer s.mu.Unlock()
	if on {
		s.faults.hang[key] = true
		return
	}
	delete(s.faults.hang, key)
}

// Hold makes requests for command ("*" for any) wait, from now on, until
// the function it returns is called (or the client gives up, or the sim is
// closed); then
// they are answered as usual. Unlike a latency, a hold lasts exactly as
// long as the test needs, however slow the machine: a test keeps jobs
// active across a burst of requests by holding the call their step makes.
// That function may be called more than once; ClearFaults releases every
// hold.
func (s *Sim) Hold(command string) func() {
	key := normCmd(command)
	s.mu.Lock()
	defer s.mu.Unlock()
	ch := s.faults.held[key]
	if ch == nil {
		ch = make(chan struct{})
		s.faults.held[key] = ch
	}
	return func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.faults.held[key] == ch {
			delete(s.faults.held, key)
		}
		closeHold(ch)
	}
}

// closeHold closes a hold's channel once. Called with s.mu held.
func closeHold(ch chan struct{}) {
	select {
	case <-ch:
	default:
		close(ch)
	}
}

// ClearFaults removes all injected failures, latency and hangs, and
// releases every hold.
func (s *Sim) ClearFaults() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, ch := range s.faults.held {
		closeHold(ch)
	}
	s.faults = newFaults()
}

// fault is what the handler must do for one request.
type fault struct {
	delay time.Duration
	hang  bool
	held  []chan struct{}
	fail  *injected
}

// pickFault decides the injected behaviour for one request of cmd.
func (s *Sim) pickFault(cmd string) fault {
	s.mu.Lock()
	defer s.mu.Unlock()
	var f fault
	f.delay = max(s.faults.latency[cmd], s.faults.latency["*"])
	f.hang = s.faults.hang[cmd] || s.faults.hang["*"]
	for _, key := range []string{cmd, "*"} {
		if ch := s.faults.held[key]; ch != nil {
			f.held = append(f.held, ch)
		}
	}
	for _, key := range []string{cmd, "*"} {
		if q := s.faults.next[key]; len(q) > 0 {
			inj := q[0]
			if len(q) == 1 {
				delete(s.faults.next, key)
			} else {
				s.faults.next[key] = q[1:]
			}
			f.fail = &inj
			return f
		}
	}
	for _, key := range []string{cmd, "*"} {
		if rf, ok := s.faults.rate[key]; ok && rand.Float64() < rf.p {
			f.fail = &injected{status: rf.status, text: "Service Unavailable"}
			return f
		}
	}
	return f
}
