// Package e2e runs the product end to end: the real api and worker
// processes, real Postgres (a schema of the test's own) and Redis (a
// private server), against the lab (vcsim, the CloudStack simulator and
// nbdkit exports) in the test process, where the test can inspect it and
// inject faults.
package e2e

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ossea/unifiedfailover/api/apiv1"
	"github.com/ossea/unifiedfailover/auth"
	"github.com/ossea/unifiedfailover/client"
	"github.com/ossea/unifiedfailover/failover"
	"github.com/ossea/unifiedfailover/lab"
	"github.com/ossea/unifiedfailover/stack"
	"github.com/ossea/unifiedfailover/store"
	"github.com/ossea/unifiedfailover/testsvc"
)

var binDir string

func TestMain(m *testing.M) {
	// The end-to-end and chaos suites are the slow loop: go test -short
	// (make test-short) leaves them out.
	flag.Parse()
	if testing.Short() {
		fmt.Println("e2e: skipped in -short (make test runs it)")
		os.Exit(0)
	}
	dir, err := os.MkdirTemp("", "failover-e2e-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binDir = dir
	args := []string{"build", "-o", dir + "/"}
	if os.Getenv("E2E_RACE") != "" {
		args = append(args, "-race")
	}
	build := exec.Command("go", append(args, "../cmd/api", "../cmd/worker", "../cmd/scheduler")...)
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building the product:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

type bundle struct {
	token    string // an admin token of this stack
	ctx      context.Context
	lab      *lab.Lab
	stack    *stack.Stack
	api      *client.Client
	redis    *testsvc.Redis
	dbURL    string
	virtio   string // file the VirtIO stand-in appends its arguments to
	failFile string // while it exists, the VirtIO stand-in fails
	// While slowFile exists the VirtIO stand-in, once it has made
	// startedFile, waits.
	slowFile, startedFile string
	contexts              map[string]string
}

type options struct {
	vms     int
	workers int
	// aof turns on the private Redis's append-only file, so it can be
	// restarted without losing tasks.
	aof bool
	// dbURL is the database to use instead of a schema in the shared
	// test database (for example a test-owned testsvc.Postgres).
	dbURL string
	// env is added to every product process's environment.
	env []string
	// names and nics shape the lab's VMs (lab.Config.Names and NICs).
	names []string
	nics  int
}

// kvmSnapshotEnabled is the CloudStack setting kvm.snapshot.enabled the
// suite runs with: E2E_KVM_SNAPSHOT_ENABLED=true turns it on (make
// test-e2e-kvm-snapshots runs the suite that way); off by default, as on
// a cloud that never turned it on.
func kvmSnapshotEnabled() bool { return os.Getenv("E2E_KVM_SNAPSHOT_ENABLED") == "true" }

// setup starts the lab, Postgres schema, Redis, api and workers, and
// registers every lab VM through the API.
func setup(t *testing.T, o options) *bundle {
	t.Helper()
	if o.vms == 0 {
		o.vms = 3
	}
	if o.workers == 0 {
		o.workers = 2
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	t.Cleanup(cancel)
	l, err := lab.Start(ctx, lab.Config{VMs: o.vms, DiskSize: 16 << 20, JobDuration: 5 * time.Millisecond,
		Names: o.names, NICs: o.nics, KVMSnapshotEnabled: kvmSnapshotEnabled()})
	if err != nil {
		t.Fatalf("starting the lab: %v", err)
	}
	t.Cleanup(l.Close)
	dir := t.TempDir()
	if o.dbURL == "" {
		o.dbURL = testsvc.PostgresURL(t)
	}
	b := &bundle{ctx: ctx, lab: l, dbURL: o.dbURL, redis: testsvc.StartRedis(t, testsvc.RedisOptions{AppendOnly: o.aof}),
		virtio: filepath.Join(dir, "virtio.log"), failFile: filepath.Join(dir, "virtio.fail"),
		slowFile: filepath.Join(dir, "virtio.slow"), startedFile: filepath.Join(dir, "virtio.started"), contexts: map[string]string{}}
	script := filepath.Join(dir, "virt-v2v-in-place")
	if err := os.WriteFile(script, []byte(fmt.Sprintf("#!/bin/sh\n[ -e %q ] && { echo injected failure >&2; exit 3; }\n"+
		"[ -e %q ] && { : > %q; while [ -e %q ]; do sleep 0.1; done; }\n"+
		"echo \"$FAILOVER_VM_NAME $*\" >> %q\n", b.failFile, b.slowFile, b.startedFile, b.slowFile, b.virtio)), 0o755); err != nil {
		t.Fatal(err)
	}
	token, line, err := auth.NewToken("e2e-admin", auth.Admin)
	if err != nil {
		t.Fatal(err)
	}
	tokens := filepath.Join(dir, "tokens")
	if err := os.WriteFile(tokens, []byte(line+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	env := append(l.Env(), "FAILOVER_API_TOKENS_FILE="+tokens, "FAILOVER_DATABASE_URL="+b.dbURL, "FAILOVER_REDIS_ADDR="+b.redis.Addr,
		"FAILOVER_VIRTIO_COMMAND="+script, "FAILOVER_LOG_LEVEL=debug", "FAILOVER_SHUTDOWN_TIMEOUT=5s")
	env = append(env, o.env...)
	b.stack, err = stack.Start(ctx, stack.Options{BinDir: binDir, Env: env, Workers: o.workers, LogDir: dir})
	if err != nil {
		t.Fatalf("starting the product: %v", err)
	}
	t.Cleanup(func() {
		b.stack.Stop()
		if t.Failed() {
			dumpLogs(t, dir)
		}
	})
	b.api = client.New(b.stack.APIURL, token)
	b.token = token
	for _, vm := range l.Manifest().VMs {
		c, err := b.api.Register(ctx, shortForm(vm.Register))
		if err != nil {
			t.Fatalf("registering %s: %v", vm.Name, err)
		}
		for i, d := range c.Disks {
			if want := vm.Register.Disks[i]; d.ChangeID != want.ChangeID || d.VolumeID != want.VolumeID {
				t.Fatalf("registering %s: disk %d has volume %s and change id %q; the lab has %s and %q",
					vm.Name, d.DiskKey, d.VolumeID, d.ChangeID, want.VolumeID, want.ChangeID)
			}
		}
		b.contexts[vm.Name] = c.ContextID
	}
	return b
}

// shortForm is the short form of a lab VM's registration, as an operator
// protects a VM from the inventory: its UUID, each disk's replica volume
// id and the network mappings. The product reads the rest (spec, exports,
// change ids) from vCenter, CloudStack and its replica rules.
func shortForm(reg lab.RegisterRequest) apiv1.RegisterRequest {
	out := apiv1.RegisterRequest{VMwareVMID: reg.VMwareVMID}
	for _, d := range reg.Disks {
		out.Disks = append(out.Disks, apiv1.RegisterDisk{DiskKey: d.DiskKey, VolumeID: d.VolumeID})
	}
	for _, m := range reg.NetworkMappings {
		out.NetworkMappings = append(out.NetworkMappings, apiv1.RegisterMapping{SourceNetworkName: m.SourceNetworkName,
			DestinationNetworkID: m.DestinationNetworkID, DestinationNetworkName: m.DestinationNetworkName, MappingType: m.MappingType})
	}
	return out
}

func dumpLogs(t *testing.T, dir string) {
	files, _ := filepath.Glob(filepath.Join(dir, "*.log"))
	for _, f := range files {
		raw, _ := os.ReadFile(f)
		lines := strings.Split(string(raw), "\n")
		if len(lines) > 60 {
			lines = lines[len(lines)-60:]
		}
		t.Logf("==== %s (tail)\n%s", filepath.Base(f), strings.Join(lines, "\n"))
	}
}

// vm returns the lab VM of the given OS and firmware ("" for any) that is
// not in used.
func (b *bundle) pick(t *testing.T, os, firmware string, used map[string]bool) *lab.VM {
	t.Helper()
	for i := range b.lab.VMs {
		vm := &b.lab.VMs[i]
		if used[vm.Name] || (os != "" && vm.OS != os) || (firmware != "" && vm.Firmware != firmware) {
			continue
		}
		used[vm.Name] = true
		return vm
	}
	t.Fatalf("the lab has no free %s %s VM", os, firmware)
	return nil
}

// wait waits for a job to end and returns its status.
func (b *bundle) wait(t *testing.T, jobID string) *client.FailoverStatus {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 5*time.Minute)
	defer cancel()
	if _, err := b.api.WaitJob(ctx, jobID, 50*time.Millisecond, nil); err != nil {
		t.Fatalf("waiting for job %s: %v", jobID, err)
	}
	st, err := b.api.Status(ctx, jobID)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// failover runs a failover to its end and returns it.
func (b *bundle) failover(t *testing.T, req failover.FailoverRequest) *client.FailoverStatus {
	t.Helper()
	started, err := b.api.Failover(b.ctx, req)
	if err != nil {
		t.Fatalf("starting %s failover of %s: %v", req.FailoverType, req.ContextID, err)
	}
	return b.wait(t, started.JobID)
}

func (b *bundle) rollback(t *testing.T, req failover.RollbackRequest) *client.FailoverStatus {
	t.Helper()
	started, err := b.api.Rollback(b.ctx, req)
	if err != nil {
		t.Fatalf("starting rollback of %s: %v", req.ContextID, err)
	}
	return b.wait(t, started.JobID)
}

func (b *bundle) contextStatus(t *testing.T, name string) store.ContextStatus {
	t.Helper()
	c, err := b.api.Context(b.ctx, b.contexts[name])
	if err != nil {
		t.Fatal(err)
	}
	return c.CurrentStatus
}

func (b *bundle) checksum(t *testing.T, uri string) string {
	t.Helper()
	sum, err := lab.Checksum(b.ctx, uri)
	if err != nil {
		t.Fatal(err)
	}
	return sum
}

func apiStatus(err error) int {
	var ae *client.APIError
	if errors.As(err, &ae) {
		return ae.Status
	}
	return 0
}

func ptr[T any](v T) *T { return &v }
