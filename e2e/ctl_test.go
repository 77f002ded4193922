package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ossea/unifiedfailover/client"
	"github.com/ossea/unifiedfailover/lab"
	"github.com/ossea/unifiedfailover/stack"
	"github.com/ossea/unifiedfailover/testsvc"
)

var ctlBuild struct {
	once sync.Once
	path string
	err  error
}

// failoverctl builds cmd/failoverctl once into the test binaries'
// directory.
func failoverctl(t *testing.T) string {
	t.Helper()
	ctlBuild.once.Do(func() {
		ctlBuild.path = filepath.Join(binDir, "failoverctl")
		out, err := exec.Command("go", "build", "-o", ctlBuild.path, "../cmd/failoverctl").CombinedOutput()
		if err != nil {
			ctlBuild.err = errors.New(string(out))
		}
	})
	if ctlBuild.err != nil {
		t.Fatalf("building failoverctl: %v", ctlBuild.err)
	}
	return ctlBuild.path
}

// ctlEnv is a stack with tokens made by failoverctl itself.
type ctlEnv struct {
	*bundle
	ctl             string
	operator, admin string
}

// ctl runs failoverctl with token and returns its output and exit code.
func (e *ctlEnv) run(t *testing.T, token string, args ...string) (string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(e.ctx, 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, e.ctl, args...)
	apiURL := "http://127.0.0.1:1"
	if e.stack != nil {
		apiURL = e.stack.APIURL
	}
	cmd.Env = append(os.Environ(), "FAILOVER_API_URL="+apiURL, "FAILOVER_API_TOKEN="+token)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("failoverctl %v: %v", args, err)
	}
	return out.String(), code
}

func setupCtl(t *testing.T) *ctlEnv {
	t.Helper()
	ctl := failoverctl(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	t.Cleanup(cancel)
	l, err := lab.Start(ctx, lab.Config{VMs: 2, DiskSize: 16 << 20, JobDuration: 5 * time.Millisecond})
	if err != nil {
		t.Fatalf("starting the lab: %v", err)
	}
	t.Cleanup(l.Close)
	dir := t.TempDir()
	e := &ctlEnv{ctl: ctl, bundle: &bundle{ctx: ctx, lab: l, dbURL: testsvc.PostgresURL(t),
		redis: testsvc.StartRedis(t, testsvc.RedisOptions{}), contexts: map[string]string{}}}
	// The tokens come from failoverctl token create.
	var lines []string
	for _, role := range []string{"operator", "admin"} {
		out, code := e.run(t, "", "token", "create", "--role", role, "--name", "ctl-"+role, "--json")
		var tok struct {
			Token string `json:"token"`
			Line  string `json:"tokens_file_line"`
		}
		if code != 0 || json.Unmarshal([]byte(out), &tok) != nil || !strings.HasPrefix(tok.Line, "ctl-"+role+" "+role+" sha256:") {
			t.Fatalf("token create: %d %s", code, out)
		}
		lines = append(lines, tok.Line)
		if role == "operator" {
			e.operator = tok.Token
		} else {
			e.admin = tok.Token
		}
	}
	tokens := filepath.Join(dir, "tokens")
	if err := os.WriteFile(tokens, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	script := filepath.Join(dir, "virt-v2v-in-place")
	if err := os.WriteFile(script, []byte("#!/bin/sh\nexit 0\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	env := append(l.Env(), "FAILOVER_API_TOKENS_FILE="+tokens, "FAILOVER_DATABASE_URL="+e.dbURL,
		"FAILOVER_REDIS_ADDR="+e.redis.Addr, "FAILOVER_VIRTIO_COMMAND="+script, "FAILOVER_SHUTDOWN_TIMEOUT=5s")
	e.stack, err = stack.Start(ctx, stack.Options{BinDir: binDir, Env: env, Workers: 1, LogDir: dir})
	if err != nil {
		t.Fatalf("starting the product: %v", err)
	}
	t.Cleanup(func() {
		e.stack.Stop()
		if t.Failed() {
			dumpLogs(t, dir)
		}
	})
	e.api = client.New(e.stack.APIURL, e.operator)
	e.protectAll(t)
	return e
}

// protectAll protects the lab's VMs as an operator would with failoverctl:
// the candidates from the inventory, the first VM by name with its
// replicas found by the naming rule, the others by inventory path with
// --replica, then their network mappings.
func (e *ctlEnv) protectAll(t *testing.T) {
	t.Helper()
	out, code := e.run(t, e.operator, "inventory", "--unprotected")
	for _, vm := range e.lab.VMs {
		if code != 0 || !strings.Contains(out, "/DC0/vm/"+vm.Name) || !strings.Contains(out, fmt.Sprintf("%d/%d", len(vm.Disks), len(vm.Disks))) {
			t.Fatalf("inventory --unprotected: exit %d, want %s with every replica found:\n%s", code, vm.Name, out)
		}
	}
	for i, vm := range e.lab.Manifest().VMs {
		args := []string{"protect", vm.Name}
		if i > 0 {
			args = []string{"protect", "/DC0/vm/" + vm.Name}
			for j, d := range vm.Register.Disks {
				args = append(args, "--replica", fmt.Sprintf("%d=%s", j+1, d.VolumeID))
			}
		}
		out, code := e.run(t, e.operator, args...)
		t.Logf("failoverctl %s:\n%s", strings.Join(args, " "), out)
		if code != 0 || !strings.Contains(out, "protected "+vm.Name+" as context") {
			t.Fatalf("protect: exit %d", code)
		}
		for _, d := range vm.Register.Disks {
			if !strings.Contains(out, fmt.Sprintf("disk %d: replica %s, change id %s", d.DiskKey, d.VolumeID, d.ChangeID)) {
				t.Errorf("protect %s: the output lacks disk %d's replica %s and change id %s", vm.Name, d.DiskKey, d.VolumeID, d.ChangeID)
			}
		}
		for _, m := range vm.Register.NetworkMappings {
			if out, code := e.run(t, e.operator, "mappings", "set", vm.Name, m.SourceNetworkName, m.DestinationNetworkID, "--type", m.MappingType); code != 0 {
				t.Fatalf("mappings set: exit %d\n%s", code, out)
			}
		}
		c, err := e.api.Context(e.ctx, vm.Name)
		if err != nil {
			t.Fatal(err)
		}
		e.contexts[vm.Name] = c.ContextID
	}
	if out, code := e.run(t, e.operator, "protect", e.lab.VMs[0].Name); code != exitConflictCode || !strings.Contains(out, "already protected") {
		t.Errorf("protecting %s again: exit %d, want %d:\n%s", e.lab.VMs[0].Name, code, exitConflictCode, out)
	}
	if out, code := e.run(t, e.operator, "inventory", "--protected", "--json"); code != 0 || strings.Count(out, `"protected": true`) != len(e.lab.VMs) {
		t.Errorf("inventory --protected --json: exit %d, want %d protected VMs:\n%s", code, len(e.lab.VMs), out)
	}
}

// TestCtlFailoverWatchAndRollback runs the built failoverctl against a
// real stack: a watched test failover shows every step ending and exits 0,
// the rollback too, and refusals exit with the documented codes.
func TestCtlFailoverWatchAndRollback(t *testing.T) {
	t.Parallel()
	e := setupCtl(t)
	vm := e.lab.VMs[0].Name

	out, code := e.run(t, e.operator, "preflight", vm)
	if code != 0 || !strings.Contains(out, "pre-flight PASSED") {
		t.Fatalf("preflight: exit %d\n%s", code, out)
	}
	out, code = e.run(t, e.operator, "failover", "--type", "test", vm, "--watch")
	t.Logf("failoverctl failover --type test %s --watch:\n%s", vm, out)
	if code != 0 {
		t.Fatalf("failover exit %d", code)
	}
	for _, want := range []string{"✓ [1/10] validation", "- [2/10] source-power-off", "skipped", "✓ [4/10] detach-replicas", "✓ [5/10] snapshot",
		"✓ [7/10] vm-creation", "✓ [8/10] volume-operations", "✓ [9/10] vm-startup", "✓ [10/10] status-update", "completed in",
		"destination VM: " + vm, "next: failoverctl rollback " + vm} {
		if !strings.Contains(out, want) {
			t.Errorf("the watch output lacks %q", want)
		}
	}
	if st := e.contextStatus(t, vm); st != "failed_over_test" {
		t.Fatalf("context is %s after the test failover", st)
	}

	// A second failover of the same VM is refused: conflict (4).
	if out, code = e.run(t, e.operator, "failover", "--type", "test", vm); code != exitConflictCode {
		t.Errorf("second failover: exit %d, want %d\n%s", code, exitConflictCode, out)
	}
	out, code = e.run(t, e.operator, "jobs", "--vm", vm, "--type", "test")
	if code != 0 || !strings.Contains(out, "unified-test-failover-"+vm) {
		t.Errorf("jobs: exit %d\n%s", code, out)
	}

	out, code = e.run(t, e.operator, "rollback", vm)
	t.Logf("failoverctl rollback %s:\n%s", vm, out)
	if code != 0 || !strings.Contains(out, "completed in") || !strings.Contains(out, "✓") {
		t.Fatalf("rollback: exit %d", code)
	}
	if st := e.contextStatus(t, vm); st != "ready_for_failover" {
		t.Fatalf("context is %s after the rollback", st)
	}
	out, code = e.run(t, e.operator, "audit", "--vm", vm)
	if code != 0 || !strings.Contains(out, "ctl-operator") || !strings.Contains(out, "rollback") ||
		!strings.Contains(out, "failover_type=test") {
		t.Errorf("audit: exit %d\n%s", code, out)
	}
}

// Exit codes failoverctl documents.
const (
	exitUsageCode     = 2
	exitApprovalCode  = 3
	exitConflictCode  = 4
	exitAuthCode      = 5
	exitNotFoundCode  = 6
	exitUnavailCode   = 7
	exitFailedJobCode = 1
)

// TestCtlExitCodes checks the exit codes scripts rely on.
func TestCtlExitCodes(t *testing.T) {
	t.Parallel()
	e := setupCtl(t)
	vm := e.lab.VMs[1].Name
	cases := []struct {
		name  string
		token string
		args  []string
		code  int
	}{
		{"no token", "", []string{"jobs"}, exitAuthCode},
		{"wrong token", "uft_wrong", []string{"contexts"}, exitAuthCode},
		{"operator live failover", e.operator, []string{"failover", "--type", "live", vm, "--confirm", vm}, exitAuthCode},
		{"live without approval", e.admin, []string{"failover", "--type", "live", vm}, exitApprovalCode},
		{"unknown VM", e.operator, []string{"failover", "--type", "test", "nosuchvm"}, exitNotFoundCode},
		{"bad type", e.operator, []string{"failover", "--type", "prod", vm}, exitUsageCode},
		{"unknown flag", e.operator, []string{"jobs", "--colour"}, exitUsageCode},
		{"missing argument", e.operator, []string{"rollback"}, exitUsageCode},
		{"unknown command", e.operator, []string{"explode"}, exitUsageCode},
		{"invalid filter", e.operator, []string{"jobs", "--status", "done"}, exitUsageCode},
		{"nothing to roll back", e.operator, []string{"rollback", vm}, exitConflictCode},
		{"unreachable API", e.operator, []string{"--api-url", "http://127.0.0.1:1", "jobs"}, exitUnavailCode},
		{"token without role", "", []string{"token", "create", "--name", "x", "--role", "root"}, exitUsageCode},
		{"contexts", e.operator, []string{"contexts"}, 0},
		{"mappings status", e.operator, []string{"mappings", "status", vm}, 0},
	}
	for _, c := range cases {
		out, code := e.run(t, c.token, c.args...)
		if code != c.code {
			t.Errorf("%s: failoverctl %v exited %d, want %d\n%s", c.name, c.args, code, c.code, out)
		}
	}
	// The live failover with --confirm by an admin runs; its commit too.
	out, code := e.run(t, e.admin, "failover", "--type", "live", vm, "--confirm", vm, "--watch")
	if code != 0 || !strings.Contains(out, "✓ [3/10] final-sync") {
		t.Fatalf("live failover: exit %d\n%s", code, out)
	}
	jobs, err := client.New(e.stack.APIURL, e.admin).Jobs(e.ctx, client.JobFilter{VM: vm, Type: "live", JobType: "failover"})
	if err != nil || len(jobs) != 1 {
		t.Fatalf("live jobs: %v %v", jobs, err)
	}
	if out, code = e.run(t, e.operator, "commit", jobs[0].ID, "--confirm", vm); code != exitAuthCode {
		t.Errorf("operator commit: exit %d\n%s", code, out)
	}
	if out, code = e.run(t, e.admin, "commit", vm); code != exitApprovalCode {
		t.Errorf("admin commit without --confirm: exit %d\n%s", code, out)
	}
	// commit takes the VM's name, as rollback does, and --confirm the typed name.
	if out, code = e.run(t, e.admin, "commit", vm, "--confirm", vm); code != 0 {
		t.Errorf("admin commit: exit %d\n%s", code, out)
	}
	_ = exitFailedJobCode
}
