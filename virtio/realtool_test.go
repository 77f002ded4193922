package virtio

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ossea/unifiedfailover/errs"
	"github.com/ossea/unifiedfailover/testsvc"
)

// TestRealVirtV2VInPlace runs the real virt-v2v-in-place through the
// Injector on a blank 64 MiB raw disk placed where the replica's device
// would be. With no OS on it the tool ends at guest inspection with its own
// message, which proves the whole path: the argument shape (-i disk
// <device>), the environment (LIBGUESTFS_BACKEND=direct), the libguestfs
// appliance's boot and the inspection of the disk.
//
// Where libguestfs cannot boot its appliance with KVM (a nested /dev/kvm
// that qemu cannot use, as on the machine this was written on: qemu
// fails, or hangs while the machine is loaded), the test runs again with
// LIBGUESTFS_BACKEND_SETTINGS=force_tcg. Where it cannot
// boot it at all (no kernel for supermin, …) the test logs how far the
// tool got and passes only if that is past argument parsing, into
// libguestfs's launch.
func TestRealVirtV2VInPlace(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("runs the real virt-v2v-in-place (a minute or more)")
	}
	bin := testsvc.Tool(t, "make virtio-tools: Debian package virt-v2v", "virt-v2v-in-place")
	dir := t.TempDir()
	byID := filepath.Join(dir, "by-id")
	if err := os.Mkdir(byID, 0o755); err != nil {
		t.Fatal(err)
	}
	// run runs the tool once, within limit. With timeOK a run that hits
	// its limit is reported, not fatal: under KVM the appliance can hang
	// instead of failing, and the run under TCG follows.
	run := func(limit time.Duration, timeOK bool, extraEnv ...string) (Result, error) {
		ctx, cancel := context.WithTimeout(context.Background(), limit)
		defer cancel()
		in, err := New(Config{Command: bin, DeviceDir: byID, DeviceWait: time.Second,
			Env: append([]string{"LIBGUESTFS_BACKEND=direct"}, extraEnv...)})
		if err != nil {
			t.Fatal(err)
		}
		disk := in.DevicePath(testVolumeID)
		if err := os.WriteFile(disk, nil, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Truncate(disk, 64<<20); err != nil {
			t.Fatal(err)
		}
		res, err := in.Inject(ctx, Request{VolumeID: testVolumeID, VMName: "blank", Firmware: "bios", JobID: "test"})
		t.Logf("virt-v2v-in-place %v took %s (env %q); output:\n%s", extraEnv, res.Took.Round(time.Millisecond), in.Config().Env, res.Output)
		if err == nil {
			t.Fatalf("virt-v2v-in-place succeeded on a blank disk")
		}
		if ctx.Err() != nil {
			if timeOK {
				return res, ctx.Err()
			}
			t.Fatalf("virt-v2v-in-place did not end within %s: %v", limit, err)
		}
		var e *errs.Error
		if !errs.Is(err, errs.FailedPrecondition) || !errors.As(err, &e) || e.Details["exit_code"] != 1 {
			t.Fatalf("err = %v, want a failed_precondition with exit code 1", err)
		}
		if want := "Setting up the source: -i disk " + disk; !strings.Contains(res.Output, want) {
			t.Fatalf("output lacks %q: the tool did not take the device as a -i disk input", want)
		}
		return res, err
	}
	inspected := func(out string) bool {
		o := strings.ToLower(out)
		return strings.Contains(o, "inspection could not detect the source guest") || strings.Contains(o, "no root device found")
	}

	start := time.Now()
	res, err := run(time.Minute, true)
	hung := errors.Is(err, context.DeadlineExceeded)
	if !inspected(res.Output) && (hung || strings.Contains(res.Output, "guestfs_launch failed")) &&
		!strings.Contains(os.Getenv("LIBGUESTFS_BACKEND_SETTINGS"), "force_tcg") {
		t.Logf("the libguestfs appliance did not start (with KVM when /dev/kvm is there; hung: %v); trying again under TCG", hung)
		res, _ = run(8*time.Minute, false, "LIBGUESTFS_BACKEND_SETTINGS=force_tcg")
	}
	t.Logf("virt-v2v-in-place runs took %s in all", time.Since(start).Round(time.Millisecond))
	if inspected(res.Output) {
		return // the tool reached guest inspection and found no OS, as it should
	}
	// It did not get to inspection: pass only if it got past argument
	// parsing into libguestfs's launch, and say why it stopped there.
	if !strings.Contains(res.Output, "Opening the source") || !strings.Contains(res.Output, "libguestfs error") {
		t.Fatalf("virt-v2v-in-place stopped before libguestfs's launch (output above)")
	}
	why := "the libguestfs appliance did not start"
	switch {
	case strings.Contains(res.Output, "supermin exited with error"):
		why = "supermin could not build the appliance: usually no kernel readable in /boot (install linux-image-amd64; make virtio-tools does)"
	case strings.Contains(res.Output, "guestfs_launch failed"):
		why = "qemu could not boot the appliance under KVM or TCG (run libguestfs-test-tool to see why)"
	}
	t.Logf("virt-v2v-in-place got past argument parsing into libguestfs's launch, not to inspection: %s", why)
}
