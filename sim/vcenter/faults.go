package vcenter

import (
	"fmt"
	"net/http"
	"time"

	"github.com/vmware/govmomi/vim25/types"
)

// injection is one planned failure of a SOAP method.
type injection struct {
	status int // 0: a SOAP fault (HTTP 500); else a bare HTTP status
	fault  types.BaseMethodFault
}

// FailNext makes the next n calls of the SOAP method (for example
// "PowerOffVM_Task", "RetrieveProperties", "QueryChangedDiskAreas") answer
// with a SystemError fault, as a vCenter does when something breaks inside
// it. Calls the lab makes through this package are not affected.
func (s *Server) FailNext(method string, n int) {
	s.failNext(method, n, 0)
}

// FailNextStatus makes the next n calls of the SOAP method answer with a
// bare HTTP status (for example 503 from a load balancer in front of
// vCenter) and no SOAP body.
func (s *Server) FailNextStatus(method string, n int, status int) {
	s.failNext(method, n, status)
}

// FailNextWith makes the next n calls of the SOAP method answer with the
// given fault, for example &types.InvalidState{} for a failure no retry
// cures.
func (s *Server) FailNextWith(method string, n int, fault types.BaseMethodFault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		s.failures[method] = append(s.failures[method], injection{fault: fault})
	}
}

// ClearFailures drops every planned failure and latency.
func (s *Server) ClearFailures() {
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.failures)
	clear(s.latency)
}

// SetLatency delays every call of the SOAP method by d (0 removes it).
func (s *Server) SetLatency(method string, d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if d <= 0 {
		delete(s.latency, method)
		return
	}
	s.latency[method] = d
}

func (s *Server) delay(method string) time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.latency[method]
}

func (s *Server) failNext(method string, n int, status int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		s.failures[method] = append(s.failures[method], injection{status: status})
	}
}

// takeFailure pops the next planned failure of method, if any.
func (s *Server) takeFailure(method string) (injection, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	q := s.failures[method]
	if len(q) == 0 {
		return injection{}, false
	}
	s.failures[method] = q[1:]
	return q[0], true
}

func (inj injection) write(w http.ResponseWriter, method string) {
	if inj.status != 0 {
		http.Error(w, http.StatusText(inj.status), inj.status)
		return
	}
	msg := fmt.Sprintf("injected fault in %s", method)
	if inj.fault != nil {
		writeFault(w, msg, inj.fault)
		return
	}
	writeFault(w, msg, &types.SystemError{Reason: msg})
}
