// Command labsim runs the lab (package lab) as a process for the demo and
// for end-to-end tests of the product's processes: a simulated vCenter
// with N protected VMs, a simulated CloudStack with the appliance VM and
// one replica volume per source disk, and an nbdkit export per source disk
// and per replica.
//
//	labsim -vms 3 -env-file lab.env -manifest lab.json
//
// Once the lab runs it writes the env file (KEY=VALUE lines in the
// product's configuration names), then the manifest (JSON, see
// lab.Manifest), each atomically (a temporary file renamed into place),
// and prints one line starting with "labsim: ready". It runs until SIGTERM
// or SIGINT, then stops everything it started and exits 0.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/ossea/unifiedfailover/lab"
)

func main() {
	os.Exit(run(os.Args[1:]))
}

// run runs labsim with args and returns the exit status.
func run(args []string) int {
	fs := flag.NewFlagSet("labsim", flag.ContinueOnError)
	var cfg lab.Config
	fs.IntVar(&cfg.VMs, "vms", lab.DefaultVMs, "number of protected VMs to seed")
	fs.StringVar(&cfg.Dir, "dir", "", "data directory for disk files and sockets (default: a temporary directory removed at exit)")
	fs.Int64Var(&cfg.Seed, "seed", 1, "seed of the VM mix and the disk contents")
	fs.StringVar(&cfg.CloudStackAddr, "cloudstack-addr", lab.DefaultCloudStackAddr, "address the CloudStack simulator listens on")
	fs.Int64Var(&cfg.DiskSize, "disk-size", lab.DefaultDiskSize, "size of every simulated disk in bytes (sparse)")
	fs.DurationVar(&cfg.JobDuration, "job-duration", 0, "duration of CloudStack async jobs (default: the simulator's)")
	envFile := fs.String("env-file", "", "write the lab's settings here as KEY=VALUE lines")
	manifest := fs.String("manifest", "", "write the lab's manifest (JSON) here")
	startTimeout := fs.Duration("start-timeout", 5*time.Minute, "give up starting the lab after this long")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() != 0 {
		fmt.Fprintf(os.Stderr, "labsim: unexpected arguments %q\n", fs.Args())
		return 2
	}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()

	started := time.Now()
	startCtx, cancel := context.WithTimeout(ctx, *startTimeout)
	l, err := lab.Start(startCtx, cfg)
	cancel()
	if err != nil && ctx.Err() != nil {
		fmt.Fprintln(os.Stderr, "labsim: stopped while starting")
		return 0 // asked to stop, and everything started is stopped
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "labsim: %v\n", err)
		return 1
	}
	defer l.Close()

	if err := writeOutputs(l, *envFile, *manifest); err != nil {
		fmt.Fprintf(os.Stderr, "labsim: %v\n", err)
		return 1
	}
	fmt.Printf("labsim: ready in %s: %d VMs, vCenter %s, CloudStack %s, data in %s\n",
		time.Since(started).Round(time.Millisecond), len(l.VMs), l.VCenter.URL, l.CloudStackURL, l.Dir)

	<-ctx.Done()
	fmt.Println("labsim: stopping")
	return 0
}

// writeOutputs writes the env file and then the manifest, when asked.
func writeOutputs(l *lab.Lab, envFile, manifest string) error {
	if envFile != "" {
		env := strings.Join(l.Env(), "\n") + "\n"
		if err := writeAtomic(envFile, []byte(env), 0o600); err != nil {
			return fmt.Errorf("writing the env file: %w", err)
		}
	}
	if manifest != "" {
		b, err := json.MarshalIndent(l.Manifest(), "", "  ")
		if err != nil {
			return fmt.Errorf("encoding the manifest: %w", err)
		}
		if err := writeAtomic(manifest, append(b, '\n'), 0o644); err != nil {
			return fmt.Errorf("writing the manifest: %w", err)
		}
	}
	return nil
}

// writeAtomic writes data to a temporary file next to path and renames it
// into place, so that a reader polling for path sees either nothing or all
// of it.
func writeAtomic(path string, data []byte, perm os.FileMode) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	_, err = f.Write(data)
	if err == nil {
		err = f.Chmod(perm)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		_ = os.Remove(tmp)
		return err
	}
	return nil
}
