// Package vcenter runs govmomi's vCenter simulator (vcsim) for tests and the
// lab, extended with what vcsim lacks: changed block tracking
// (QueryChangedDiskAreas answered from a ChangeSource per disk), guests with
// VMware Tools that follow the power state, guests that ignore a guest
// shutdown, and fault injection per SOAP method.
//
// The extensions live in a wrapper around the simulator's HTTP handler, so
// clients talk to it exactly as they talk to a real vCenter.
package vcenter

import (
	"context"
	"crypto/tls"
	"fmt"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25"
	"github.com/vmware/govmomi/vim25/types"
)

// createMu serializes building simulator inventories: vcsim appends to a
// package-level license while creating one and reads it while adding hosts
// and clusters, so two simulators created at once in a process race.
var createMu sync.Mutex

// Server is a running simulated vCenter.
type Server struct {
	// URL is the SDK endpoint (https://127.0.0.1:port/sdk), without
	// credentials.
	URL string
	// User is the user name the simulator accepts.
	User string
	// Password is the password the simulator accepts.
	Password string

	cfg    Config
	model  *simulator.Model
	srv    *simulator.Server
	client *vim25.Client // in-process, bypasses the HTTP wrapper

	netMu    sync.Mutex // serializes network creation
	mu       sync.Mutex
	vms      map[string]*vmState // by VM moref value
	byUUID   map[string]*vmState // by instance UUID
	failures map[string][]injection
	latency  map[string]time.Duration
}

// Start starts a simulated vCenter on a loopback port: one datacenter
// (DC0) with a cluster of one host, a datastore (LocalDS_0), a standard
// network ("VM Network") and a distributed switch (DC0_DVS) with a port
// group (DC0_DVPG0), and no VMs. Close stops it.
func Start(ctx context.Context, cfg Config) (*Server, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("starting vcenter simulator: %w", err)
	}
	cfg = cfg.WithDefaults()
	if err := cfg.validate(); err != nil {
		return nil, fmt.Errorf("validating vcenter simulator config: %w", err)
	}

	model := simulator.VPX()
	model.Machine = 0
	model.Host = 0
	model.ClusterHost = 1
	model.Autostart = false
	createMu.Lock()
	err := model.Create()
	createMu.Unlock()
	if err != nil {
		return nil, fmt.Errorf("creating vcenter simulator inventory: %w", err)
	}

	var client *vim25.Client
	s := &Server{
		User:     cfg.User,
		Password: cfg.Password,
		cfg:      cfg,
		model:    model,
		vms:      map[string]*vmState{},
		byUUID:   map[string]*vmState{},
		failures: map[string][]injection{},
		latency:  map[string]time.Duration{},
	}

	svc := model.Service
	if !cfg.PlainHTTP {
		svc.TLS = new(tls.Config)
	}
	svc.Listen = &url.URL{Host: "127.0.0.1:0", User: url.UserPassword(cfg.User, cfg.Password)}

	// Register the SDK endpoints on an inner mux, then serve everything
	// through the wrapper; NewServer finds the SDK already registered and
	// adds its other endpoints to the outer mux.
	inner := http.NewServeMux()
	svc.ServeMux = inner
	svc.RegisterSDK(model.Map(), model.Map().Path+"/vimService")
	outer := http.NewServeMux()
	outer.Handle("/", s.intercept(inner))
	svc.ServeMux = outer

	client, err = vim25.NewClient(ctx, svc)
	if err != nil {
		model.Remove()
		return nil, fmt.Errorf("connecting to vcenter simulator in process: %w", err)
	}
	s.client = client
	model.Map().AddHandler(&toolsFollower{s: s})

	s.srv = svc.NewServer()
	u := *s.srv.URL
	u.User = nil
	s.URL = u.String()
	return s, nil
}

// Close stops the server and removes its temporary files.
func (s *Server) Close() {
	s.srv.Close()
	s.model.Remove()
}

// lockingContext returns a fresh simulator context to lock and update
// registry objects on behalf of the lab (one per operation: the registry's
// locks are re-entrant per context).
func (s *Server) lockingContext() *simulator.Context {
	return &simulator.Context{
		Context: context.Background(),
		Map:     s.model.Map(),
		Session: s.model.Service.Context.Session,
	}
}

// vmObject returns the simulator's VM object for ref, or nil.
func (s *Server) vmObject(ref types.ManagedObjectReference) *simulator.VirtualMachine {
	vm, _ := s.model.Map().Get(ref).(*simulator.VirtualMachine)
	return vm
}
