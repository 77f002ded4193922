package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"syscall"
	"time"

	"github.com/ossea/unifiedfailover/blocksync"
)

// job is one copy run by a child process.
type job struct {
	Config blocksync.Config
	Disks  []blocksync.Disk
}

// childResult is what a child prints.
type childResult struct {
	Result blocksync.Result
	// MaxRSS is the child's peak resident set in bytes, CPU its user and
	// system time (set by the parent).
	MaxRSS int64
	CPU    time.Duration
}

// runChild runs the copy described in path and prints the result as JSON.
func runChild(ctx context.Context, path string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	var j job
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	res, err := blocksync.Copy(ctx, j.Config, j.Disks, nil)
	if err != nil {
		return err
	}
	_, err = os.Stdout.Write(mustJSON(childResult{Result: res}))
	return err
}

// copyInChild runs j in a child process and returns its result and peak
// memory.
func copyInChild(ctx context.Context, dir string, j job) (childResult, error) {
	f, err := os.CreateTemp(dir, "job-*.json")
	if err != nil {
		return childResult{}, err
	}
	defer os.Remove(f.Name())
	if _, err := f.Write(mustJSON(j)); err != nil {
		f.Close()
		return childResult{}, err
	}
	if err := f.Close(); err != nil {
		return childResult{}, err
	}
	exe, err := os.Executable()
	if err != nil {
		return childResult{}, err
	}
	cmd := exec.CommandContext(ctx, exe, "-child", f.Name())
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		return childResult{}, fmt.Errorf("copy in child: %w", err)
	}
	var r childResult
	if err := json.Unmarshal(out, &r); err != nil {
		return childResult{}, fmt.Errorf("copy in child: result %q: %w", out, err)
	}
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		r.MaxRSS = ru.Maxrss << 10 // KiB on Linux
		r.CPU = cpu(ru)
	}
	return r, nil
}

// cpu is the user and system time of a rusage.
func cpu(ru *syscall.Rusage) time.Duration {
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// nbdcopy runs nbdcopy from src to dst and returns its wall-clock time
// and CPU time.
func nbdcopy(ctx context.Context, src, dst string, flush bool) (time.Duration, time.Duration, error) {
	args := []string{src, dst}
	if flush {
		args = append([]string{"--flush"}, args...)
	}
	cmd := exec.CommandContext(ctx, "nbdcopy", args...)
	cmd.Stderr = os.Stderr
	start := time.Now()
	if err := cmd.Run(); err != nil {
		return 0, 0, fmt.Errorf("nbdcopy: %w", err)
	}
	wall := time.Since(start)
	var c time.Duration
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		c = cpu(ru)
	}
	return wall, c, nil
}
