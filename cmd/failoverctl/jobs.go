package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/spf13/cobra"

	"github.com/ossea/unifiedfailover/api/apiv1"
	"github.com/ossea/unifiedfailover/client"
)

// watchJob follows a job with a progress display until it ends. A job
// that does not complete is a jobFailed error.
func (a *app) watchJob(ctx context.Context, id string) error {
	c := a.client()
	p := newProgress(a.out)
	onChange := p.update
	if a.json {
		// One JSON document per line, for jq: the job each time it changes.
		enc := json.NewEncoder(a.out)
		onChange = func(j *client.Job) { _ = enc.Encode(j) }
	}
	j, err := c.WaitJob(ctx, id, a.every, onChange)
	if err != nil && ctx.Err() != nil {
		// Ctrl-C stops the watch, not the job. With --json the note goes
		// to stderr, so that every line of stdout stays JSON.
		w := a.out
		if a.json {
			w = os.Stderr
		}
		fmt.Fprintf(w, "\nstopped watching: job %s keeps running; watch it again with: failoverctl watch %s\n", id, id)
		return quiet{code: exitInterrupted}
	}
	if err != nil {
		return err
	}
	if a.json {
		_ = json.NewEncoder(a.out).Encode(j)
	} else {
		p.update(j)
		p.finish(j)
		if j.Type == "failover" && j.Status == apiv1.JobCompleted {
			a.summary(ctx, c, j)
		}
	}
	if j.Status != "completed" {
		msg := fmt.Sprintf("job %s %s", j.ExternalID, j.Status)
		if j.Error != "" {
			msg += ": " + j.Error
		}
		return jobFailed{msg}
	}
	return nil
}

// summary prints what a completed failover made: the destination VM and
// its networks, the source's downtime (live), and the commands to run next.
// It is best effort: the job's own outcome is already printed.
func (a *app) summary(ctx context.Context, c *client.Client, j *client.Job) {
	st, err := c.Status(ctx, j.ID)
	if err != nil || st.Failover == nil {
		return
	}
	var cfg apiv1.FailoverConfig
	_ = json.Unmarshal(st.Failover.Config, &cfg)
	fmt.Fprintf(a.out, "destination VM: %s (%s), host name %s\n", cfg.DestinationVMName, st.Failover.DestinationVMID,
		cfg.DestinationHostName)
	for _, n := range cfg.NICs {
		fmt.Fprintf(a.out, "  network %s -> %s (%s)\n", n.SourceNetworkName, n.DestinationNetworkName, n.DestinationNetworkID)
	}
	if off, up := j.Step("source-power-off"), j.Step("vm-startup"); off != nil && off.Status == apiv1.StepCompleted &&
		off.StartedAt != nil && up != nil && up.EndedAt != nil {
		fmt.Fprintf(a.out, "source downtime: %s (from the source's power-off to the destination's start)\n",
			up.EndedAt.Sub(*off.StartedAt).Round(time.Second))
	}
	if j.FailoverType == "live" {
		fmt.Fprintf(a.out, "next: failoverctl commit %s --confirm %s   (seal it)   or   failoverctl rollback %s --confirm %s   (undo it)\n",
			cfg.VMName, cfg.VMName, cfg.VMName, cfg.VMName)
		return
	}
	fmt.Fprintf(a.out, "next: failoverctl rollback %s   (end the test)\n", cfg.VMName)
}

// started prints a started job (or a dry run's plan) and watches it.
func (a *app) started(ctx context.Context, what string, st *client.StartedJob, watch bool) error {
	if a.json {
		if !watch {
			return a.printJSON(st)
		}
		// --watch --json: every line is one JSON document.
		if err := json.NewEncoder(a.out).Encode(st); err != nil {
			return err
		}
		return a.watchJob(ctx, st.JobID)
	}
	fmt.Fprintf(a.out, "%s started: job %s (%s)\n", what, st.ExternalJobID, st.JobID)
	if !watch {
		fmt.Fprintf(a.out, "follow it with: failoverctl watch %s\n", st.JobID)
		return nil
	}
	return a.watchJob(ctx, st.JobID)
}

// approvalNeeded prints the plan of a 428 answer and returns err.
func (a *app) approvalNeeded(err error) error {
	var ae *client.APIError
	if !errors.As(err, &ae) || ae.Status != 428 {
		return err
	}
	if p := client.PlanOf(err); p != nil {
		printPlan(a, p)
	}
	fmt.Fprintf(a.out, "approval needed: %s\nrun again with --confirm <the VM's name> to approve\n", ae.Message)
	return quiet{exitApproval}
}

func printPlan(a *app, p *apiv1.Plan) {
	if a.json {
		_ = a.printJSON(p)
		return
	}
	fmt.Fprintf(a.out, "plan: %s of %s (%s)\n", p.Operation, p.VMName, p.ContextID)
	if c := p.Config; c != nil && p.Operation != "rollback" {
		fmt.Fprintf(a.out, "  destination %s, %s networks, power off source %v, final sync %v\n", c.DestinationVMName,
			c.NetworkStrategy, c.PowerOffSource, c.PerformFinalSync)
	}
	for i, s := range p.Steps {
		if s.SkipReason != "" {
			fmt.Fprintf(a.out, "  %d. %s (skipped: %s)\n", i+1, s.Name, s.SkipReason)
		} else {
			fmt.Fprintf(a.out, "  %d. %s\n", i+1, s.Name)
		}
	}
	if p.Preflight != nil {
		printReport(a.out, p.Preflight)
	}
}

func (a *app) failoverCmd() *cobra.Command {
	var typ, strategy, timeout, confirm string
	var watch, dryRun, skipValidation, skipVirtio, acceptRPO bool
	var powerOff, finalSync, keepMACs bool
	cmd := &cobra.Command{
		Use:   "failover --type test|live VM [--watch] [--confirm VM]",
		Short: "Start a test or live failover (live: admin role and --confirm with the VM's name)",
		Args:  nArgs(1, "one VM"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := oneOf("type", typ, "test", "live"); err != nil {
				return err
			}
			req := apiv1.FailoverRequest{FailoverType: apiv1.FailoverType(typ), DryRun: dryRun}
			req.VMName = args[0]
			req.SkipValidation, req.SkipVirtio, req.NetworkStrategy, req.ShutdownTimeout = skipValidation, skipVirtio, strategy, timeout
			req.AcceptRPO = acceptRPO
			f := cmd.Flags()
			if f.Changed("power-off-source") {
				req.PowerOffSource = &powerOff
			}
			if f.Changed("final-sync") {
				req.PerformFinalSync = &finalSync
			}
			if f.Changed("keep-macs") {
				req.KeepMACs = &keepMACs
			}
			c := a.client()
			ctxd, err := c.Context(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			req.VMName, req.ContextID, req.Confirm = "", ctxd.ContextID, confirm
			st, err := c.Failover(cmd.Context(), req)
			if err != nil {
				return a.approvalNeeded(err)
			}
			if dryRun {
				printPlan(a, st.Plan)
				return nil
			}
			return a.started(cmd.Context(), typ+" failover of "+ctxd.VMName, st, watch)
		},
	}
	f := cmd.Flags()
	f.StringVar(&typ, "type", "", "test or live (required)")
	f.BoolVar(&watch, "watch", false, "follow the job with a progress bar until it ends")
	f.StringVar(&confirm, "confirm", "", "approve a failover that changes production, such as a live one: type the VM's name")
	f.BoolVar(&dryRun, "dry-run", false, "print the plan and run nothing")
	f.BoolVar(&skipValidation, "skip-validation", false, "skip the pre-flight checks (audited)")
	f.BoolVar(&skipVirtio, "skip-virtio", false, "do not inject VirtIO drivers into Windows guests")
	f.BoolVar(&acceptRPO, "accept-rpo", false, "let a live failover run although the VM's RPO exceeds its target or is unknown, accepting the loss of the writes since (audited)")
	f.BoolVar(&powerOff, "power-off-source", false, "power the source VM off first (default: live yes, test no)")
	f.BoolVar(&finalSync, "final-sync", false, "run a final incremental sync after power-off (default: live yes)")
	f.BoolVar(&keepMACs, "keep-macs", true, "keep the source NICs' MAC addresses")
	f.StringVar(&strategy, "network-strategy", "", "production, isolated (default by type)")
	f.StringVar(&timeout, "shutdown-timeout", "", "graceful shutdown timeout before a hard power-off (e.g. 5m)")
	return cmd
}

func (a *app) rollbackCmd() *cobra.Command {
	var watch, dryRun, force, powerOn bool
	var reason, confirm string
	cmd := &cobra.Command{
		Use:   "rollback VM [--confirm VM] [--power-on-source] [--force-cleanup] [--reason TEXT]",
		Short: "Roll back a VM's latest failover and follow it (of a live failover, or with --force-cleanup: admin role and --confirm with the VM's name)",
		Args:  nArgs(1, "one VM"),
		RunE: func(cmd *cobra.Command, args []string) error {
			c := a.client()
			ctxd, err := c.Context(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			req := apiv1.RollbackRequest{ContextID: ctxd.ContextID, ForceCleanup: force, Reason: reason, DryRun: dryRun,
				Confirm: confirm}
			if cmd.Flags().Changed("power-on-source") {
				req.PowerOnSource = &powerOn
			}
			st, err := c.Rollback(cmd.Context(), req)
			if err != nil {
				return a.approvalNeeded(err)
			}
			if dryRun {
				printPlan(a, st.Plan)
				return nil
			}
			return a.started(cmd.Context(), "rollback of "+ctxd.VMName, st, watch)
		},
	}
	f := cmd.Flags()
	f.BoolVar(&watch, "watch", true, "follow the job until it ends (--watch=false returns at once)")
	f.StringVar(&confirm, "confirm", "", "approve a rollback that changes production (of a live failover) or forces a cleanup: type the VM's name")
	f.BoolVar(&dryRun, "dry-run", false, "print the plan and run nothing")
	f.BoolVar(&force, "force-cleanup", false, "carry on past resources that are already gone (admin role and --confirm)")
	f.BoolVar(&powerOn, "power-on-source", false, "power the source VM on at the end (default: live yes, test no)")
	f.StringVar(&reason, "reason", "", "why (kept in the audit)")
	return cmd
}

func (a *app) commitCmd() *cobra.Command {
	var watch bool
	var confirm string
	cmd := &cobra.Command{
		Use:   "commit VM|JOB --confirm VM",
		Short: "Commit a VM's completed live failover (admin role and --confirm with the VM's name): its rollback snapshots are deleted",
		Args:  nArgs(1, "one VM, or a failover job id"),
		RunE: func(cmd *cobra.Command, args []string) error {
			c := a.client()
			jobID, err := a.liveFailoverOf(cmd.Context(), c, args[0])
			if err != nil {
				return err
			}
			st, err := c.Commit(cmd.Context(), jobID, confirm)
			if err != nil {
				return a.approvalNeeded(err)
			}
			return a.started(cmd.Context(), "commit", st, watch)
		},
	}
	cmd.Flags().BoolVar(&watch, "watch", true, "follow the job until it ends")
	cmd.Flags().StringVar(&confirm, "confirm", "", "approve the commit, which destroys the rollback points: type the VM's name")
	return cmd
}

// liveFailoverOf is the failover job a commit names: arg as a job id, or
// the latest live failover of the VM arg names.
func (a *app) liveFailoverOf(ctx context.Context, c *client.Client, arg string) (string, error) {
	j, err := c.Job(ctx, arg)
	if err == nil {
		return j.ID, nil
	}
	var ae *client.APIError
	if !errors.As(err, &ae) || ae.Status != http.StatusNotFound {
		return "", err
	}
	jobs, err := c.Jobs(ctx, client.JobFilter{VM: arg, Type: "live", JobType: "failover", Limit: 1})
	if err != nil {
		return "", err
	}
	if len(jobs) == 0 {
		return "", usageError{fmt.Errorf("%s is neither a job nor a VM with a live failover", arg)}
	}
	return jobs[0].ID, nil
}

func (a *app) retryCmd() *cobra.Command {
	var watch bool
	cmd := &cobra.Command{
		Use:   "retry JOB",
		Short: "Resume a failed job at its failed step",
		Args:  nArgs(1, "one job id"),
		RunE: func(cmd *cobra.Command, args []string) error {
			st, err := a.client().Retry(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			return a.started(cmd.Context(), "retry", st, watch)
		},
	}
	cmd.Flags().BoolVar(&watch, "watch", true, "follow the job until it ends")
	return cmd
}

func (a *app) watchCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "watch JOB",
		Short: "Follow a job (UUID or external id) with a progress bar; exit 0 when it completes, 1 when it fails",
		Args:  nArgs(1, "one job id"),
		RunE:  func(cmd *cobra.Command, args []string) error { return a.watchJob(cmd.Context(), args[0]) },
	}
}

func (a *app) jobsCmd() *cobra.Command {
	var f client.JobFilter
	cmd := &cobra.Command{
		Use:   "jobs [--vm VM] [--status S] [--type test|live] [--job-type T] [--limit N]",
		Short: "List jobs, newest first",
		Args:  nArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, args []string) error {
			c := a.client()
			jobs, err := c.Jobs(cmd.Context(), f)
			if err != nil {
				return err
			}
			if a.json {
				return a.printJSON(jobs)
			}
			names := a.vmNames(cmd.Context(), c)
			tw := a.table()
			fmt.Fprintln(tw, "JOB\tEXTERNAL ID\tVM\tTYPE\tFAILOVER\tSTATUS\tSTEP\tPROGRESS\tCREATED\tACTOR")
			for _, j := range jobs {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%.0f%%\t%s\t%s\n", j.ID, j.ExternalID, names.of(j.ContextID), j.Type,
					j.FailoverType, j.Status, j.CurrentStep, j.ProgressPercent, j.CreatedAt.Local().Format(time.DateTime), j.Actor)
			}
			return tw.Flush()
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.VM, "vm", "", "a VM name or context id")
	fl.StringVar(&f.Status, "status", "", "pending, running, completed, failed or cancelled")
	fl.StringVar(&f.Type, "type", "", "failover type: test or live")
	fl.StringVar(&f.JobType, "job-type", "", "failover, rollback, commit, …")
	fl.IntVar(&f.Limit, "limit", 50, "at most this many")
	fl.IntVar(&f.Offset, "offset", 0, "skip this many")
	return cmd
}

func (a *app) auditCmd() *cobra.Command {
	var f client.AuditFilter
	cmd := &cobra.Command{
		Use:   "audit [--vm VM] [--job JOB] [--actor A] [--decision D] [--limit N]",
		Short: "List operator decisions (options, approvals, rollbacks, mappings, …), newest first",
		Args:  nArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, args []string) error {
			c := a.client()
			ds, err := c.Audit(cmd.Context(), f)
			if err != nil {
				return err
			}
			if a.json {
				return a.printJSON(ds)
			}
			names := a.vmNames(cmd.Context(), c)
			tw := a.table()
			fmt.Fprintln(tw, "TIME\tACTOR\tDECISION\tVM\tCONTEXT\tJOB\tCHOICE")
			for _, d := range ds {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", d.CreatedAt.Local().Format(time.DateTime), d.Actor, d.Decision,
					names.of(d.ContextID), d.ContextID, d.ExternalJobID, keyValues(d.Choice, 160))
			}
			return tw.Flush()
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.VM, "vm", "", "a VM name or context id")
	fl.StringVar(&f.JobID, "job", "", "a job id")
	fl.StringVar(&f.Actor, "actor", "", "who decided")
	fl.StringVar(&f.Decision, "decision", "", "kind of decision")
	fl.IntVar(&f.Limit, "limit", 100, "at most this many")
	return cmd
}

func (a *app) workersCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "workers",
		Short: "List the live workers and what each can run (pre-flight's worker-capabilities check reads the same)",
		Args:  nArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, args []string) error {
			ws, err := a.client().Workers(cmd.Context())
			if err != nil {
				return err
			}
			if a.json {
				return a.printJSON(ws)
			}
			tw := a.table()
			fmt.Fprintln(tw, "WORKER	HOST	STARTED	HEARTBEAT	VIRTIO")
			for _, w := range ws {
				v, ok := w.Capabilities["virtio"]
				virtio := "not reported"
				switch {
				case ok && v.Available:
					virtio = "yes: " + v.Path
				case ok:
					virtio = "no: " + v.Problem
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s ago\t%s\n", w.ID, w.Hostname, w.StartedAt.Local().Format(time.DateTime),
					time.Since(w.HeartbeatAt).Round(time.Second), virtio)
			}
			return tw.Flush()
		},
	}
}

func (a *app) networksCmd() *cobra.Command {
	var test bool
	cmd := &cobra.Command{
		Use:   "networks [--test]",
		Short: "List CloudStack networks (proposed test networks marked)",
		Args:  nArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, args []string) error {
			ns, err := a.client().Networks(cmd.Context(), test)
			if err != nil {
				return err
			}
			if a.json {
				return a.printJSON(ns)
			}
			tw := a.table()
			fmt.Fprintln(tw, "ID\tNAME\tTYPE\tCIDR\tPROPOSED FOR TEST")
			for _, n := range ns {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%v\n", n.ID, n.Name, n.Type, n.CIDR, n.ProposedTest)
			}
			return tw.Flush()
		},
	}
	cmd.Flags().BoolVar(&test, "test", false, "only the proposed test networks")
	return cmd
}

// vmNames maps context ids to VM names, for tables that list context
// ids; best effort (an empty map when the contexts cannot be read).
type vmNames map[string]string

func (a *app) vmNames(ctx context.Context, c *client.Client) vmNames {
	names := vmNames{}
	cs, err := c.Contexts(ctx)
	if err != nil {
		return names
	}
	for _, x := range cs {
		names[x.ContextID] = x.VMName
	}
	return names
}

// of is the VM name of a context id, "-" when there is none.
func (n vmNames) of(contextID string) string {
	if name := n[contextID]; name != "" {
		return name
	}
	return "-"
}

// keyValues prints a decision's choice as sorted key=value pairs, nested
// objects as dotted keys, cut at max bytes.
func keyValues(m map[string]any, max int) string {
	var parts []string
	var walk func(prefix string, v any)
	walk = func(prefix string, v any) {
		switch x := v.(type) {
		case map[string]any:
			keys := make([]string, 0, len(x))
			for k := range x {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for _, k := range keys {
				key := k
				if prefix != "" {
					key = prefix + "." + k
				}
				walk(key, x[k])
			}
		case string:
			parts = append(parts, prefix+"="+x)
		default:
			b, _ := json.Marshal(x)
			parts = append(parts, prefix+"="+string(b))
		}
	}
	walk("", m)
	s := strings.Join(parts, " ")
	if len(s) > max {
		cut := max - 3
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut] + "..."
	}
	return s
}

func (a *app) cancelCmd() *cobra.Command {
	var reason string
	cmd := &cobra.Command{
		Use:   "cancel JOB [--reason TEXT]",
		Short: "Stop a running failover now (the VM then needs a rollback); a rollback or commit cannot be cancelled",
		Args:  nArgs(1, "one failover job id"),
		RunE: func(cmd *cobra.Command, args []string) error {
			j, err := a.client().Cancel(cmd.Context(), args[0], reason)
			if err != nil {
				return err
			}
			if a.json {
				return a.printJSON(j)
			}
			fmt.Fprintf(a.out, "job %s (%s) %s at %s; roll the VM back with: failoverctl rollback %s\n",
				j.ExternalID, j.ID, j.Status, j.CurrentStep, j.ContextID)
			return nil
		},
	}
	cmd.Flags().StringVar(&reason, "reason", "", "why (kept in the audit)")
	return cmd
}
