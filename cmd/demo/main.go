// Command demo runs the product end to end on this machine: it starts the
// lab (labsim: simulated vCenter and CloudStack, real NBD exports), the api
// and two workers as real processes against Postgres and Redis, registers
// the lab's VMs, runs a test failover of one VM and then its rollback,
// showing each step as it happens, prints a summary and stops everything it
// started.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ossea/unifiedfailover/auth"
	"github.com/ossea/unifiedfailover/client"
	"github.com/ossea/unifiedfailover/failover"
	"github.com/ossea/unifiedfailover/stack"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "demo failed:", err)
		os.Exit(1)
	}
}

func run() error {
	binDir := flag.String("bin", "", "directory of the product binaries (default: next to this one)")
	vms := flag.Int("vms", 3, "how many VMs the lab protects")
	flag.Parse()
	if *binDir == "" {
		exe, err := os.Executable()
		if err != nil {
			return err
		}
		*binDir = filepath.Dir(exe)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	defer cancel()

	work, err := os.MkdirTemp("", "failover-demo-")
	if err != nil {
		return err
	}
	fmt.Printf("== starting the lab: %d protected VMs (work dir %s)\n", *vms, work)
	labEnv, manifest, stopLab, err := startLab(ctx, *binDir, work, *vms)
	if err != nil {
		return err
	}
	defer stopLab()

	token, line, err := auth.NewToken("demo-admin", auth.Admin)
	if err != nil {
		return err
	}
	tokensFile := filepath.Join(work, "tokens")
	if err := os.WriteFile(tokensFile, []byte(line+"\n"), 0o600); err != nil {
		return err
	}
	fmt.Printf("== made an admin token for this demo (stored hashed in %s)\n", tokensFile)
	schema := fmt.Sprintf("demo_%d", time.Now().Unix())
	defer dropSchema(schema)
	env := append(labEnv, "FAILOVER_API_TOKENS_FILE="+tokensFile, "FAILOVER_DATABASE_URL=postgres://postgres@127.0.0.1:5432/failover_demo?sslmode=disable&search_path="+schema,
		"FAILOVER_REDIS_DB=9", "FAILOVER_VIRTIO_COMMAND="+virtioStandIn(work))
	fmt.Println("== starting the api and 2 workers")
	st, err := stack.Start(ctx, stack.Options{BinDir: *binDir, Workers: 2, LogDir: work, Env: env})
	if err != nil {
		return err
	}
	defer func() {
		fmt.Println("== stopping everything the demo started")
		st.Stop()
	}()
	api := client.New(st.APIURL, token)

	fmt.Println("== registering the lab's VMs")
	var contexts []string
	for _, vm := range manifest.VMs {
		c, err := api.Register(ctx, vm.Register)
		if err != nil {
			return fmt.Errorf("registering %s: %w", vm.Name, err)
		}
		fmt.Printf("   %-10s %-8s %-5s %d disk(s) → %s (%s)\n", vm.Name, vm.OS, vm.Firmware, len(c.Disks), c.ContextID, c.CurrentStatus)
		contexts = append(contexts, c.ContextID)
	}

	fmt.Printf("== test failover of %s\n", manifest.VMs[0].Name)
	fo, err := api.Failover(ctx, failover.FailoverRequest{ContextID: contexts[0], FailoverType: failover.Test})
	if err != nil {
		return err
	}
	foJob, err := watch(ctx, api, fo.JobID)
	if err != nil {
		return err
	}
	fst, err := api.Status(ctx, fo.JobID)
	if err != nil {
		return err
	}
	dest := "none"
	if fst.Failover != nil && fst.Failover.DestinationVMID != "" {
		var cfg failover.Config
		_ = json.Unmarshal(fst.Failover.Config, &cfg)
		dest = fmt.Sprintf("%s (CloudStack VM %s)", cfg.DestinationVMName, fst.Failover.DestinationVMID)
	}
	fmt.Printf("== destination VM: %s\n", dest)
	fmt.Printf("== rollback of %s\n", manifest.VMs[0].Name)
	rb, err := api.Rollback(ctx, failover.RollbackRequest{ContextID: contexts[0]})
	if err != nil {
		return err
	}
	rbJob, err := watch(ctx, api, rb.JobID)
	if err != nil {
		return err
	}
	summary(foJob)
	fmt.Printf("   destination VM: %s\n", dest)
	summary(rbJob)
	c, err := api.Context(ctx, contexts[0])
	if err != nil {
		return err
	}
	fmt.Printf("== %s is %s again\n", c.VMName, c.CurrentStatus)
	if foJob.Status != "completed" || rbJob.Status != "completed" {
		return fmt.Errorf("failover %s, rollback %s", foJob.Status, rbJob.Status)
	}
	return nil
}

// manifest is the part of labsim's manifest the demo reads.
type manifest struct {
	VMs []struct {
		Name     string          `json:"name"`
		OS       string          `json:"os"`
		Firmware string          `json:"firmware"`
		Register json.RawMessage `json:"register"`
	} `json:"vms"`
}

// startLab runs labsim and waits for its env file and manifest.
func startLab(ctx context.Context, binDir, work string, vms int) ([]string, *manifest, func(), error) {
	envFile, manFile := filepath.Join(work, "lab.env"), filepath.Join(work, "manifest.json")
	logf, err := os.Create(filepath.Join(work, "labsim.log"))
	if err != nil {
		return nil, nil, nil, err
	}
	cmd := exec.Command(filepath.Join(binDir, "labsim"), "-vms", fmt.Sprint(vms), "-dir", filepath.Join(work, "lab"),
		"-env-file", envFile, "-manifest", manFile)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
	if err := cmd.Start(); err != nil {
		return nil, nil, nil, fmt.Errorf("starting labsim: %w", err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	stop := func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			_ = cmd.Process.Kill()
		}
		logf.Close()
	}
	for {
		if raw, err := os.ReadFile(manFile); err == nil {
			var m manifest
			if err := json.Unmarshal(raw, &m); err != nil {
				stop()
				return nil, nil, nil, fmt.Errorf("reading the lab's manifest: %w", err)
			}
			env, err := readEnv(envFile)
			if err != nil {
				stop()
				return nil, nil, nil, err
			}
			return env, &m, stop, nil
		}
		select {
		case err := <-done:
			return nil, nil, nil, fmt.Errorf("labsim exited before it was ready (%v); see %s", err, logf.Name())
		case <-ctx.Done():
			stop()
			return nil, nil, nil, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func readEnv(path string) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("reading the lab's env file: %w", err)
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if line := strings.TrimSpace(sc.Text()); line != "" && !strings.HasPrefix(line, "#") {
			out = append(out, line)
		}
	}
	return out, sc.Err()
}

// virtioStandIn writes the stand-in for virt-v2v-in-place: it records its
// arguments (the demo has no real Windows disk to convert).
func virtioStandIn(work string) string {
	path := filepath.Join(work, "virt-v2v-in-place")
	_ = os.WriteFile(path, []byte("#!/bin/sh\necho \"virt-v2v-in-place stand-in: $*\" >> \""+filepath.Join(work, "virtio.log")+"\"\n"), 0o755)
	return path
}

// watch follows a job, printing each step as its status changes.
func watch(ctx context.Context, api *client.Client, jobID string) (*client.Job, error) {
	shown := map[string]string{}
	return api.WaitJob(ctx, jobID, 50*time.Millisecond, func(j *client.Job) {
		for _, s := range j.Steps {
			if shown[s.Name] == string(s.Status) {
				continue
			}
			shown[s.Name] = string(s.Status)
			note := s.SkipReason
			if s.Error != "" {
				note = s.Error
			}
			fmt.Printf("   [%3.0f%%] %-24s %-10s %s\n", j.ProgressPercent, s.Name, s.Status, note)
		}
	})
}

func summary(j *client.Job) {
	fmt.Printf("== %s job %s: %s\n", j.Type, j.ExternalID, j.Status)
	var total time.Duration
	for _, s := range j.Steps {
		d := "-"
		if s.StartedAt != nil && s.EndedAt != nil {
			total += s.EndedAt.Sub(*s.StartedAt)
			d = s.EndedAt.Sub(*s.StartedAt).Round(time.Millisecond).String()
		}
		fmt.Printf("   %-24s %-10s %8s attempts=%d\n", s.Name, s.Status, d, s.Attempts)
	}
	if j.StartedAt != nil && j.EndedAt != nil {
		fmt.Printf("   wall time %s (steps %s)\n", j.EndedAt.Sub(*j.StartedAt).Round(time.Millisecond), total.Round(time.Millisecond))
	}
}

func dropSchema(schema string) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, "postgres://postgres@127.0.0.1:5432/failover_demo?sslmode=disable")
	if err != nil {
		return
	}
	defer conn.Close(ctx)
	_, _ = conn.Exec(ctx, "DROP SCHEMA IF EXISTS "+pgx.Identifier{schema}.Sanitize()+" CASCADE")
}
