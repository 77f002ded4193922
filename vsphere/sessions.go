package vsphere

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"

	"github.com/ossea/unifiedfailover/errs"
)

// IdleCheck is how long a session may sit unused before Sessions checks
// with vCenter that it is still logged in (vCenter ends idle sessions,
// after 30 minutes by default).
const IdleCheck = 5 * time.Minute

// Sessions keeps one logged-in vCenter session for a process and gives it
// to every caller, instead of a login and a logout per step: vCenter
// limits sessions, and a login costs round trips and a TLS handshake. A
// session vCenter no longer knows (NotAuthenticated, after an idle expiry
// or a vCenter restart) fails that call as transient, so the step is
// retried, and is replaced by a new login on the next Get. It is safe for
// concurrent use.
type Sessions struct {
	cfg Config

	mu  sync.Mutex
	cur *Client
}

// NewSessions returns a Sessions logging in with cfg on first use.
func NewSessions(cfg Config) *Sessions { return &Sessions{cfg: cfg} }

// Get returns the process's session, logging in when there is none, when
// the last one expired, or when it sat unused longer than IdleCheck and
// vCenter no longer has it.
func (s *Sessions) Get(ctx context.Context) (*Client, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c := s.cur; c != nil && !c.expired.Load() {
		if time.Since(time.Unix(0, c.lastUse.Load())) < IdleCheck {
			return c, nil
		}
		if us, err := c.sm.UserSession(ctx); err == nil && us != nil {
			c.lastUse.Store(time.Now().UnixNano())
			return c, nil
		}
	}
	s.cur = nil
	c, err := Dial(ctx, s.cfg)
	if err != nil {
		return nil, err
	}
	c.watch()
	s.cur = c
	return c, nil
}

// Close logs the session out.
func (s *Sessions) Close(ctx context.Context) error {
	s.mu.Lock()
	c := s.cur
	s.cur = nil
	s.mu.Unlock()
	if c == nil || c.expired.Load() {
		return nil
	}
	return c.Close(ctx)
}

// watch makes c notice its own expiry: a call answered NotAuthenticated
// marks c expired and fails as transient.
func (c *Client) watch() {
	c.lastUse.Store(time.Now().UnixNano())
	c.vim.RoundTripper = &sessionWatch{rt: c.vim.RoundTripper, c: c}
}

// sessionWatch is the round tripper of a shared session.
type sessionWatch struct {
	rt soap.RoundTripper
	c  *Client
}

func (w *sessionWatch) RoundTrip(ctx context.Context, req, res soap.HasFault) error {
	err := w.rt.RoundTrip(ctx, req, res)
	w.c.lastUse.Store(time.Now().UnixNano())
	if err != nil && isFault(err, &types.NotAuthenticated{}) {
		w.c.expired.Store(true)
		return errs.Transient(err, "the vCenter session has expired; the next attempt logs in again")
	}
	return err
}

// Client fields used by Sessions (see client.go for the rest).
type sessionState struct {
	expired atomic.Bool
	lastUse atomic.Int64 // unix nanoseconds
}
