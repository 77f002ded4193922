// Package lab runs the whole disaster-recovery lab in process, for
// end-to-end tests and the labsim command: a simulated vCenter (vcsim with
// changed block tracking) holding N protected VMs, a simulated CloudStack
// served over HTTP with a zone, a template, an NFS primary storage pool,
// compute offerings (fixed and customized),
// production and test networks and the appliance VM (the "OMA"), and for
// every source disk two real NBD exports (nbdkit): the source disk, whose
// writes the vCenter simulator reports as changed areas, and its replica,
// a CloudStack volume attached to the appliance VM and in sync with the
// source at the change id recorded in Disk.ChangeID.
//
// Start builds it all; Close stops every process and server it started.
package lab

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/ossea/unifiedfailover/sim/nbdkit"
	"github.com/ossea/unifiedfailover/sim/vcenter"

	cssim "github.com/ossea/unifiedfailover/sim/cloudstack"
)

// Datacenter is the vCenter datacenter the lab's VMs live in.
const Datacenter = "DC0"

// Lab is a running lab. Its fields are read-only after Start; the helper
// methods are safe for concurrent use.
type Lab struct {
	// VCenter is the simulated vCenter (HTTPS; clients skip verification).
	VCenter *vcenter.Server
	// CloudStack is the simulated CloudStack management server, served at
	// CloudStackURL; tests use it to inspect state and inject faults.
	CloudStack *cssim.Sim
	// CloudStackURL is the API endpoint, http://127.0.0.1:port/client/api.
	CloudStackURL string
	// CloudStackAPIKey and CloudStackSecretKey are the generated
	// credentials the simulator accepts.
	CloudStackAPIKey    string
	CloudStackSecretKey string
	// ZoneID is the lab's only zone.
	ZoneID string
	// TemplateID is the template destination VMs are deployed from: a
	// small Linux template, as a CloudStack operator would register.
	// CloudStack gives every VM deployed from it a ROOT volume, which the
	// failover replaces with the boot replica.
	TemplateID string
	// StoragePoolID is the primary storage pool (NFS, QCOW2 volumes) the
	// replicas live on.
	StoragePoolID string
	// ApplianceVMID is the appliance VM (the "OMA", Running) the replica
	// volumes are attached to.
	ApplianceVMID string
	// Networks are the CloudStack networks, production and test.
	Networks []cssim.Network
	// ServiceOfferings are the CloudStack compute offerings; every VM's
	// CPU and memory equal one of them.
	ServiceOfferings []cssim.ServiceOffering
	// VMs are the protected VMs, pgtest1, pgtest2, …, in order.
	VMs []VM
	// Dir is the data directory (absolute).
	Dir string
	// DeviceDir stands in for the appliance's /dev/disk/by-id: a link
	// virtio-<serial> (package virtio) to each replica's backing file, the
	// name KVM gives the replica's block device on the appliance.
	DeviceDir string
	// SourceNBDURITemplate and ReplicaNBDURITemplate are where the lab
	// serves every source disk's export and every replica's, as templates
	// over {vm_uuid} and {disk_key}, and over {volume_id}: the product's
	// FAILOVER_SOURCE_NBD_URI and FAILOVER_REPLICA_NBD_URI (see Env).
	SourceNBDURITemplate  string
	ReplicaNBDURITemplate string

	cfg      Config
	csServer *http.Server
	tempDirs []string // removed by Close
	sockDir  string   // where nbdkit exports make their sockets

	mu      sync.Mutex
	exports []*nbdkit.Export

	closeOnce sync.Once
}

// VM is a protected VM in the simulated vCenter.
type VM struct {
	Name string
	// UUID is the vSphere instance UUID, the product's vmware_vm_id.
	UUID string
	// Ref is the managed object id, e.g. "vm-42".
	Ref string
	// OS is OSLinux or OSWindows; GuestID the vSphere guest id.
	OS      string
	GuestID string
	// Firmware is FirmwareBIOS or FirmwareEFI.
	Firmware string
	NumCPU   int
	MemoryMB int
	// Disks in order; the first is the boot disk.
	Disks []Disk
	// NICs in order, each on a different source network.
	NICs []NIC
	// TestMappings map each NIC's source network to a test network
	// (Isolated or L2), LiveMappings to a production network; both in NIC
	// order.
	TestMappings []Mapping
	LiveMappings []Mapping
}

// Disk is one disk of a protected VM with its replica.
type Disk struct {
	// Key is the vSphere device key (2000, 2001, …).
	Key       int32
	SizeBytes int64
	// VolumeID and VolumeName identify the replica volume in CloudStack;
	// DeviceID is its device id on the appliance VM.
	VolumeID   string
	VolumeName string
	DeviceID   int
	// Source is the source disk's export (writes are tracked for CBT);
	// Replica the replica volume's export (its backing file is the
	// volume's Path in the CloudStack simulator).
	Source  *nbdkit.Export
	Replica *nbdkit.Export
	// ChangeID is the disk's CBT change id the replica is in sync with.
	ChangeID string
	// SyncedAt is when the replica was in sync with the source, at
	// ChangeID: when the lab read the change id, the replica seeded.
	SyncedAt time.Time
}

// NIC is a network adapter of a protected VM.
type NIC struct {
	NetworkName string
	MAC         string
}

// Mapping maps a source network to a CloudStack network.
type Mapping struct {
	SourceNetworkName      string
	DestinationNetworkID   string
	DestinationNetworkName string
}

// Start builds and starts the lab described by cfg (defaults applied). ctx
// bounds the start only; the lab runs until Close. On error everything
// started so far is stopped.
func Start(ctx context.Context, cfg Config) (_ *Lab, err error) {
	cfg = cfg.WithDefaults()
	if err := cfg.validate(); err != nil {
		return nil, fmt.Errorf("validating lab config: %w", err)
	}
	l := &Lab{cfg: cfg}
	defer func() {
		if err != nil {
			l.Close()
		}
	}()
	if err := l.makeDirs(); err != nil {
		return nil, err
	}
	if l.VCenter, err = vcenter.Start(ctx, vcenter.Config{}); err != nil {
		return nil, fmt.Errorf("starting the vcenter simulator: %w", err)
	}
	if err := l.startCloudStack(); err != nil {
		return nil, err
	}
	scene, err := l.buildCloudStack()
	if err != nil {
		return nil, err
	}
	if err := l.seedVMs(ctx, planVMsOf(cfg.Seed, cfg.VMs, cfg.Names, cfg.NICs), scene); err != nil {
		return nil, err
	}
	if err := l.attachReplicas(); err != nil {
		return nil, err
	}
	if err := l.linkExports(); err != nil {
		return nil, err
	}
	return l, nil
}

// linkExports gives every export a name the product can derive from what
// vCenter and CloudStack say (a link in the socket directory to the
// export's socket), and sets the templates that name them:
// s-<vm uuid>-<disk key> for a source disk, r-<volume id> for a replica.
func (l *Lab) linkExports() error {
	l.SourceNBDURITemplate = "nbd+unix:///?socket=" + url.QueryEscape(filepath.Join(l.sockDir, "s-")) + "{vm_uuid}-{disk_key}"
	l.ReplicaNBDURITemplate = "nbd+unix:///?socket=" + url.QueryEscape(filepath.Join(l.sockDir, "r-")) + "{volume_id}"
	for _, vm := range l.VMs {
		for _, d := range vm.Disks {
			for _, ln := range []struct{ name, target string }{
				{fmt.Sprintf("s-%s-%d", vm.UUID, d.Key), d.Source.Socket},
				{"r-" + d.VolumeID, d.Replica.Socket},
			} {
				link := filepath.Join(l.sockDir, ln.name)
				if err := os.Remove(link); err != nil && !errors.Is(err, fs.ErrNotExist) {
					return fmt.Errorf("replacing the export link %s: %w", link, err)
				}
				if err := os.Symlink(ln.target, link); err != nil {
					return fmt.Errorf("linking the export %s: %w", link, err)
				}
			}
		}
	}
	return nil
}

// makeDirs makes the data directory (a temporary one when Config.Dir is
// empty) and, when the data directory's path is too long for unix socket
// paths, a short temporary directory for the nbdkit sockets.
func (l *Lab) makeDirs() error {
	dir := l.cfg.Dir
	if dir == "" {
		d, err := os.MkdirTemp("", "lab-")
		if err != nil {
			return fmt.Errorf("making the lab's data directory: %w", err)
		}
		l.tempDirs = append(l.tempDirs, d)
		dir = d
	} else if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("making the lab's data directory: %w", err)
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return fmt.Errorf("resolving the lab's data directory: %w", err)
	}
	l.Dir = abs
	l.sockDir = abs
	if len(abs) > maxSocketDirLen {
		d, err := os.MkdirTemp("", "lab-sock-")
		if err != nil {
			return fmt.Errorf("making a directory for nbd sockets: %w", err)
		}
		l.tempDirs = append(l.tempDirs, d)
		l.sockDir = d
	}
	return nil
}

// maxSocketDirLen is the longest directory nbdkit sockets can be made in:
// linkExports adds at most "/s-<36-byte uuid>-<11-byte key>" (51 bytes),
// nbdkit.Start "/nbdkit-<10 digits>/nbd.sock" (27 bytes), and a unix
// socket path has room for 107.
const maxSocketDirLen = 107 - 51

// startCloudStack makes the CloudStack simulator with generated
// credentials and serves it over HTTP on Config.CloudStackAddr.
func (l *Lab) startCloudStack() error {
	var err error
	if l.CloudStackAPIKey, err = randomKey(); err != nil {
		return err
	}
	if l.CloudStackSecretKey, err = randomKey(); err != nil {
		return err
	}
	dataDir := filepath.Join(l.Dir, "cloudstack")
	if err := os.MkdirAll(dataDir, 0o755); err != nil {
		return fmt.Errorf("making the cloudstack simulator's data directory: %w", err)
	}
	l.CloudStack = cssim.New(cssim.Config{
		APIKey:             l.CloudStackAPIKey,
		SecretKey:          l.CloudStackSecretKey,
		DataDir:            dataDir,
		JobDuration:        l.cfg.JobDuration,
		KVMSnapshotEnabled: l.cfg.KVMSnapshotEnabled,
		// The appliance holds every VM's replicas: its operator raised the
		// hypervisor's data-volume limit (updateHypervisorCapabilities
		// maxdatavolumeslimit), as an appliance of this kind needs.
		MaxDataVolumes: max(6, maxDisksPerVM*l.cfg.VMs+1),
	})
	ln, err := net.Listen("tcp", l.cfg.CloudStackAddr)
	if err != nil {
		return fmt.Errorf("listening for the cloudstack simulator on %s: %w", l.cfg.CloudStackAddr, err)
	}
	l.csServer = &http.Server{Handler: l.CloudStack.Handler(), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = l.csServer.Serve(ln) }()
	l.CloudStackURL = "http://" + ln.Addr().String() + "/client/api"
	return nil
}

// addExport records an export for Close.
func (l *Lab) addExport(x *nbdkit.Export) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.exports = append(l.exports, x)
}

// PIDs returns the process ids of the nbdkit servers the lab started, to
// check that none outlives Close.
func (l *Lab) PIDs() []int {
	l.mu.Lock()
	defer l.mu.Unlock()
	pids := make([]int, 0, len(l.exports))
	for _, x := range l.exports {
		pids = append(pids, x.PID())
	}
	return pids
}

// Close stops everything the lab started: the CloudStack HTTP server and
// simulator, the vCenter simulator and every nbdkit process (waiting for
// each to exit), and removes the temporary directories it made. A Dir
// given in Config is left in place. Close is idempotent.
func (l *Lab) Close() {
	l.closeOnce.Do(func() {
		if l.csServer != nil {
			_ = l.csServer.Close()
		}
		if l.CloudStack != nil {
			l.CloudStack.Close()
		}
		if l.VCenter != nil {
			l.VCenter.Close()
		}
		l.mu.Lock()
		exports := l.exports
		l.mu.Unlock()
		var wg sync.WaitGroup
		for _, x := range exports {
			wg.Go(func() { _ = x.Close() }) // Close waits for the process to exit
		}
		wg.Wait()
		for _, d := range l.tempDirs {
			_ = os.RemoveAll(d)
		}
	})
}

// VMByName returns the VM named name.
func (l *Lab) VMByName(name string) (*VM, error) {
	for i := range l.VMs {
		if l.VMs[i].Name == name {
			return &l.VMs[i], nil
		}
	}
	return nil, fmt.Errorf("lab: no VM named %q", name)
}
