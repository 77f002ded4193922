// Package cloudstack is an Apache CloudStack API simulator that speaks the
// real HTTP API: signed requests (apiKey, signature, expires), CloudStack's
// JSON envelopes and error codes, and asynchronous jobs polled through
// queryAsyncJobResult. The real cloudstack-go client cannot tell it from
// CloudStack for the commands the failover engine uses.
//
// What is modelled (and where it departs from CloudStack):
//   - Parameter and lookup errors are answered at once with HTTP 431;
//     state errors fail the async job with error code 530.
//   - destroyVirtualMachine on a VM that is not Stopped is refused (530);
//     real CloudStack would stop it first.
//   - startVirtualMachine works only from Stopped and needs a disk at
//     device 0 (a ROOT volume or an attached replica on a blank template).
//   - A volume attached to a VM cannot be attached again; a device id in
//     use is refused; device 0 is refused while the VM has a ROOT volume.
//   - revertSnapshot needs the volume detached or its VM Stopped (KVM).
//   - VM names are unique among VMs not yet expunged.
//
// Volumes may be backed by files: a snapshot copies the bytes to the
// sim's data directory and a revert writes them back in place.
package cloudstack

import (
	"net"
	"net/http"
	"os"
	"sync"
	"time"
)

// Config configures a Sim.
type Config struct {
	// APIKey and SecretKey are the only accepted credentials.
	APIKey    string
	SecretKey string
	// DataDir holds snapshot copies; a temporary directory when empty.
	DataDir string
	// JobDuration is how long an async job runs; 20 ms when zero.
	JobDuration time.Duration
	// Account is the account name reported on objects; "admin" when empty.
	Account string
}

// WithDefaults returns the config with defaults filled in.
func (c Config) WithDefaults() Config {
	if c.APIKey == "" {
		c.APIKey = "sim-api-key"
	}
	if c.SecretKey == "" {
		c.SecretKey = "sim-secret-key"
	}
	if c.JobDuration == 0 {
		c.JobDuration = 20 * time.Millisecond
	}
	if c.Account == "" {
		c.Account = "admin"
	}
	return c
}

// Sim is a simulated CloudStack management server. It is safe for
// concurrent use.
type Sim struct {
	cfg Config

	mu        sync.Mutex
	seq       int64
	zones     map[string]*Zone
	networks  map[string]*Network
	offerings map[string]*ServiceOffering
	templates map[string]*Template
	vms       map[string]*VM
	volumes   map[string]*Volume
	snapshots map[string]*Snapshot
	jobs      map[string]*job
	order     map[string]int64
	calls     map[string]int
	macSeq    uint32
	faults    faults
	dataDir   string
	// jobDuration is the current async job duration.
	jobDuration time.Duration

	jobsWG    sync.WaitGroup
	closed    chan struct{}
	closeOnce sync.Once
}

// New returns a Sim configured by cfg (defaults applied).
func New(cfg Config) *Sim {
	cfg = cfg.WithDefaults()
	return &Sim{
		cfg:         cfg,
		zones:       map[string]*Zone{},
		networks:    map[string]*Network{},
		offerings:   map[string]*ServiceOffering{},
		templates:   map[string]*Template{},
		vms:         map[string]*VM{},
		volumes:     map[string]*Volume{},
		snapshots:   map[string]*Snapshot{},
		jobs:        map[string]*job{},
		order:       map[string]int64{},
		calls:       map[string]int{},
		faults:      newFaults(),
		dataDir:     cfg.DataDir,
		jobDuration: cfg.JobDuration,
		closed:      make(chan struct{}),
	}
}

// Config returns the sim's effective configuration.
func (s *Sim) Config() Config { return s.cfg }

// Handler returns the HTTP handler serving the CloudStack API. It answers
// on any path (CloudStack's is /client/api).
func (s *Sim) Handler() http.Handler { return http.HandlerFunc(s.serveHTTP) }

// Start serves the API on addr (for example "127.0.0.1:0") in the
// background and returns the API URL. The server stops on Close.
func (s *Sim) Start(addr string) (string, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return "", err
	}
	srv := &http.Server{Handler: s.Handler(), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	go func() {
		<-s.closed
		_ = srv.Close()
	}()
	return "http://" + ln.Addr().String() + "/client/api", nil
}

// Close releases hung requests and waits for running jobs to finish. The
// temporary data directory, if the sim made one, is removed.
func (s *Sim) Close() {
	s.closeOnce.Do(func() { close(s.closed) })
	s.jobsWG.Wait()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cfg.DataDir == "" && s.dataDir != "" {
		_ = os.RemoveAll(s.dataDir)
		s.dataDir = ""
	}
}

// nextSeq returns a creation sequence number for ordering lists. Callers
// hold s.mu.
func (s *Sim) nextSeq(id string) {
	s.seq++
	s.order[id] = s.seq
}
