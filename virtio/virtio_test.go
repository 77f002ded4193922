package virtio

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ossea/unifiedfailover/errs"
)

const testVolumeID = "3f0b7c1e-9a2d-4e5f-8a6b-1c2d3e4f5a6b"

// script writes an executable shell script into dir and returns its path.
func script(t *testing.T, dir, body string) string {
	t.Helper()
	p := filepath.Join(dir, "inject.sh")
	if err := os.WriteFile(p, []byte("#!/bin/sh\n"+body), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

// newInjector returns an Injector whose devices live in a temp dir and
// whose mounts file is empty, and that dir.
func newInjector(t *testing.T, cfg Config) (*Injector, string) {
	t.Helper()
	dir := t.TempDir()
	if cfg.DeviceDir == "" {
		cfg.DeviceDir = filepath.Join(dir, "by-id")
		if err := os.Mkdir(cfg.DeviceDir, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if cfg.MountsFile == "" {
		cfg.MountsFile = filepath.Join(dir, "mounts")
		if err := os.WriteFile(cfg.MountsFile, []byte("proc /proc proc rw 0 0\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if cfg.DevicePoll == 0 {
		cfg.DevicePoll = 20 * time.Millisecond
	}
	in, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return in, dir
}

// device creates the device file of volumeID.
func device(t *testing.T, in *Injector, volumeID string) string {
	t.Helper()
	p := in.DevicePath(volumeID)
	if err := os.WriteFile(p, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestDevicePath(t *testing.T) {
	t.Parallel()
	in, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	for id, want := range map[string]string{
		testVolumeID:                           "/dev/disk/by-id/virtio-3f0b7c1e9a2d4e5f8a6b",
		"3F0B7C1E-9A2D-4E5F-8A6B-1C2D3E4F5A6B": "/dev/disk/by-id/virtio-3f0b7c1e9a2d4e5f8a6b",
		"0123456789abcdef0123456789abcdef":     "/dev/disk/by-id/virtio-0123456789abcdef0123",
		"abc":                                  "/dev/disk/by-id/virtio-abc",
	} {
		if got := in.DevicePath(id); got != want {
			t.Errorf("DevicePath(%q) = %q, want %q", id, got, want)
		}
	}
	in2, _ := New(Config{DeviceDir: "/tmp/devs/"})
	if got := in2.DevicePath(testVolumeID); got != "/tmp/devs/virtio-3f0b7c1e9a2d4e5f8a6b" {
		t.Errorf("DevicePath with DeviceDir = %q", got)
	}
	if Serial(testVolumeID) != "3f0b7c1e9a2d4e5f8a6b" {
		t.Errorf("Serial = %q", Serial(testVolumeID))
	}
}

func TestConfigDefaults(t *testing.T) {
	t.Parallel()
	none := func(string) (string, bool) { return "", false }
	c := Config{}.withDefaults(none)
	if c.Command != "virt-v2v-in-place" || c.Concurrency != 2 || c.DeviceDir != "/dev/disk/by-id" ||
		c.DeviceWait != 2*time.Minute || c.DevicePoll != 500*time.Millisecond || c.RunTimeout != time.Hour ||
		c.KillGrace != 30*time.Second || c.MountsFile != "/proc/self/mounts" {
		t.Errorf("defaults: %+v", c)
	}
	if strings.Join(c.Env, " ") != "LIBGUESTFS_BACKEND=direct" {
		t.Errorf("default env = %q", c.Env)
	}
	if err := c.validate(); err != nil {
		t.Errorf("defaults do not validate: %v", err)
	}

	withISO := func(k string) (string, bool) {
		if k == "VIRTIO_WIN" {
			return "/usr/share/virtio-win/virtio-win.iso", true
		}
		return "", false
	}
	c = Config{}.withDefaults(withISO)
	if strings.Join(c.Env, " ") != "LIBGUESTFS_BACKEND=direct VIRTIO_WIN=/usr/share/virtio-win/virtio-win.iso" {
		t.Errorf("env with VIRTIO_WIN set = %q", c.Env)
	}
	// Env's own values win, and are not doubled.
	c = Config{Env: []string{"LIBGUESTFS_BACKEND=libvirt", "VIRTIO_WIN=/srv/virtio"}}.withDefaults(withISO)
	if strings.Join(c.Env, " ") != "LIBGUESTFS_BACKEND=libvirt VIRTIO_WIN=/srv/virtio" {
		t.Errorf("explicit env = %q", c.Env)
	}
	// Set fields stay.
	c = Config{Command: "/opt/inject --flag", Concurrency: 5, DeviceWait: time.Second}.withDefaults(none)
	if c.Command != "/opt/inject --flag" || c.Concurrency != 5 || c.DeviceWait != time.Second {
		t.Errorf("set fields changed: %+v", c)
	}
	// The exported WithDefaults reads the real environment; it at least
	// gives the same defaults.
	if d := (Config{}).WithDefaults(); d.Concurrency != 2 || !hasKey(d.Env, "LIBGUESTFS_BACKEND") {
		t.Errorf("WithDefaults: %+v", d)
	}
}

func TestConfigValidate(t *testing.T) {
	t.Parallel()
	for _, n := range []int{1, 2, 64} {
		if _, err := New(Config{Concurrency: n}); err != nil {
			t.Errorf("concurrency %d refused: %v", n, err)
		}
	}
	for name, c := range map[string]Config{
		"concurrency -1":    {Concurrency: -1},
		"concurrency 65":    {Concurrency: 65},
		"blank command":     {Command: "   "},
		"relative dir":      {DeviceDir: "dev/disk/by-id"},
		"negative wait":     {DeviceWait: -time.Second},
		"negative timeout":  {RunTimeout: -time.Second},
		"env without equal": {Env: []string{"LIBGUESTFS_BACKEND"}},
		"env without key":   {Env: []string{"=x"}},
		"spaced format":     {InputFormat: "raw -x"},
	} {
		if _, err := New(c); err == nil {
			t.Errorf("%s: accepted", name)
		} else if !strings.HasPrefix(err.Error(), "virtio: ") {
			t.Errorf("%s: error %q", name, err)
		}
	}
	_, err := New(Config{Concurrency: 65})
	if err == nil || !strings.Contains(err.Error(), "FAILOVER_VIRTIO_CONCURRENCY") || !strings.Contains(err.Error(), "1 to 64") {
		t.Errorf("concurrency error does not name the variable and range: %v", err)
	}
}

func TestInjectRunsCommandWithEnv(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	sh := script(t, dir, `echo "args: $*"
env | grep -E '^(FAILOVER_|LIBGUESTFS_BACKEND=|EXTRA_)' | sort
`)
	in, _ := newInjector(t, Config{Command: sh + " --colours", Env: []string{"EXTRA_ONE=1"}})
	dev := device(t, in, testVolumeID)
	res, err := in.Inject(context.Background(), Request{VolumeID: testVolumeID, VMName: "win-db01",
		Firmware: "efi", JobID: "job-42"})
	if err != nil {
		t.Fatalf("Inject: %v", err)
	}
	if res.Device != dev {
		t.Errorf("Device = %q, want %q", res.Device, dev)
	}
	for _, want := range []string{
		"args: --colours -i disk " + dev + "\n",
		"EXTRA_ONE=1\n",
		"FAILOVER_FIRMWARE=efi\n",
		"FAILOVER_JOB_ID=job-42\n",
		"FAILOVER_VM_NAME=win-db01\n",
		"FAILOVER_VOLUME_ID=" + testVolumeID + "\n",
		"LIBGUESTFS_BACKEND=direct\n",
	} {
		if !strings.Contains(res.Output, want) {
			t.Errorf("output lacks %q:\n%s", want, res.Output)
		}
	}
	if res.Took <= 0 {
		t.Errorf("Took = %s", res.Took)
	}

	raw, _ := newInjector(t, Config{Command: sh, InputFormat: "raw"})
	dev = device(t, raw, testVolumeID)
	res, err = raw.Inject(context.Background(), Request{VolumeID: testVolumeID})
	if err != nil || !strings.Contains(res.Output, "args: -i disk -if raw "+dev+"\n") {
		t.Errorf("with InputFormat raw: %v\n%s", err, res.Output)
	}
}

func TestInjectConcurrencyCap(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	state := filepath.Join(dir, "state")
	if err := os.Mkdir(state, 0o755); err != nil {
		t.Fatal(err)
	}
	// Each run marks itself running, counts the runs marked, sleeps and
	// unmarks itself before it exits.
	sh := script(t, dir, `d="$STATE_DIR"
touch "$d/run.$$"
n=$(ls "$d" | grep -c '^run\.')
echo "$n" >> "$d/../seen"
sleep 0.3
rm "$d/run.$$"
`)
	in, _ := newInjector(t, Config{Command: sh, Concurrency: 2, Env: []string{"STATE_DIR=" + state}})
	var ids []string
	for i := range 6 {
		id := fmt.Sprintf("%08x-0000-4000-8000-%012x", i, i)
		device(t, in, id)
		ids = append(ids, id)
	}
	var wg sync.WaitGroup
	errc := make(chan error, len(ids))
	for _, id := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := in.Inject(context.Background(), Request{VolumeID: id})
			errc <- err
		}()
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		if err != nil {
			t.Fatalf("Inject: %v", err)
		}
	}
	data, err := os.ReadFile(filepath.Join(dir, "seen"))
	if err != nil {
		t.Fatal(err)
	}
	seen := strings.Fields(string(data))
	if len(seen) != 6 {
		t.Fatalf("%d runs recorded, want 6: %q", len(seen), seen)
	}
	most := 0
	for _, s := range seen {
		n, _ := strconv.Atoi(s)
		most = max(most, n)
	}
	if most != 2 {
		t.Errorf("at most %d runs at once (counts %q), want exactly 2", most, seen)
	}
}

func TestInjectWaitsForLateDevice(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	in, _ := newInjector(t, Config{Command: script(t, dir, "echo ok\n"), DeviceWait: 10 * time.Second})
	go func() {
		time.Sleep(200 * time.Millisecond)
		_ = os.WriteFile(in.DevicePath(testVolumeID), nil, 0o644)
	}()
	res, err := in.Inject(context.Background(), Request{VolumeID: testVolumeID})
	if err != nil {
		t.Fatalf("Inject: %v", err)
	}
	if res.Waited < 200*time.Millisecond || res.Waited > 5*time.Second {
		t.Errorf("Waited = %s, want about 200ms", res.Waited)
	}
	if res.Output != "ok\n" {
		t.Errorf("Output = %q", res.Output)
	}
}

func TestInjectWaitsForLateSymlink(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	in, _ := newInjector(t, Config{Command: script(t, dir, "echo ok\n"), DeviceWait: 10 * time.Second})
	// A link whose target is not there yet (udev made the link, the
	// kernel's node is missing) is still missing.
	target := filepath.Join(dir, "vdb")
	if err := os.Symlink(target, in.DevicePath(testVolumeID)); err != nil {
		t.Fatal(err)
	}
	go func() {
		time.Sleep(200 * time.Millisecond)
		_ = os.WriteFile(target, nil, 0o644)
	}()
	res, err := in.Inject(context.Background(), Request{VolumeID: testVolumeID})
	if err != nil {
		t.Fatalf("Inject: %v", err)
	}
	if res.Waited < 200*time.Millisecond {
		t.Errorf("Waited = %s, want at least 200ms", res.Waited)
	}
}

func TestInjectMissingDevice(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	ran := filepath.Join(dir, "ran")
	in, _ := newInjector(t, Config{Command: script(t, dir, "touch "+ran+"\n"), DeviceWait: 300 * time.Millisecond})
	start := time.Now()
	res, err := in.Inject(context.Background(), Request{VolumeID: testVolumeID})
	if err == nil {
		t.Fatal("Inject succeeded without a device")
	}
	if took := time.Since(start); took < 300*time.Millisecond || took > 5*time.Second {
		t.Errorf("gave up after %s, want about 300ms", took)
	}
	if !errs.IsTransient(err) {
		t.Errorf("missing device error is not transient: %v", err)
	}
	msg := err.Error()
	for _, want := range []string{in.DevicePath(testVolumeID), testVolumeID, "not attached to the appliance VM", "hot-plug was missed", "300ms"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error lacks %q: %s", want, msg)
		}
	}
	if res.Device != in.DevicePath(testVolumeID) {
		t.Errorf("Result.Device = %q", res.Device)
	}
	if _, err := os.Stat(ran); err == nil {
		t.Error("the command ran without a device")
	}
}

func TestInjectDeviceWaitHonoursContext(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	in, _ := newInjector(t, Config{Command: script(t, dir, "true\n"), DeviceWait: time.Minute})
	ctx, cancel := context.WithTimeout(context.Background(), 150*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := in.Inject(ctx, Request{VolumeID: testVolumeID})
	if err == nil || !errs.IsTransient(err) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want a transient deadline error", err)
	}
	if time.Since(start) > 5*time.Second {
		t.Errorf("took %s to notice the deadline", time.Since(start))
	}
}

func TestInjectSlotWaitHonoursContext(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	in, _ := newInjector(t, Config{Command: script(t, dir, "sleep 2\n"), Concurrency: 1})
	device(t, in, testVolumeID)
	other := "aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee"
	device(t, in, other)
	done := make(chan error, 1)
	go func() {
		_, err := in.Inject(context.Background(), Request{VolumeID: testVolumeID})
		done <- err
	}()
	time.Sleep(200 * time.Millisecond) // the first run holds the only slot
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	_, err := in.Inject(ctx, Request{VolumeID: other})
	if err == nil || !errs.IsTransient(err) || !strings.Contains(err.Error(), "slot") {
		t.Errorf("err = %v, want a transient error waiting for a slot", err)
	}
	if err := <-done; err != nil {
		t.Errorf("first Inject: %v", err)
	}
}

func TestInjectExitCode(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	// 3000 bytes of filler, then the message that matters, then exit 7.
	sh := script(t, dir, `i=0
while [ $i -lt 30 ]; do printf '%099d\n' 0; i=$((i+1)); done
echo "virt-v2v-in-place: error: inspection could not detect the source guest" >&2
exit 7
`)
	in, _ := newInjector(t, Config{Command: sh})
	device(t, in, testVolumeID)
	res, err := in.Inject(context.Background(), Request{VolumeID: testVolumeID})
	if err == nil {
		t.Fatal("Inject succeeded")
	}
	if !errs.Is(err, errs.FailedPrecondition) || errs.IsTransient(err) {
		t.Errorf("err code %s transient %v, want permanent failed_precondition", errs.CodeOf(err), errs.IsTransient(err))
	}
	if !strings.Contains(err.Error(), "exited 7") || !strings.Contains(err.Error(), "inspection could not detect") {
		t.Errorf("error lacks exit code or output: %s", err)
	}
	var e *errs.Error
	if !errors.As(err, &e) || e.Details["exit_code"] != 7 || e.Details["device"] != res.Device {
		t.Errorf("details = %v", e.Details)
	}
	if len(res.Output) != OutputTail {
		t.Errorf("Output is %d bytes, want the last %d", len(res.Output), OutputTail)
	}
	if !strings.HasSuffix(res.Output, "source guest\n") {
		t.Errorf("Output does not end with the last line: %q", res.Output[len(res.Output)-80:])
	}
}

func TestInjectCommandMissing(t *testing.T) {
	t.Parallel()
	in, _ := newInjector(t, Config{Command: "/nonexistent/virt-v2v-in-place"})
	device(t, in, testVolumeID)
	_, err := in.Inject(context.Background(), Request{VolumeID: testVolumeID})
	if !errs.Is(err, errs.FailedPrecondition) || !strings.Contains(err.Error(), "/nonexistent/virt-v2v-in-place") {
		t.Errorf("err = %v", err)
	}
}

func TestInjectCancelKillsProcessGroup(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	pidFile := filepath.Join(dir, "child.pid")
	sh := script(t, dir, "sleep 30 &\necho $! > "+pidFile+"\nwait\n")
	in, _ := newInjector(t, Config{Command: sh, KillGrace: 2 * time.Second})
	device(t, in, testVolumeID)
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		for {
			if _, err := os.Stat(pidFile); err == nil {
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
		time.Sleep(100 * time.Millisecond)
		cancel()
	}()
	start := time.Now()
	_, err := in.Inject(ctx, Request{VolumeID: testVolumeID})
	if err == nil || !errs.IsTransient(err) || !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want a transient cancellation", err)
	}
	if took := time.Since(start); took > 10*time.Second {
		t.Errorf("cancel took %s", took)
	}
	data, _ := os.ReadFile(pidFile)
	pid := strings.TrimSpace(string(data))
	deadline := time.Now().Add(5 * time.Second)
	for {
		stat, err := os.ReadFile("/proc/" + pid + "/stat")
		if err != nil || strings.Contains(string(stat), ") Z ") {
			break // gone, or a zombie waiting for its reaper
		}
		if time.Now().After(deadline) {
			t.Fatalf("the command's child %s still runs after the cancel", pid)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestInjectRunTimeout(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	in, _ := newInjector(t, Config{Command: script(t, dir, "sleep 30\n"), RunTimeout: 200 * time.Millisecond, KillGrace: time.Second})
	device(t, in, testVolumeID)
	_, err := in.Inject(context.Background(), Request{VolumeID: testVolumeID})
	if err == nil || !errs.IsTransient(err) || !strings.Contains(err.Error(), "run timeout of 200ms") {
		t.Errorf("err = %v, want a transient run timeout", err)
	}
}

func TestInjectRefusesBadVolumeID(t *testing.T) {
	t.Parallel()
	in, _ := newInjector(t, Config{Command: "true"})
	for _, id := range []string{"", "abc", "../../../../etc/passwdxxxxxxxxxxxxxxxxxx", "3f0b7c1e-9a2d-4e5f-8a6b-1c2d3e4f5a6z"} {
		_, err := in.Inject(context.Background(), Request{VolumeID: id})
		if !errs.Is(err, errs.InvalidArgument) {
			t.Errorf("volume id %q: err = %v, want invalid_argument", id, err)
		}
	}
}

func TestInjectRefusesMountedDevice(t *testing.T) {
	t.Parallel()
	type layout struct {
		link   bool   // the by-id entry is a link to <dir>/<target>
		target string // the device node's name
		source string // the mount source, relative to dir ("" = the by-id path)
	}
	for name, l := range map[string]layout{
		"device itself":       {source: ""},
		"link target":         {link: true, target: "vdb", source: "vdb"},
		"partition of target": {link: true, target: "vdb", source: "vdb1"},
		"nvme partition":      {link: true, target: "nvme0n1", source: "nvme0n1p2"},
		"other link to it":    {link: true, target: "vdb", source: "alias"},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			ran := filepath.Join(dir, "ran")
			in, _ := newInjector(t, Config{Command: script(t, dir, "touch "+ran+"\n"),
				MountsFile: filepath.Join(dir, "mounts")})
			dev := in.DevicePath(testVolumeID)
			if l.link {
				target := filepath.Join(dir, l.target)
				if err := os.WriteFile(target, nil, 0o644); err != nil {
					t.Fatal(err)
				}
				if err := os.Symlink(target, dev); err != nil {
					t.Fatal(err)
				}
			} else {
				device(t, in, testVolumeID)
			}
			src := dev
			if l.source != "" {
				src = filepath.Join(dir, l.source)
				if l.source == "alias" {
					if err := os.Symlink(filepath.Join(dir, l.target), src); err != nil {
						t.Fatal(err)
					}
				}
			}
			mounts := "proc /proc proc rw 0 0\n" + src + " /mnt/replica\\040copy ext4 rw,relatime 0 0\n"
			if err := os.WriteFile(filepath.Join(dir, "mounts"), []byte(mounts), 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := in.Inject(context.Background(), Request{VolumeID: testVolumeID})
			if !errs.Is(err, errs.FailedPrecondition) || errs.IsTransient(err) {
				t.Fatalf("err = %v, want a permanent failed_precondition", err)
			}
			if !strings.Contains(err.Error(), "is mounted") || !strings.Contains(err.Error(), "/mnt/replica copy") {
				t.Errorf("error does not say where it is mounted: %s", err)
			}
			if _, err := os.Stat(ran); err == nil {
				t.Error("the command ran on a mounted device")
			}
		})
	}
}

func TestInjectAllowsUnrelatedMounts(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	target := filepath.Join(dir, "vdb")
	mounts := fmt.Sprintf("overlay / overlay rw 0 0\n%s/vda1 /boot ext4 rw 0 0\n%s/vdb10x /x ext4 rw 0 0\n%s/vdbb1 /y ext4 rw 0 0\n",
		dir, dir, dir)
	if err := os.WriteFile(filepath.Join(dir, "mounts"), []byte(mounts), 0o644); err != nil {
		t.Fatal(err)
	}
	in, _ := newInjector(t, Config{Command: "true", MountsFile: filepath.Join(dir, "mounts")})
	if err := os.WriteFile(target, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(target, in.DevicePath(testVolumeID)); err != nil {
		t.Fatal(err)
	}
	if _, err := in.Inject(context.Background(), Request{VolumeID: testVolumeID}); err != nil {
		t.Errorf("Inject: %v", err)
	}
}

func TestInjectUnreadableMounts(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	in, _ := newInjector(t, Config{Command: "true", MountsFile: filepath.Join(dir, "no-such-mounts")})
	device(t, in, testVolumeID)
	_, err := in.Inject(context.Background(), Request{VolumeID: testVolumeID})
	if !errs.Is(err, errs.FailedPrecondition) || !strings.Contains(err.Error(), "no-such-mounts") {
		t.Errorf("err = %v", err)
	}
}

func TestIsPartitionOf(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		part, disk string
		want       bool
	}{
		{"/dev/vdb1", "/dev/vdb", true},
		{"/dev/vdb12", "/dev/vdb", true},
		{"/dev/vdb", "/dev/vdb", false},
		{"/dev/vdbb", "/dev/vdb", false},
		{"/dev/nvme0n1p1", "/dev/nvme0n1", true},
		{"/dev/nvme0n11", "/dev/nvme0n1", false},
		{"/dev/loop10", "/dev/loop1", false},
		{"/dev/loop1p1", "/dev/loop1", true},
		{"/dev/vda1", "/dev/vdb", false},
	} {
		if got := isPartitionOf(c.part, c.disk); got != c.want {
			t.Errorf("isPartitionOf(%q, %q) = %v", c.part, c.disk, got)
		}
	}
}

func TestUnescapeMount(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{`/mnt/a\040b`: "/mnt/a b", `/plain`: "/plain", `/x\011y\134`: "/x\ty\\", `/end\04`: `/end\04`} {
		if got := unescapeMount(in); got != want {
			t.Errorf("unescapeMount(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestTailBuffer(t *testing.T) {
	t.Parallel()
	b := &tailBuffer{max: 5}
	_, _ = b.Write([]byte("abc"))
	if b.String() != "abc" {
		t.Errorf("%q", b.String())
	}
	_, _ = b.Write([]byte("defg"))
	if b.String() != "cdefg" {
		t.Errorf("%q", b.String())
	}
	_, _ = b.Write([]byte("0123456789"))
	if b.String() != "56789" {
		t.Errorf("%q", b.String())
	}
	u := &tailBuffer{max: 4}
	_, _ = u.Write([]byte("xé€")) // é is 2 bytes, € 3: the cut lands inside é
	if u.String() != "€" {
		t.Errorf("%q", u.String())
	}
}
