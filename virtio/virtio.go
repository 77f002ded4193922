// Package virtio injects VirtIO drivers into the boot replica of a Windows
// guest so that it boots on KVM, by running virt-v2v-in-place on the
// replica's local block device.
//
// The replica volume is attached to the appliance VM in CloudStack, and the
// worker that runs injections runs on that appliance. KVM gives each
// attached volume a virtio serial made of the CloudStack volume id without
// dashes, truncated to 20 characters, so udev links the disk as
// /dev/disk/by-id/virtio-<those 20 hex digits> (DevicePath). CloudStack's
// deviceid does not follow the order of Linux devices and hot-plug events
// can come late, so the device is found by id, with a wait.
//
// virt-v2v-in-place 2.2 reads only local files or block devices: `-i disk`
// does not take an NBD URI and `-i libvirtxml` ignores a network (NBD) disk
// source (see docs/virtio.md). One Injector per process caps how many runs
// go at once, since unbounded parallel runs have been seen to hang.
package virtio

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/ossea/unifiedfailover/calltime"
	"github.com/ossea/unifiedfailover/errs"
)

// The defaults of Config.
const (
	DefaultCommand     = "virt-v2v-in-place"
	DefaultConcurrency = 2
	MaxConcurrency     = 64
	DefaultDeviceDir   = "/dev/disk/by-id"
	DefaultDeviceWait  = 2 * time.Minute
	DefaultDevicePoll  = 500 * time.Millisecond
	DefaultRunTimeout  = time.Hour
	DefaultKillGrace   = 30 * time.Second
	DefaultMountsFile  = "/proc/self/mounts"
	// OutputTail is how many bytes of the command's output Result.Output
	// and error messages keep (the last ones).
	OutputTail = 2000
	// serialLen is how many characters of the volume id KVM keeps in a
	// virtio disk's serial.
	serialLen = 20
)

// Config configures an Injector. Zero fields take their defaults
// (WithDefaults).
type Config struct {
	// Command is the injection command, split into fields on white space;
	// "-i disk <device>" is appended to it. Defaults to
	// "virt-v2v-in-place" (FAILOVER_VIRTIO_COMMAND).
	Command string
	// InputFormat, when set, is passed as "-if <format>" after "-i disk"
	// ("raw" is what a replica is to the appliance, and spares the tool
	// probing the format of guest-written data). Defaults to empty: no
	// -if, the tool probes (qemu-img info).
	InputFormat string
	// Concurrency caps how many injections this Injector runs at once,
	// from 1 to 64. Defaults to 2 (FAILOVER_VIRTIO_CONCURRENCY). The cap is
	// per Injector, so a process must share one Injector.
	Concurrency int
	// DeviceDir is the directory the replica's device link is looked for
	// in. Defaults to "/dev/disk/by-id".
	DeviceDir string
	// DeviceWait is how long Inject waits for the device to appear (a
	// hot-plugged volume can show up late). Defaults to 2m.
	DeviceWait time.Duration
	// DevicePoll is how often the device path is looked at while waiting.
	// Defaults to 500ms.
	DevicePoll time.Duration
	// RunTimeout caps one run of the command, so that a hung run frees its
	// slot. Defaults to 1h.
	RunTimeout time.Duration
	// KillGrace is how long a cancelled run gets between SIGTERM and
	// SIGKILL (both sent to its whole process group, so libguestfs's qemu
	// and nbdkit go too). Defaults to 30s.
	KillGrace time.Duration
	// Env is extra KEY=VALUE variables for the command, on top of the
	// process's environment. Defaults add LIBGUESTFS_BACKEND=direct
	// unless Env sets LIBGUESTFS_BACKEND, and VIRTIO_WIN=<its value> when
	// the process environment has VIRTIO_WIN and Env does not set it.
	Env []string
	// MountsFile lists the mounted file systems, in /proc/mounts format;
	// a device listed there (or a partition of it) is refused. Defaults to
	// "/proc/self/mounts" (tests point it elsewhere).
	MountsFile string
}

// WithDefaults returns c with its zero fields set to their defaults.
func (c Config) WithDefaults() Config { return c.withDefaults(os.LookupEnv) }

// withDefaults is WithDefaults reading the process environment through
// lookupEnv.
func (c Config) withDefaults(lookupEnv func(string) (string, bool)) Config {
	if c.Command == "" {
		c.Command = DefaultCommand
	}
	if c.Concurrency == 0 {
		c.Concurrency = DefaultConcurrency
	}
	if c.DeviceDir == "" {
		c.DeviceDir = DefaultDeviceDir
	}
	if c.DeviceWait == 0 {
		c.DeviceWait = DefaultDeviceWait
	}
	if c.DevicePoll == 0 {
		c.DevicePoll = DefaultDevicePoll
	}
	if c.RunTimeout == 0 {
		c.RunTimeout = DefaultRunTimeout
	}
	if c.KillGrace == 0 {
		c.KillGrace = DefaultKillGrace
	}
	if c.MountsFile == "" {
		c.MountsFile = DefaultMountsFile
	}
	env := append([]string(nil), c.Env...)
	if !hasKey(env, "LIBGUESTFS_BACKEND") {
		env = append(env, "LIBGUESTFS_BACKEND=direct")
	}
	if v, ok := lookupEnv("VIRTIO_WIN"); ok && v != "" && !hasKey(env, "VIRTIO_WIN") {
		env = append(env, "VIRTIO_WIN="+v)
	}
	c.Env = env
	return c
}

func hasKey(env []string, key string) bool {
	for _, kv := range env {
		if k, _, _ := strings.Cut(kv, "="); k == key {
			return true
		}
	}
	return false
}

func (c Config) validate() error {
	var problems []string
	if len(strings.Fields(c.Command)) == 0 {
		problems = append(problems, emptyCommand)
	}
	if c.Concurrency < 1 || c.Concurrency > MaxConcurrency {
		problems = append(problems, fmt.Sprintf("concurrency (FAILOVER_VIRTIO_CONCURRENCY) is %d, not 1 to %d", c.Concurrency, MaxConcurrency))
	}
	if strings.ContainsAny(c.InputFormat, " \t\n") {
		problems = append(problems, fmt.Sprintf("input format %q has white space", c.InputFormat))
	}
	if !filepath.IsAbs(c.DeviceDir) {
		problems = append(problems, fmt.Sprintf("device directory %q is not an absolute path", c.DeviceDir))
	}
	for name, d := range map[string]time.Duration{"device wait": c.DeviceWait, "device poll": c.DevicePoll,
		"run timeout": c.RunTimeout, "kill grace": c.KillGrace} {
		if d < 0 {
			problems = append(problems, fmt.Sprintf("%s is negative (%s)", name, d))
		}
	}
	for _, kv := range c.Env {
		if k, _, ok := strings.Cut(kv, "="); !ok || k == "" {
			problems = append(problems, fmt.Sprintf("env entry %q is not KEY=VALUE", kv))
		}
	}
	if len(problems) > 0 {
		return fmt.Errorf("virtio: %s", strings.Join(problems, "; "))
	}
	return nil
}

// emptyCommand is the problem of a command with no fields.
const emptyCommand = "the command (FAILOVER_VIRTIO_COMMAND) is empty"

// FindCommand says whether this process can run the injection command
// command (FAILOVER_VIRTIO_COMMAND): its first field, an absolute or
// relative path taken as it is or a bare name looked up on PATH
// (exec.LookPath), must be an executable file. It returns the
// executable's path, or an error that names the command and
// FAILOVER_VIRTIO_COMMAND and says what is wrong. Workers report it with
// their heartbeat, so pre-flight knows whether any of them can run the
// virtio-injection step.
func FindCommand(command string) (string, error) {
	f := strings.Fields(command)
	if len(f) == 0 {
		return "", errors.New(emptyCommand)
	}
	name := f[0]
	path, err := exec.LookPath(name)
	switch {
	case err == nil:
		return path, nil
	case !strings.Contains(name, "/") && errors.Is(err, exec.ErrNotFound):
		return "", fmt.Errorf("%s (FAILOVER_VIRTIO_COMMAND) is not found on PATH", name)
	case errors.Is(err, os.ErrNotExist):
		return "", fmt.Errorf("%s (FAILOVER_VIRTIO_COMMAND) does not exist", name)
	case errors.Is(err, syscall.EISDIR):
		return "", fmt.Errorf("%s (FAILOVER_VIRTIO_COMMAND) is a directory, not an executable file", name)
	case errors.Is(err, os.ErrPermission):
		return "", fmt.Errorf("%s (FAILOVER_VIRTIO_COMMAND) is not an executable file", name)
	default:
		return "", fmt.Errorf("%s (FAILOVER_VIRTIO_COMMAND) cannot be run: %w", name, err)
	}
}

// Injector runs VirtIO injections, at most Config.Concurrency at once.
// It is safe for concurrent use.
type Injector struct {
	cfg  Config
	argv []string
	sem  chan struct{}
}

// New returns an Injector for cfg (defaults filled in, then checked).
func New(cfg Config) (*Injector, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	return &Injector{cfg: cfg, argv: strings.Fields(cfg.Command), sem: make(chan struct{}, cfg.Concurrency)}, nil
}

// Config returns the Injector's configuration, defaults filled in.
func (in *Injector) Config() Config { return in.cfg }

// Request is one injection.
type Request struct {
	// VolumeID is the CloudStack id of the boot replica volume. Required.
	VolumeID string
	// VMName is the source VM's name (FAILOVER_VM_NAME).
	VMName string
	// Firmware is "bios" or "efi" (FAILOVER_FIRMWARE).
	Firmware string
	// JobID is the failover job's external id (FAILOVER_JOB_ID).
	JobID string
}

// Result is what an injection did. Inject returns it filled as far as the
// injection got, on error too.
type Result struct {
	// Output is the last OutputTail bytes of the command's combined
	// stdout and stderr.
	Output string
	// Device is the device path the command ran on.
	Device string
	// Took is how long the command ran.
	Took time.Duration
	// Waited is how long Inject waited for the device and for a slot.
	Waited time.Duration
}

// Serial returns the virtio serial KVM gives the CloudStack volume
// volumeID: its first 20 hex digits with the dashes removed, lower case.
func Serial(volumeID string) string {
	s := strings.ToLower(strings.ReplaceAll(volumeID, "-", ""))
	if len(s) > serialLen {
		s = s[:serialLen]
	}
	return s
}

// DevicePath is where the volume volumeID shows up on the appliance:
// <DeviceDir>/virtio-<Serial(volumeID)>.
func (in *Injector) DevicePath(volumeID string) string {
	return filepath.Join(in.cfg.DeviceDir, "virtio-"+Serial(volumeID))
}

func checkVolumeID(id string) error {
	s := Serial(id)
	if len(s) < serialLen {
		return errs.New(errs.InvalidArgument, "volume id %q has fewer than %d hex digits", id, serialLen)
	}
	for _, r := range strings.ToLower(id) {
		if r != '-' && (r < '0' || r > '9') && (r < 'a' || r > 'f') {
			return errs.New(errs.InvalidArgument, "volume id %q is not a CloudStack UUID", id)
		}
	}
	return nil
}

// Inject runs `<Command> -i disk [-if <InputFormat>] <DevicePath(r.VolumeID)>` once the device
// exists, is not mounted and a slot of the concurrency cap is free.
//
// Errors: a device still missing after DeviceWait, and a ctx cancelled or
// past its deadline (or RunTimeout hit) are errs.Transient; a mounted
// device and a command exiting non-zero (exit code and output tail in the
// message and details) are errs.FailedPrecondition; a malformed volume id
// is errs.InvalidArgument.
func (in *Injector) Inject(ctx context.Context, r Request) (Result, error) {
	if err := checkVolumeID(r.VolumeID); err != nil {
		return Result{}, err
	}
	res := Result{Device: in.DevicePath(r.VolumeID)}
	start := time.Now()
	// Waiting for the device does not hold a slot: a missed hot-plug must
	// not keep other injections waiting for DeviceWait.
	if err := in.waitDevice(ctx, res.Device, r.VolumeID); err != nil {
		res.Waited = time.Since(start)
		return res, err
	}
	select {
	case in.sem <- struct{}{}:
	case <-ctx.Done():
		res.Waited = time.Since(start)
		return res, errs.Transient(ctx.Err(), "waiting for a VirtIO injection slot (%d at once)", in.cfg.Concurrency)
	}
	defer func() { <-in.sem }()
	res.Waited = time.Since(start)
	// Checked once the slot is ours: the wait for it can be long.
	if err := checkNotMounted(in.cfg.MountsFile, res.Device); err != nil {
		return res, err
	}
	return in.run(ctx, r, res)
}

// waitDevice polls until path exists (a dangling link counts as missing).
func (in *Injector) waitDevice(ctx context.Context, path, volumeID string) error {
	done := calltime.Start(ctx) // waiting on the hypervisor's hot-plug
	defer done()
	deadline := time.Now().Add(in.cfg.DeviceWait)
	for {
		_, err := os.Stat(path)
		if err == nil {
			return nil
		}
		if !errors.Is(err, os.ErrNotExist) {
			return errs.Wrap(errs.FailedPrecondition, err, "looking for the replica device %s", path)
		}
		left := time.Until(deadline)
		if left <= 0 {
			return errs.Transient(err, "replica device %s of volume %s did not appear within %s: the volume is not attached "+
				"to the appliance VM this worker runs on, or its hot-plug was missed (a retry may find it)",
				path, volumeID, in.cfg.DeviceWait)
		}
		t := time.NewTimer(min(in.cfg.DevicePoll, left))
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return errs.Transient(ctx.Err(), "waiting for the replica device %s", path)
		}
	}
}

// run runs the command on res.Device.
func (in *Injector) run(ctx context.Context, r Request, res Result) (Result, error) {
	runCtx, cancel := context.WithTimeout(ctx, in.cfg.RunTimeout)
	defer cancel()
	args := append(append([]string(nil), in.argv[1:]...), "-i", "disk")
	if in.cfg.InputFormat != "" {
		args = append(args, "-if", in.cfg.InputFormat)
	}
	args = append(args, res.Device)
	cmd := exec.CommandContext(runCtx, in.argv[0], args...)
	env := append(cmd.Environ(), in.cfg.Env...)
	cmd.Env = append(env, "FAILOVER_VM_NAME="+r.VMName, "FAILOVER_VOLUME_ID="+r.VolumeID,
		"FAILOVER_FIRMWARE="+r.Firmware, "FAILOVER_JOB_ID="+r.JobID)
	out := &tailBuffer{max: OutputTail}
	cmd.Stdout, cmd.Stderr = out, out
	// Its own process group, so that cancelling reaches the qemu and
	// nbdkit processes libguestfs starts.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM) }
	cmd.WaitDelay = in.cfg.KillGrace

	done := calltime.Start(ctx)
	start := time.Now()
	err := cmd.Start()
	if err == nil {
		err = cmd.Wait()
		if runCtx.Err() != nil {
			// What is left of a cancelled run's group (a qemu that
			// outlived its parent, say) goes now.
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		}
	}
	res.Took = time.Since(start)
	done()
	res.Output = out.String()
	if err == nil {
		return res, nil
	}
	if runCtx.Err() != nil {
		what := "cancelled"
		if ctx.Err() == nil {
			what = fmt.Sprintf("stopped after its run timeout of %s", in.cfg.RunTimeout)
		} else if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			what = "stopped at the deadline"
		}
		return res, errs.Transient(errors.Join(runCtx.Err(), err), "VirtIO injection on %s %s after %s; output: %s",
			res.Device, what, res.Took.Round(time.Millisecond), res.Output)
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		e := errs.New(errs.FailedPrecondition, "VirtIO injection (%s) on %s exited %d: %s",
			in.argv[0], res.Device, ee.ExitCode(), res.Output)
		e.Err = err
		return res, e.WithDetails("exit_code", ee.ExitCode(), "device", res.Device, "volume_id", r.VolumeID)
	}
	return res, errs.Wrap(errs.FailedPrecondition, err, "running the VirtIO injection command %q", in.argv[0])
}

// checkNotMounted refuses device when it, the device its links resolve
// to, or a partition of that device is a mount source in mountsFile.
func checkNotMounted(mountsFile, device string) error {
	data, err := os.ReadFile(mountsFile)
	if err != nil {
		return errs.Wrap(errs.FailedPrecondition, err, "reading %s to check that %s is not mounted", mountsFile, device)
	}
	real, err := filepath.EvalSymlinks(device)
	if err != nil {
		real = device
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 2 {
			continue
		}
		src := unescapeMount(f[0])
		if !strings.HasPrefix(src, "/") {
			continue // proc, tmpfs, overlay, …
		}
		srcReal, err := filepath.EvalSymlinks(src)
		if err != nil {
			srcReal = src
		}
		if src == device || src == real || srcReal == real || isPartitionOf(srcReal, real) {
			return errs.New(errs.FailedPrecondition,
				"replica device %s (%s) is mounted: %s on %s; unmount it before injecting VirtIO drivers",
				device, real, src, unescapeMount(f[1])).WithDetails("device", device, "mountpoint", unescapeMount(f[1]))
		}
	}
	return nil
}

// isPartitionOf says whether part names a partition of disk by the
// kernel's naming: vdb → vdb1, nvme0n1 → nvme0n1p1, loop1 → loop1p1.
func isPartitionOf(part, disk string) bool {
	rest, ok := strings.CutPrefix(part, disk)
	if !ok || rest == "" || disk == "" {
		return false
	}
	if last := disk[len(disk)-1]; last >= '0' && last <= '9' {
		if rest, ok = strings.CutPrefix(rest, "p"); !ok {
			return false
		}
	}
	_, err := strconv.ParseUint(rest, 10, 32)
	return err == nil
}

// unescapeMount undoes the octal escapes (\040 for a space) of a
// /proc/mounts field.
func unescapeMount(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	max int
	buf []byte
	cut bool
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	n := len(p)
	if len(p) >= t.max {
		t.buf = append(t.buf[:0], p[len(p)-t.max:]...)
		t.cut = true
		return n, nil
	}
	if over := len(t.buf) + len(p) - t.max; over > 0 {
		t.buf = append(t.buf[:0], t.buf[over:]...)
		t.cut = true
	}
	t.buf = append(t.buf, p...)
	return n, nil
}

// String returns the tail, starting at a whole UTF-8 character when the
// start was cut.
func (t *tailBuffer) String() string {
	b := t.buf
	if t.cut {
		for n := 0; n < 3 && len(b) > 0 && b[0]&0xC0 == 0x80; n++ {
			b = b[1:] // a UTF-8 continuation byte
		}
	}
	return string(b)
}
