// Package vsphere is the product's adapter over VMware vCenter (govmomi):
// it reads a VM's specification, powers it off and on, and asks for the
// disk areas changed since a change id (changed block tracking).
//
// Every call identifies the VM by its vSphere instance UUID; the name is
// for display only. Errors carry the product's codes and classes (package
// errs).
package vsphere

import (
	"context"
	"net/url"

	"github.com/vmware/govmomi/session"
	"github.com/vmware/govmomi/vim25"
	"github.com/vmware/govmomi/vim25/soap"

	"github.com/ossea/unifiedfailover/calltime"
	"github.com/ossea/unifiedfailover/errs"
)

// Client is a logged-in session with vCenter. It is safe for concurrent
// use.
type Client struct {
	vim *vim25.Client
	sm  *session.Manager
	sessionState
}

// Dial connects to vCenter and logs in with cfg's credentials.
func Dial(ctx context.Context, cfg Config) (*Client, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.validate(); err != nil {
		return nil, errs.Wrap(errs.InvalidArgument, err, "validating vcenter config")
	}
	u, err := soap.ParseURL(cfg.URL)
	if err != nil {
		return nil, errs.Wrap(errs.InvalidArgument, err, "parsing vcenter url")
	}
	sc := soap.NewClient(u, cfg.Insecure)
	sc.Timeout = cfg.Timeout
	// Each SOAP round trip counts as time spent in vCenter (package calltime).
	sc.Client.Transport = calltime.Transport(sc.Client.Transport)

	vim, err := vim25.NewClient(ctx, sc)
	if err != nil {
		return nil, classify(err, "connecting to vcenter %s", u.Host)
	}
	sm := session.NewManager(vim)
	if err := sm.Login(ctx, url.UserPassword(cfg.User, cfg.Password)); err != nil {
		return nil, classify(err, "logging in to vcenter %s as %s", u.Host, cfg.User)
	}
	return &Client{vim: vim, sm: sm}, nil
}

// Close logs out.
func (c *Client) Close(ctx context.Context) error {
	if err := c.sm.Logout(ctx); err != nil {
		return classify(err, "logging out of vcenter")
	}
	return nil
}

// Vim returns the underlying govmomi client, for callers that need an API
// this adapter does not wrap (for example govmomi's finder).
func (c *Client) Vim() *vim25.Client { return c.vim }
