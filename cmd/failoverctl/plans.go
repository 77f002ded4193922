package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"go.yaml.in/yaml/v4"

	"github.com/ossea/unifiedfailover/api/apiv1"
	"github.com/ossea/unifiedfailover/client"
)

// plansCmd is `failoverctl plans`: recovery plans' definitions (list,
// show, create, update, delete), their validation, and their runs
// (planRunCmds: run, runs, retry, skip, continue, rollback, cancel,
// report).
func (a *app) plansCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "plans",
		Short: "List recovery plans; show, create, update, delete and validate them",
		Args:  nArgs(0, "no arguments (see failoverctl plans show PLAN)"),
		RunE: func(cmd *cobra.Command, args []string) error {
			ps, err := a.client().Plans(cmd.Context())
			if err != nil {
				return err
			}
			if a.json {
				return a.printJSON(ps)
			}
			tw := a.table()
			fmt.Fprintln(tw, "NAME\tID\tVERSION\tWAVES\tMEMBERS\tUPDATED\tBY")
			for _, p := range ps {
				n := 0
				for _, w := range p.Waves {
					n += len(w.Members)
				}
				fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%s\t%s\n", p.Name, p.ID, p.Version, len(p.Waves), n,
					p.UpdatedAt.Format(time.RFC3339), p.CreatedBy)
			}
			return tw.Flush()
		},
	}
	cmd.AddCommand(a.planShowCmd(), a.planCreateCmd(), a.planUpdateCmd(), a.planDeleteCmd(), a.planValidateCmd())
	cmd.AddCommand(a.planRunCmds()...)
	return cmd
}

func (a *app) planShowCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "show PLAN",
		Short: "Show a plan (by name or id): its waves, members, dependencies, readiness checks and hooks",
		Args:  nArgs(1, "one plan"),
		RunE: func(cmd *cobra.Command, args []string) error {
			p, err := a.client().Plan(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			if a.json {
				return a.printJSON(p)
			}
			printRecoveryPlan(a.out, p)
			return nil
		},
	}
}

// readPlanFile reads a plan from path ("-" is stdin), YAML or JSON, with
// the JSON members' names in both; an unknown member is an error.
func readPlanFile(path string) (apiv1.PlanSpec, error) {
	var spec apiv1.PlanSpec
	if path == "" {
		return spec, usageError{fmt.Errorf("-f FILE is required (a plan in YAML or JSON; - reads stdin)")}
	}
	var raw []byte
	var err error
	if path == "-" {
		raw, err = io.ReadAll(os.Stdin)
	} else {
		raw, err = os.ReadFile(path)
	}
	if err != nil {
		return spec, usageError{fmt.Errorf("reading the plan: %w", err)}
	}
	if err := decodePlan(raw, &spec); err != nil {
		return spec, usageError{fmt.Errorf("%s: %w", path, err)}
	}
	return spec, nil
}

// decodePlan decodes a plan in JSON, or in YAML converted to JSON, with
// the JSON tags and unknown members refused, so that both formats follow
// the API's schema.
func decodePlan(raw []byte, spec *apiv1.PlanSpec) error {
	js := raw
	if t := bytes.TrimSpace(raw); len(t) == 0 || t[0] != '{' {
		var doc any
		if err := yaml.Unmarshal(raw, &doc); err != nil {
			return fmt.Errorf("not YAML: %w", err)
		}
		if doc == nil {
			return fmt.Errorf("the file holds no plan")
		}
		doc, err := jsonable(doc, "")
		if err != nil {
			return err
		}
		if js, err = json.Marshal(doc); err != nil {
			return fmt.Errorf("converting YAML to JSON: %w", err)
		}
	}
	dec := json.NewDecoder(bytes.NewReader(js))
	dec.DisallowUnknownFields()
	if err := dec.Decode(spec); err != nil {
		return fmt.Errorf("not a plan: %w", err)
	}
	if dec.More() {
		return fmt.Errorf("not a plan: more than one JSON value")
	}
	return nil
}

// jsonable turns YAML's maps with non-string keys into JSON objects, or
// says where a key is not a string.
func jsonable(v any, at string) (any, error) {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			j, err := jsonable(e, at+"."+k)
			if err != nil {
				return nil, err
			}
			x[k] = j
		}
		return x, nil
	case map[any]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			ks, ok := k.(string)
			if !ok {
				return nil, fmt.Errorf("%s: key %v is not a string", strings.TrimPrefix(at, "."), k)
			}
			j, err := jsonable(e, at+"."+ks)
			if err != nil {
				return nil, err
			}
			out[ks] = j
		}
		return out, nil
	case []any:
		for i, e := range x {
			j, err := jsonable(e, fmt.Sprintf("%s[%d]", at, i))
			if err != nil {
				return nil, err
			}
			x[i] = j
		}
		return x, nil
	default:
		return v, nil
	}
}

func (a *app) planCreateCmd() *cobra.Command {
	var file string
	cmd := &cobra.Command{
		Use:   "create -f FILE",
		Short: "Create a recovery plan from a YAML or JSON file (operator)",
		Args:  nArgs(0, "no arguments (the plan is -f FILE)"),
		RunE: func(cmd *cobra.Command, args []string) error {
			spec, err := readPlanFile(file)
			if err != nil {
				return err
			}
			p, err := a.client().CreatePlan(cmd.Context(), spec)
			if err != nil {
				return planError(a.out, err)
			}
			if a.json {
				return a.printJSON(p)
			}
			fmt.Fprintf(a.out, "plan %s created: %s, version %d (failoverctl plans validate %s)\n", p.Name, p.ID, p.Version, p.Name)
			return nil
		},
	}
	cmd.Flags().StringVarP(&file, "file", "f", "", "the plan, YAML or JSON (- for stdin)")
	return cmd
}

func (a *app) planUpdateCmd() *cobra.Command {
	var file string
	var version int
	cmd := &cobra.Command{
		Use:   "update PLAN -f FILE",
		Short: "Replace a recovery plan with a YAML or JSON file (operator); refused if the plan changed meanwhile",
		Args:  nArgs(1, "one plan"),
		RunE: func(cmd *cobra.Command, args []string) error {
			spec, err := readPlanFile(file)
			if err != nil {
				return err
			}
			c := a.client()
			if version == 0 {
				cur, err := c.Plan(cmd.Context(), args[0])
				if err != nil {
					return err
				}
				version = cur.Version
			}
			p, err := c.UpdatePlan(cmd.Context(), args[0], version, spec)
			if err != nil {
				return planError(a.out, err)
			}
			if a.json {
				return a.printJSON(p)
			}
			fmt.Fprintf(a.out, "plan %s updated: version %d\n", p.Name, p.Version)
			return nil
		},
	}
	cmd.Flags().StringVarP(&file, "file", "f", "", "the plan, YAML or JSON (- for stdin)")
	cmd.Flags().IntVar(&version, "version", 0, "the version edited (default: the current one, read first)")
	return cmd
}

func (a *app) planDeleteCmd() *cobra.Command {
	var yes bool
	cmd := &cobra.Command{
		Use:   "delete PLAN --yes",
		Short: "Delete a recovery plan (admin)",
		Args:  nArgs(1, "one plan"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if !yes {
				return usageError{fmt.Errorf("deleting plan %s needs --yes", args[0])}
			}
			if err := a.client().DeletePlan(cmd.Context(), args[0]); err != nil {
				return err
			}
			if a.json {
				return a.printJSON(map[string]any{"deleted": args[0]})
			}
			fmt.Fprintf(a.out, "plan %s deleted\n", args[0])
			return nil
		},
	}
	cmd.Flags().BoolVar(&yes, "yes", false, "yes, delete it")
	return cmd
}

func (a *app) planValidateCmd() *cobra.Command {
	var typ string
	cmd := &cobra.Command{
		Use:   "validate PLAN [--type test|live]",
		Short: "Validate a plan against the state now, changing nothing (exit 4 when it has blockers)",
		Args:  nArgs(1, "one plan"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if typ != "" {
				if err := oneOf("type", typ, apiv1.ModeTest, apiv1.ModeLive); err != nil {
					return err
				}
			}
			v, err := a.client().ValidatePlan(cmd.Context(), args[0], typ)
			if err != nil {
				return err
			}
			if a.json {
				if err := a.printJSON(v); err != nil {
					return err
				}
			} else {
				what := "test and live runs"
				if typ != "" {
					what = "a " + typ + " run"
				}
				verdict := "VALID"
				if !v.Valid {
					verdict = "NOT VALID"
				}
				fmt.Fprintf(a.out, "plan %s for %s: %s (%d blocker(s), %d warning(s))\n", args[0], what, verdict, len(v.Blockers), len(v.Warnings))
				printIssues(a.out, "BLOCKER", v.Blockers)
				printIssues(a.out, "WARNING", v.Warnings)
			}
			if !v.Valid {
				return quiet{exitConflict}
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&typ, "type", "", "the run mode: test or live (default both)")
	return cmd
}

func printIssues(w io.Writer, kind string, is []apiv1.PlanIssue) {
	for _, i := range is {
		members := ""
		if len(i.Members) > 0 {
			members = " [" + strings.Join(i.Members, ", ") + "]"
		}
		fmt.Fprintf(w, "  %s %s%s: %s\n", kind, i.Field, members, i.Message)
	}
}

// planError prints the blockers of a refused plan (the API's 400 lists
// them in details) and returns err for its exit code.
func planError(w io.Writer, err error) error {
	var ae *client.APIError
	if !errors.As(err, &ae) || ae.Details["blockers"] == nil {
		return err
	}
	raw, jerr := json.Marshal(ae.Details["blockers"])
	var bl []apiv1.PlanIssue
	if jerr != nil || json.Unmarshal(raw, &bl) != nil || len(bl) == 0 {
		return err
	}
	fmt.Fprintf(w, "the plan is refused, %d blocker(s):\n", len(bl))
	printIssues(w, "BLOCKER", bl)
	return quiet{exitCode(err)}
}

func printRecoveryPlan(w io.Writer, p *apiv1.RecoveryPlan) {
	fmt.Fprintf(w, "%s (%s), version %d, by %s, updated %s\n", p.Name, p.ID, p.Version, p.CreatedBy, p.UpdatedAt.Format(time.RFC3339))
	if p.Description != "" {
		fmt.Fprintf(w, "  %s\n", p.Description)
	}
	maxPar := "10 (default)"
	if p.MaxParallelVMs > 0 {
		maxPar = fmt.Sprint(p.MaxParallelVMs)
	}
	rto := "none"
	if p.TargetRTOSeconds > 0 {
		rto = (time.Duration(p.TargetRTOSeconds) * time.Second).String()
	}
	commit := "none"
	if cp := p.CommitPolicy; cp != nil && cp.Action != apiv1.CommitNone {
		commit = cp.Action + " after " + cp.After
	}
	ttl := "until rolled back"
	if p.TestTTL != "" {
		ttl = p.TestTTL
	}
	fmt.Fprintf(w, "  max parallel VMs %s, target RTO %s, live commit policy %s, test TTL %s\n", maxPar, rto, commit, ttl)
	for i, wv := range p.Waves {
		name := wv.Name
		if name == "" {
			name = "-"
		}
		onFailure := wv.OnFailure
		if onFailure == "" {
			onFailure = apiv1.WaveHalt
		}
		fmt.Fprintf(w, "wave %d %s (on failure %s)\n", i+1, name, onFailure)
		printHooks(w, "    ", "pre-step", wv.PreSteps)
		for _, m := range wv.Members {
			id := m.ID
			if id == "" {
				id = m.VM
			}
			kind := "critical"
			if m.Optional {
				kind = "optional"
			}
			start := m.Start
			if start == "" {
				start = apiv1.StartPowerOn
			}
			fmt.Fprintf(w, "  - %s (vm %s) %s, %s, ready when %s\n", id, m.VM, kind, start, readinessText(m.Readiness))
			for _, d := range m.DependsOn {
				how := "hard"
				if d.Soft {
					how = "soft"
				}
				fmt.Fprintf(w, "      depends on %s (%s)\n", d.Member, how)
			}
			printHooks(w, "      ", "pre-power-on", m.PrePowerOn)
			printHooks(w, "      ", "post-ready", m.PostReady)
		}
		printHooks(w, "    ", "post-step", wv.PostSteps)
	}
}

func readinessText(r *apiv1.ReadinessCheck) string {
	if r == nil {
		return "running (default), timeout 10m"
	}
	what := r.Type
	switch r.Type {
	case apiv1.ReadyTCP:
		what = "tcp " + r.Address
	case apiv1.ReadyHTTP:
		status := r.ExpectStatus
		if status == 0 {
			status = 200
		}
		what = fmt.Sprintf("http %s answers %d", r.URL, status)
	case apiv1.ReadyScript:
		what = "script " + strings.Join(r.Command, " ") + " exits 0"
	}
	timeout := r.Timeout
	if timeout == "" {
		timeout = "10m"
	}
	what += ", timeout " + timeout
	if r.PostReadyDelay != "" {
		what += ", then " + r.PostReadyDelay
	}
	return what
}

func printHooks(w io.Writer, indent, kind string, hs []apiv1.Hook) {
	for _, h := range hs {
		what := h.URL
		if h.Type == apiv1.HookScript {
			what = strings.Join(h.Command, " ")
		}
		name := ""
		if h.Name != "" {
			name = " " + h.Name
		}
		crit := ""
		if h.Critical {
			crit = ", critical"
		}
		timeout := h.Timeout
		if timeout == "" {
			timeout = "5m"
		}
		modes := "all modes"
		if len(h.Modes) > 0 {
			modes = strings.Join(h.Modes, ", ")
		}
		fmt.Fprintf(w, "%s%s hook%s: %s %s (timeout %s%s; %s)\n", indent, kind, name, h.Type, what, timeout, crit, modes)
	}
}
