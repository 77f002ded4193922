package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ossea/unifiedfailover/lab"
	"github.com/ossea/unifiedfailover/sim/nbdkit"
)

type fixture struct {
	ctx    context.Context
	labsim string // path of the built labsim binary
	govc   string // path of the built govc binary
	dir    string // a directory for the test's files
}

// setup builds labsim and govc into a test directory.
func setup(t *testing.T) fixture {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	t.Cleanup(cancel)
	goTool, err := exec.LookPath("go")
	if err != nil {
		goTool = "/usr/local/go/bin/go" // where the README installs Go
	}
	bin := t.TempDir()
	f := fixture{ctx: ctx, labsim: filepath.Join(bin, "labsim"), govc: filepath.Join(bin, "govc"), dir: t.TempDir()}
	for out, pkg := range map[string]string{f.labsim: "./", f.govc: "../govc"} {
		cmd := exec.CommandContext(ctx, goTool, "build", "-o", out, pkg)
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("go build %s: %v\n%s", pkg, err, b)
		}
	}
	return f
}

// nbdkitProcesses returns the pids of the nbdkit processes whose command
// line mentions dir.
func nbdkitProcesses(t *testing.T, dir string) []int {
	t.Helper()
	pids, err := nbdkit.Processes(dir)
	if err != nil {
		t.Fatal(err)
	}
	return pids
}

func TestLabsimServesTheLabUntilSIGTERM(t *testing.T) {
	t.Parallel()
	f := setup(t)
	data := filepath.Join(f.dir, "data")
	envFile, manifestFile := filepath.Join(f.dir, "lab.env"), filepath.Join(f.dir, "manifest.json")

	cmd := exec.Command(f.labsim, "-vms", "3", "-dir", data, "-env-file", envFile, "-manifest", manifestFile)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	ready := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if strings.HasPrefix(sc.Text(), "labsim: ready") {
				ready <- sc.Text()
			}
		}
		_, _ = io.Copy(io.Discard, stdout)
		exited <- cmd.Wait()
	}()
	t.Cleanup(func() { _ = cmd.Process.Kill() }) // no-op once it exited

	select {
	case line := <-ready:
		t.Log(line)
	case err := <-exited:
		t.Fatalf("labsim exited before it was ready: %v\n%s", err, stderr.String())
	case <-f.ctx.Done():
		t.Fatalf("labsim not ready: %v\n%s", f.ctx.Err(), stderr.String())
	}

	env := map[string]string{}
	b, err := os.ReadFile(envFile)
	if err != nil {
		t.Fatalf("reading the env file: %v", err)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		k, v, ok := strings.Cut(line, "=")
		if !ok || !strings.HasPrefix(k, "FAILOVER_") {
			t.Errorf("env file line %q is not FAILOVER_KEY=VALUE", line)
		}
		env[k] = v
	}
	b, err = os.ReadFile(manifestFile)
	if err != nil {
		t.Fatalf("reading the manifest: %v", err)
	}
	var m lab.Manifest
	if err := json.Unmarshal(b, &m); err != nil || len(m.VMs) != 3 {
		t.Fatalf("manifest: %v, %d VMs", err, len(m.VMs))
	}
	var disks int
	for _, vm := range m.VMs {
		disks += len(vm.Register.Disks)
		if vm.Register.VMwareVMID == "" || len(vm.Register.Disks) == 0 || vm.Register.Disks[0].ChangeID == "" {
			t.Errorf("manifest VM %+v", vm)
		}
	}

	govc := exec.CommandContext(f.ctx, f.govc, "ls", "/DC0/vm")
	govc.Env = append(os.Environ(),
		"GOVC_URL="+env["FAILOVER_VCENTER_URL"],
		"GOVC_USERNAME="+env["FAILOVER_VCENTER_USER"],
		"GOVC_PASSWORD="+env["FAILOVER_VCENTER_PASSWORD"],
		"GOVC_INSECURE=1",
	)
	out, err := govc.CombinedOutput()
	if err != nil {
		t.Fatalf("govc ls: %v\n%s", err, out)
	}
	got := strings.Fields(string(out))
	slices.Sort(got)
	if want := []string{"/DC0/vm/pgtest1", "/DC0/vm/pgtest2", "/DC0/vm/pgtest3"}; !slices.Equal(got, want) {
		t.Errorf("govc ls /DC0/vm = %q, want %q", got, want)
	}

	pids := nbdkitProcesses(t, data)
	if len(pids) != 2*disks {
		t.Errorf("%d nbdkit processes serve %s, want 2 per disk (%d disks)", len(pids), data, disks)
	}

	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-exited:
		if err != nil {
			t.Errorf("labsim after SIGTERM: %v\n%s", err, stderr.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("labsim still runs 30 s after SIGTERM")
	}
	if left := nbdkitProcesses(t, data); len(left) != 0 {
		t.Errorf("nbdkit processes left after labsim exited: %v", left)
	}
	for _, pid := range pids {
		if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
			t.Errorf("nbdkit %d: kill(0) = %v, want ESRCH", pid, err)
		}
	}
}

func TestWriteAtomicReplacesTheFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "m.json")
	for _, content := range []string{"first\n", "second\n"} {
		if err := writeAtomic(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		if b, err := os.ReadFile(path); err != nil || string(b) != content {
			t.Errorf("file = %q, %v; want %q", b, err, content)
		}
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("directory holds %d entries, want only the file", len(entries))
	}
	if st, err := os.Stat(path); err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("mode = %v, %v", st.Mode(), err)
	}
}

func TestRunRejectsBadFlags(t *testing.T) {
	t.Parallel()
	if code := run([]string{"-vms", "0x"}); code != 2 {
		t.Errorf("run with a bad flag = %d, want 2", code)
	}
	if code := run([]string{"extra"}); code != 2 {
		t.Errorf("run with an argument = %d, want 2", code)
	}
	if code := run([]string{"-vms", "-1"}); code != 1 {
		t.Errorf("run with -vms -1 = %d, want 1", code)
	}
}
