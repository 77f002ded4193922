// Package cloudstack is an Apache CloudStack API simulator that speaks the
// real HTTP API: signed requests (apiKey, signature, expires), CloudStack's
// JSON envelopes and error codes, and asynchronous jobs polled through
// queryAsyncJobResult (GET or POST). The real cloudstack-go client cannot
// tell it from CloudStack (KVM) for the commands the failover engine uses.
//
// It is as strict as the real server: every rule is taken from the
// CloudStack source and listed, with its error code, text, source file and
// conformance test, in RULES.md beside this file. In short:
//   - Errors the real server raises before the job (parameter processing,
//     BaseAsyncCreateCmd.create) are answered at once with their HTTP code;
//     errors raised inside the job fail it: 431 for an
//     InvalidParameterValueException, 531 for a PermissionDeniedException,
//     530 otherwise, with no cserrorcode in the job result.
//   - deployVirtualMachine always allocates a ROOT volume at device 0 from
//     the template (8 GiB for a template of size 0); it stays Allocated
//     until the VM first starts. Detaching it from the Stopped VM and
//     deleting it (deleteVolume, synchronous) are allowed.
//   - attachVolume/detachVolume enforce device ids (0,1,2,4…max, lowest
//     free by default), root attach/detach only on a Stopped VM, the type
//     change ROOT⇄DATADISK, the data volume limit, VM snapshots and the
//     same-account rule.
//   - createSnapshot follows kvm.snapshot.enabled, one active snapshot per
//     instance, Allocated → Creating → CreatedOnPrimary → BackingUp →
//     BackedUp (or Error), with a backup time proportional to the size.
//   - revertSnapshot needs a Ready volume, a Stopped VM, a backed-up
//     snapshot and a strategy (QCOW2, or RAW on RBD); storage pools are
//     listed by listStoragePools.
//   - deployVirtualMachine NICs collapse per network, names are RFC
//     hostname labels, MACs are validated and standardised; customized
//     offerings need details cpuNumber, cpuSpeed and memory.
//   - addNicToVirtualMachine, destroyVirtualMachine (stops a Running VM;
//     expunge destroys ROOT-typed volumes, detaches data volumes),
//     stopVirtualMachine forced=true on an unreachable host, job
//     cancellation, listCapabilities.
//
// Where the sim departs from CloudStack: no VM work-job queue (jobs on one
// VM are not serialised), no hosts, clusters or secondary storage beyond
// what the rules need.
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
	// KVMSnapshotEnabled is the global setting kvm.snapshot.enabled: when
	// false (the default), createSnapshot of a volume attached to a VM that
	// is not Stopped or Destroyed is refused.
	KVMSnapshotEnabled bool
	// SnapshotBackupRate is how many bytes per second a snapshot backup to
	// secondary storage copies: backing up takes SizeBytes/rate on top of
	// the job duration. Defaults to 1 GiB/s (fast, so tests stay quick).
	SnapshotBackupRate int64
	// MaxDataVolumes is the hypervisor's data volume limit
	// (hypervisor_capabilities.max_data_volumes_limit); device ids run
	// 0..MaxDataVolumes+1 without 3. Defaults to 6, the fallback of
	// VolumeApiServiceImpl.getMaxDataVolumesSupported.
	MaxDataVolumes int
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
	if c.SnapshotBackupRate <= 0 {
		c.SnapshotBackupRate = 1 << 30
	}
	if c.MaxDataVolumes <= 0 {
		c.MaxDataVolumes = 6
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
	pools     map[string]*StoragePool
	jobs      map[string]*job
	order     map[string]int64
	calls     map[string]int
	refusals  []Refusal
	macSeq    uint32
	faults    faults
	dataDir   string
	// jobDuration is the current async job duration.
	jobDuration time.Duration
	// kvmSnapshotEnabled is the current kvm.snapshot.enabled setting.
	kvmSnapshotEnabled bool
	// failBackups is how many snapshot backups are still to fail.
	failBackups int
	// hostUnreachable holds VMs whose host does not answer.
	hostUnreachable map[string]bool
	// stillRunning holds VMs marked Stopped by a forced stop while the
	// guest kept running on its unreachable host.
	stillRunning map[string]bool
	// vmSnapshots counts VM snapshots per VM.
	vmSnapshots map[string]int
	// defaultPool is the id of the default NFS pool, "" until needed.
	defaultPool string
	// dbSeq hands out internal numeric ids (the "id" column).
	dbSeq int64

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
		pools:       map[string]*StoragePool{},
		jobs:        map[string]*job{},
		order:       map[string]int64{},
		calls:       map[string]int{},
		faults:      newFaults(),
		dataDir:     cfg.DataDir,
		jobDuration: cfg.JobDuration,
		closed:      make(chan struct{}),

		kvmSnapshotEnabled: cfg.KVMSnapshotEnabled,
		hostUnreachable:    map[string]bool{},
		stillRunning:       map[string]bool{},
		vmSnapshots:        map[string]int{},
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

// nextDBID returns a new internal numeric id. Callers hold s.mu.
func (s *Sim) nextDBID() int64 {
	s.dbSeq++
	return s.dbSeq
}
